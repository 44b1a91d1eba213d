"""What the readers return: plain, frozen domain objects with no HTTP in them.

Entity columns reuse the row classes of :mod:`runstream.core.rows` (the one
definition of each lake table's columns); the objects here add what a reader
assembles around a row: tags, params, latest metrics, aliases.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from runstream.core.metrics import LatestMetric
from runstream.core.rows import (
    ExperimentRow,
    LoggedModelMetricRow,
    LoggedModelRow,
    ModelRow,
    RunRow,
    VersionRow,
)

T = TypeVar("T")

RUN_COLUMNS = tuple(f.name for f in dataclasses.fields(RunRow))
EXPERIMENT_COLUMNS = tuple(f.name for f in dataclasses.fields(ExperimentRow))
MODEL_COLUMNS = tuple(f.name for f in dataclasses.fields(ModelRow))
VERSION_COLUMNS = tuple(f.name for f in dataclasses.fields(VersionRow))
LOGGED_MODEL_COLUMNS = tuple(f.name for f in dataclasses.fields(LoggedModelRow))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the token of the next page (None on the last)."""

    items: list[T]
    next_page_token: str | None = None


@dataclass(frozen=True)
class Experiment:
    """An experiment and its tags."""

    row: ExperimentRow
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run used (a ``dataset_inputs`` row); source, schema, profile are JSON text."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelOutput:
    """A logged model a run produced, and the step it was logged at (``logged_model_outputs``)."""

    model_id: str
    step: int = 0


@dataclass(frozen=True)
class Run:
    """A run: its ``runs`` row, params, tags, the summary of each metric, inputs and outputs.

    ``inputs`` (datasets), ``model_inputs`` (ids of the logged models it used) and
    ``outputs`` are filled by single-run reads (``get_run``), empty in search pages.
    """

    info: RunRow
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, LatestMetric] = field(default_factory=dict)
    inputs: tuple[DatasetInput, ...] = ()
    outputs: tuple[ModelOutput, ...] = ()
    model_inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a metric."""

    step: int
    timestamp: int
    value: float


@dataclass(frozen=True)
class MetricSeries:
    """The (possibly downsampled) history of one metric of one run.

    Attributes:
        run_id: the run.
        key: the metric key.
        points: in x order (step or timestamp, then value).
        total_points: points in the requested range before downsampling.
        downsampled: whether ``points`` is a subset of the range.
    """

    run_id: str
    key: str
    points: list[MetricPoint]
    total_points: int
    downsampled: bool


@dataclass(frozen=True)
class RunMetricPoint:
    """A metric point with its run and key (MLflow's bulk history shape)."""

    run_id: str
    key: str
    step: int
    timestamp: int
    value: float


@dataclass(frozen=True)
class ArtifactEntry:
    """A file or a directory under a run's artifact root.

    Directories are derived from file paths (object stores have none), so they
    carry no size.
    """

    path: str
    is_dir: bool
    size: int | None = None
    sha256: str | None = None
    media_type: str | None = None
    logged_at: int | None = None


@dataclass(frozen=True)
class ArtifactObject:
    """Where one artifact file lives in the object store."""

    run_id: str
    path: str
    bucket: str
    key: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version with its tags and the aliases pointing at it."""

    row: VersionRow
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model, its tags, aliases and the latest version of each stage."""

    row: ModelRow
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: list[ModelVersion] = field(default_factory=list)


@dataclass(frozen=True)
class StageTransition:
    """One stage change of a model version."""

    name: str
    version: int
    from_stage: str | None
    to_stage: str
    reason: str | None
    event_id: str | None
    timestamp: int


@dataclass(frozen=True)
class ResolvedModel:
    """What a ``models:/`` URI points at."""

    name: str
    version: int
    source: str | None
    run_id: str | None
    current_stage: str


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side.

    Attributes:
        runs: the runs, in the order asked.
        params_differ: keys whose values differ (or are missing) between runs.
        params_same: keys logged with the same value by every run.
        metric_keys: every metric key of any run, sorted.
        histories: downsampled histories, when asked for.
    """

    runs: list[Run]
    params_differ: list[str]
    params_same: list[str]
    metric_keys: list[str]
    histories: list[MetricSeries] = field(default_factory=list)


@dataclass(frozen=True)
class SqlResult:
    """The rows of one read-only statement, JSON-ready."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float


@dataclass(frozen=True)
class LoggedModel:
    """An MLflow 3 logged model with its params, tags and linked metric points."""

    row: LoggedModelRow
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[LoggedModelMetricRow] = field(default_factory=list)


__all__ = [
    "EXPERIMENT_COLUMNS",
    "LOGGED_MODEL_COLUMNS",
    "MODEL_COLUMNS",
    "RUN_COLUMNS",
    "VERSION_COLUMNS",
    "ArtifactEntry",
    "ArtifactObject",
    "Experiment",
    "LoggedModel",
    "MetricPoint",
    "MetricSeries",
    "ModelOutput",
    "ModelVersion",
    "Page",
    "RegisteredModel",
    "ResolvedModel",
    "Run",
    "RunComparison",
    "RunMetricPoint",
    "SqlResult",
    "StageTransition",
]
