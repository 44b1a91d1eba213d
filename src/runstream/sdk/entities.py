"""The SDK's value objects, named and shaped like MLflow's entities.

They describe what this process logged or learned from the query service; they are
plain data (no I/O). A :class:`Run` read from the query service carries its latest
metrics; this process keeps no metric values of its own (that would cost time in
every ``log_metric``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

from runstream.events.floats import float_from_wire

T = TypeVar("T")


class ViewType(IntEnum):
    """Which lifecycle stages a search returns (MLflow's ``ViewType``)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


class PagedList(list[T], Generic[T]):
    """One page of results and the token of the next (MLflow's ``PagedList``)."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class Experiment:
    """An experiment (MLflow's ``Experiment``)."""

    experiment_id: str
    name: str
    artifact_location: str | None = None
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass
class RunInfo:
    """Identity and status of a run (MLflow's ``RunInfo``)."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        """MLflow's older name of ``run_id``."""
        return self.run_id


@dataclass
class RunData:
    """What a run logged, as far as this process knows (MLflow's ``RunData``)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetEntity:
    """A dataset as stored with a run (MLflow's ``entities.Dataset``)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class InputTag:
    """A tag of a dataset input, e.g. ``mlflow.data.context`` (MLflow's ``InputTag``)."""

    key: str
    value: str


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run used, with its tags (MLflow's ``DatasetInput``)."""

    dataset: DatasetEntity
    tags: list[InputTag] = field(default_factory=list)


@dataclass
class RunInputs:
    """What a run took as input (MLflow's ``RunInputs``)."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)


@dataclass
class Run:
    """A run: its info, its data and its inputs (MLflow's ``Run``)."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)


@dataclass(frozen=True)
class Metric:
    """One metric point, for ``log_batch`` (MLflow's ``Metric``)."""

    key: str
    value: float
    timestamp: int
    step: int = 0


@dataclass(frozen=True)
class FileInfo:
    """One entry of an artifact listing (MLflow's ``FileInfo``)."""

    path: str
    is_dir: bool
    file_size: int | None = None


@dataclass(frozen=True)
class Param:
    """One param, for ``log_batch`` (MLflow's ``Param``)."""

    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    """One run tag, for ``log_batch`` (MLflow's ``RunTag``)."""

    key: str
    value: str


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model as this client created or changed it."""

    name: str
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    """A model version (MLflow's ``ModelVersion``).

    ``version`` is the number the materializer assigned; it is None only when the
    caller chose not to wait for it (``await_registration_for=0``).
    """

    name: str
    version: int | None
    source: str
    run_id: str | None = None
    current_stage: str = "None"
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "READY"


@dataclass(frozen=True)
class IngestConfig:
    """Where a client sends events and artifacts (no secrets), from the query service."""

    bootstrap_servers: str
    topic_events: str
    topic_registry: str
    artifacts_bucket: str
    s3_endpoint: str
    s3_region: str


@dataclass(frozen=True)
class ResolvedModel:
    """A ``models:/`` URI resolved to one version and its source."""

    name: str
    version: int
    source: str
    run_id: str | None


def run_from_json(body: dict[str, Any]) -> Run:
    """A :class:`Run` from the query service's ``{"info": ..., "data": ...}``."""
    info = body.get("info", {})
    data = body.get("data", {})

    def pairs(value: Any) -> dict[str, Any]:
        if isinstance(value, list):
            return {i["key"]: i["value"] for i in value if isinstance(i, dict)}
        return dict(value or {})

    # float() reads the wire spellings "NaN", "Infinity" and "-Infinity" too.
    metrics = {
        k: float_from_wire(v["value"] if isinstance(v, dict) else v)
        for k, v in pairs(data.get("metrics")).items()
    }
    run_info = RunInfo(
        run_id=str(info.get("run_id")),
        experiment_id=str(info.get("experiment_id", "0")),
        run_name=str(info.get("run_name") or ""),
        user_id=str(info.get("user_id") or ""),
        status=str(info.get("status") or "RUNNING"),
        start_time=int(info.get("start_time") or 0),
        end_time=info.get("end_time"),
        artifact_uri=str(info.get("artifact_uri") or ""),
        lifecycle_stage=str(info.get("lifecycle_stage") or "active"),
    )
    return Run(
        run_info,
        RunData(metrics=metrics, params=pairs(data.get("params")), tags=pairs(data.get("tags"))),
        inputs_from_json(body.get("inputs")),
    )


def inputs_from_json(body: Any) -> RunInputs:
    """A run's :class:`RunInputs` from its ``inputs`` JSON (empty when absent).

    Reads both spellings: the native API's list of datasets (tags as an object) and
    MLflow's ``{"dataset_inputs": [{"dataset": ..., "tags": [...]}]}``.
    """
    if isinstance(body, dict):
        items = [
            {**(i.get("dataset") or {}), "tags": i.get("tags")}
            for i in body.get("dataset_inputs") or ()
            if isinstance(i, dict)
        ]
    elif isinstance(body, list):
        items = [i for i in body if isinstance(i, dict)]
    else:
        return RunInputs()
    found = []
    for d in items:
        dataset = DatasetEntity(
            name=str(d.get("name", "")),
            digest=str(d.get("digest", "")),
            source_type=str(d.get("source_type", "")),
            source=str(d.get("source", "")),
            schema=d.get("schema"),
            profile=d.get("profile"),
        )
        raw = d.get("tags") or ()
        pairs = raw.items() if isinstance(raw, dict) else ((t["key"], t["value"]) for t in raw)
        tags = [InputTag(str(k), str(v)) for k, v in pairs]
        found.append(DatasetInput(dataset, tags))
    return RunInputs(found)


__all__ = [
    "DatasetEntity",
    "DatasetInput",
    "Experiment",
    "FileInfo",
    "IngestConfig",
    "InputTag",
    "Metric",
    "ModelVersion",
    "PagedList",
    "Param",
    "RegisteredModel",
    "ResolvedModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunTag",
    "ViewType",
    "inputs_from_json",
    "run_from_json",
]
