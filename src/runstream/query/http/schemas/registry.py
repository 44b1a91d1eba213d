"""Model registry responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runstream.query.records import (
    ModelVersion,
    Page,
    RegisteredModel,
    ResolvedModel,
    StageTransition,
)


class ModelVersionOut(BaseModel):
    """A model version."""

    name: str
    version: int
    source: str | None
    run_id: str | None
    status: str
    current_stage: str
    description: str | None
    creation_time: int | None
    last_updated_time: int | None
    tags: dict[str, str]
    aliases: list[str]
    request_id: str | None


class ModelVersionResponse(ModelVersionOut):
    """One model version and the lake snapshot it was read from."""

    snapshot_id: int


class RegisteredModelOut(BaseModel):
    """A registered model with its aliases and the latest version of each stage."""

    name: str
    description: str | None
    creation_time: int | None
    last_updated_time: int | None
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_versions: list[ModelVersionOut]


class RegisteredModelResponse(RegisteredModelOut):
    """One registered model and the lake snapshot it was read from."""

    snapshot_id: int


class RegisteredModelsPage(BaseModel):
    """A page of registered models."""

    registered_models: list[RegisteredModelOut]
    next_page_token: str | None
    snapshot_id: int


class ModelVersionsPage(BaseModel):
    """A page of model versions."""

    model_versions: list[ModelVersionOut]
    next_page_token: str | None
    snapshot_id: int


class StageTransitionOut(BaseModel):
    """One stage change."""

    from_stage: str | None
    to_stage: str
    reason: str | None
    event_id: str | None
    timestamp: int


class StageHistoryResponse(BaseModel):
    """The stage history of one version, oldest first."""

    name: str
    version: int
    transitions: list[StageTransitionOut]
    snapshot_id: int


class ResolvedModelResponse(BaseModel):
    """What a ``models:/`` URI points at."""

    name: str
    version: int
    source: str | None
    run_id: str | None
    current_stage: str
    snapshot_id: int


def version_json(v: ModelVersion) -> dict[str, Any]:
    """JSON of :class:`ModelVersionOut`."""
    r = v.row
    return {
        "name": r.name,
        "version": r.version,
        "source": r.source,
        "run_id": r.run_id,
        "status": r.status,
        "current_stage": r.current_stage,
        "description": r.description,
        "creation_time": r.creation_time,
        "last_updated_time": r.last_updated_time,
        "tags": v.tags,
        "aliases": v.aliases,
        "request_id": r.request_id,
    }


def model_json(m: RegisteredModel) -> dict[str, Any]:
    """JSON of :class:`RegisteredModelOut`."""
    r = m.row
    return {
        "name": r.name,
        "description": r.description,
        "creation_time": r.creation_time,
        "last_updated_time": r.last_updated_time,
        "tags": m.tags,
        "aliases": m.aliases,
        "latest_versions": [version_json(v) for v in m.latest_versions],
    }


def models_page_json(page: Page[RegisteredModel], snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`RegisteredModelsPage`."""
    return {
        "registered_models": [model_json(m) for m in page.items],
        "next_page_token": page.next_page_token,
        "snapshot_id": snapshot_id,
    }


def versions_page_json(page: Page[ModelVersion], snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`ModelVersionsPage`."""
    return {
        "model_versions": [version_json(v) for v in page.items],
        "next_page_token": page.next_page_token,
        "snapshot_id": snapshot_id,
    }


def stage_history_json(
    name: str, version: int, transitions: list[StageTransition], snapshot_id: int
) -> dict[str, Any]:
    """JSON of :class:`StageHistoryResponse`."""
    return {
        "name": name,
        "version": version,
        "transitions": [
            {
                "from_stage": t.from_stage,
                "to_stage": t.to_stage,
                "reason": t.reason,
                "event_id": t.event_id,
                "timestamp": t.timestamp,
            }
            for t in transitions
        ],
        "snapshot_id": snapshot_id,
    }


def resolved_json(r: ResolvedModel, snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`ResolvedModelResponse`."""
    return {
        "name": r.name,
        "version": r.version,
        "source": r.source,
        "run_id": r.run_id,
        "current_stage": r.current_stage,
        "snapshot_id": snapshot_id,
    }


__all__ = [
    "ModelVersionOut",
    "ModelVersionResponse",
    "ModelVersionsPage",
    "RegisteredModelOut",
    "RegisteredModelResponse",
    "RegisteredModelsPage",
    "ResolvedModelResponse",
    "StageHistoryResponse",
    "StageTransitionOut",
    "model_json",
    "models_page_json",
    "resolved_json",
    "stage_history_json",
    "version_json",
    "versions_page_json",
]
