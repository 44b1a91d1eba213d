"""Model registry responses: the registry's rows with their tags and aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Self

from runstream.core.rows import ModelRow, VersionRow
from runstream.query.http.schemas.wire import Wire, WireShape, columns, wire_shape
from runstream.query.records import (
    ModelVersion,
    Page,
    RegisteredModel,
    ResolvedModel,
    StageTransition,
)

_DELETED = ("deleted",)  # deleted rows are never served, so the flag is not shown


@dataclass(slots=True)
class ModelVersionOut(VersionRow, WireShape):
    """A model version: its row, its tags and the aliases pointing at it."""

    wire_hidden = _DELETED
    tags: dict[str, str]
    aliases: list[str]

    @classmethod
    def of(cls, v: ModelVersion) -> ModelVersionOut:
        """The response shape of ``v``."""
        return ModelVersionOut(**columns(v.row), tags=v.tags, aliases=v.aliases)


@dataclass(slots=True)
class ModelVersionResponse(ModelVersionOut):
    """One model version and the lake snapshot it was read from."""

    snapshot_id: int

    @classmethod
    def read(cls, v: ModelVersion, snapshot_id: int) -> Self:
        """The response of ``v`` read at ``snapshot_id``."""
        return cls(**columns(v.row), tags=v.tags, aliases=v.aliases, snapshot_id=snapshot_id)


@dataclass(slots=True)
class RegisteredModelOut(ModelRow, WireShape):
    """A registered model with its aliases and the latest version of each stage."""

    wire_hidden = _DELETED
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_versions: list[ModelVersionOut]

    @classmethod
    def of(cls, m: RegisteredModel) -> RegisteredModelOut:
        """The response shape of ``m``."""
        latest = [ModelVersionOut.of(v) for v in m.latest_versions]
        return RegisteredModelOut(
            **columns(m.row), tags=m.tags, aliases=m.aliases, latest_versions=latest
        )


@dataclass(slots=True)
class RegisteredModelResponse(RegisteredModelOut):
    """One registered model and the lake snapshot it was read from."""

    snapshot_id: int

    @classmethod
    def read(cls, m: RegisteredModel, snapshot_id: int) -> Self:
        """The response of ``m`` read at ``snapshot_id``."""
        latest = [ModelVersionOut.of(v) for v in m.latest_versions]
        return cls(
            **columns(m.row),
            tags=m.tags,
            aliases=m.aliases,
            latest_versions=latest,
            snapshot_id=snapshot_id,
        )


@dataclass(slots=True)
class RegisteredModelsPage(WireShape):
    """A page of registered models."""

    registered_models: list[RegisteredModelOut]
    next_page_token: str | None
    snapshot_id: int

    @classmethod
    def read(cls, page: Page[RegisteredModel], snapshot_id: int) -> Self:
        """The response of ``page`` read at ``snapshot_id``."""
        models = [RegisteredModelOut.of(m) for m in page.items]
        return cls(models, page.next_page_token, snapshot_id)


@dataclass(slots=True)
class ModelVersionsPage(WireShape):
    """A page of model versions."""

    model_versions: list[ModelVersionOut]
    next_page_token: str | None
    snapshot_id: int

    @classmethod
    def read(cls, page: Page[ModelVersion], snapshot_id: int) -> Self:
        """The response of ``page`` read at ``snapshot_id``."""
        versions = [ModelVersionOut.of(v) for v in page.items]
        return cls(versions, page.next_page_token, snapshot_id)


StageTransitionOut = Annotated[StageTransition, wire_shape(hidden=("name", "version"))]
"""One stage change (its model and version are the history's)."""


@dataclass(slots=True)
class StageHistoryResponse(WireShape):
    """The stage history of one version, oldest first."""

    name: str
    version: int
    transitions: list[StageTransitionOut]
    snapshot_id: int


@dataclass(frozen=True)
class ResolvedModelResponse(ResolvedModel, WireShape):
    """What a ``models:/`` URI points at."""

    snapshot_id: int

    @classmethod
    def read(cls, r: ResolvedModel, snapshot_id: int) -> Self:
        """The response of ``r`` read at ``snapshot_id``."""
        return cls(**columns(r), snapshot_id=snapshot_id)


MODEL = Wire(RegisteredModelResponse)
MODELS_PAGE = Wire(RegisteredModelsPage)
VERSION = Wire(ModelVersionResponse)
VERSIONS_PAGE = Wire(ModelVersionsPage)
STAGE_HISTORY = Wire(StageHistoryResponse)
RESOLVED = Wire(ResolvedModelResponse)

__all__ = [
    "MODEL",
    "MODELS_PAGE",
    "RESOLVED",
    "STAGE_HISTORY",
    "VERSION",
    "VERSIONS_PAGE",
    "ModelVersionOut",
    "ModelVersionResponse",
    "ModelVersionsPage",
    "RegisteredModelOut",
    "RegisteredModelResponse",
    "RegisteredModelsPage",
    "ResolvedModelResponse",
    "StageHistoryResponse",
    "StageTransitionOut",
]
