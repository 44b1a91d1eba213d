"""Rows of the lake's entity tables, as the reducer builds them.

Each dataclass lists the columns of one table of ``runstream.lake.tables`` in
storage order (a unit test checks that they agree), so :meth:`astuple` is the row
the lake writer inserts. Key-value tables (tags, params, aliases) travel as plain
tuples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self


@dataclass(slots=True)
class _Row:
    def astuple(self) -> tuple[Any, ...]:
        """Return the row in table column order."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def copy(self) -> Self:
        """Return a shallow copy (the reducer never mutates rows of the state view)."""
        return dataclasses.replace(self)


@dataclass(slots=True)
class ExperimentRow(_Row):
    """A row of ``experiments``."""

    experiment_id: str
    name: str
    artifact_location: str | None
    lifecycle_stage: str
    creation_time: int
    last_update_time: int


@dataclass(slots=True)
class RunRow(_Row):
    """A row of ``runs``."""

    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    source_name: str | None
    source_type: str | None
    git_commit: str | None
    parent_run_id: str | None
    artifact_uri: str | None
    description: str | None


@dataclass(slots=True)
class ModelRow(_Row):
    """A row of ``registered_models``."""

    name: str
    description: str | None
    creation_time: int
    last_updated_time: int
    deleted: bool


@dataclass(slots=True)
class VersionRow(_Row):
    """A row of ``model_versions``."""

    name: str
    version: int
    request_id: str | None
    source: str | None
    run_id: str | None
    status: str
    current_stage: str
    description: str | None
    creation_time: int
    last_updated_time: int
    deleted: bool


@dataclass(slots=True)
class LoggedModelRow(_Row):
    """A row of ``mlflow_logged_models`` (MLflow 3's logged models)."""

    model_id: str
    experiment_id: str
    name: str
    source_run_id: str | None
    model_type: str | None
    artifact_location: str
    status: str
    lifecycle_stage: str
    creation_time: int
    last_updated_time: int


@dataclass(frozen=True, slots=True)
class LoggedModelMetricRow:
    """A row of ``logged_model_metrics``: one point a run linked to a logged model."""

    model_id: str
    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    dataset_name: str | None
    dataset_digest: str | None


class PointColumns(Protocol):
    """The points of one ``run.metrics`` event already in the lake's column format.

    Opaque here: the lake writer builds them (``runstream.lake.writer.metric_columns``,
    called by the materializer while it decodes) and reads them; core only carries
    them from the decoded event to its :class:`MetricBlock`.
    """

    @property
    def num_rows(self) -> int:
        """How many points they hold."""
        ...


@dataclass(frozen=True, slots=True)
class MetricBlock:
    """The points of one ``run.metrics`` event, still columnar.

    The lake writer turns many blocks into Arrow columns at once; exploding points
    into Python objects here would cost more than everything else in the pipeline.
    The columns are the event body's own (immutable) sequences, never copied.

    ``columns`` optionally carries the same points already converted to rows of the
    lake's ``metrics`` table (the materializer builds them while decoding, off the
    writer's critical path); the reducer never looks at it.
    """

    run_id: str
    keys: Sequence[str]
    values: Sequence[float]
    steps: Sequence[int]
    timestamps: Sequence[int]
    columns: PointColumns | None = dataclasses.field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.keys)


ENTITY_ROWS: dict[str, type[_Row]] = {
    "experiments": ExperimentRow,
    "runs": RunRow,
    "registered_models": ModelRow,
    "model_versions": VersionRow,
    "mlflow_logged_models": LoggedModelRow,
}

__all__ = [
    "ENTITY_ROWS",
    "ExperimentRow",
    "LoggedModelMetricRow",
    "LoggedModelRow",
    "MetricBlock",
    "ModelRow",
    "PointColumns",
    "RunRow",
    "VersionRow",
]
