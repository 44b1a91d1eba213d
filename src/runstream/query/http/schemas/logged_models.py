"""MLflow 3 logged models as the native API shows them: the row, its params and tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from runstream.core.rows import LoggedModelRow
from runstream.query.http.schemas.wire import Wire, WireShape, columns
from runstream.query.records import LoggedModel


@dataclass(slots=True)
class LoggedModelOut(LoggedModelRow, WireShape):
    """One logged model: its ``mlflow_logged_models`` row, params and tags."""

    params: dict[str, str]
    tags: dict[str, str]

    @classmethod
    def of(cls, m: LoggedModel) -> LoggedModelOut:
        """The response shape of ``m``."""
        return LoggedModelOut(**columns(m.row), params=m.params, tags=m.tags)


@dataclass(slots=True)
class LoggedModelsResponse(WireShape):
    """The logged models of one run, oldest first."""

    logged_models: list[LoggedModelOut]
    snapshot_id: int

    @classmethod
    def read(cls, models: list[LoggedModel], snapshot_id: int) -> Self:
        """The response of ``models`` read at ``snapshot_id``."""
        return cls([LoggedModelOut.of(m) for m in models], snapshot_id)


LOGGED_MODELS = Wire(LoggedModelsResponse)

__all__ = ["LOGGED_MODELS", "LoggedModelOut", "LoggedModelsResponse"]
