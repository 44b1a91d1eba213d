"""The SDK's value objects, named and shaped like MLflow's entities.

They describe what this process logged or learned from the query service; they are
plain data (no I/O). ``Run.data`` holds what this process logged: params and tags.
Metric values are not kept (that would cost time in every ``log_metric``); read
them through the query service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runstream.events.floats import float_from_wire


@dataclass(frozen=True)
class Experiment:
    """An experiment (MLflow's ``Experiment``)."""

    experiment_id: str
    name: str
    artifact_location: str | None = None
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)


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


@dataclass
class Run:
    """A run: its info and its data (MLflow's ``Run``)."""

    info: RunInfo
    data: RunData


@dataclass(frozen=True)
class Metric:
    """One metric point, for ``log_batch`` (MLflow's ``Metric``)."""

    key: str
    value: float
    timestamp: int
    step: int = 0


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
    )


__all__ = [
    "Experiment",
    "IngestConfig",
    "Metric",
    "ModelVersion",
    "Param",
    "RegisteredModel",
    "ResolvedModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunTag",
    "run_from_json",
]
