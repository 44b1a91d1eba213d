"""Run responses: run detail and pages of runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from runstream.core.metrics import LatestMetric
from runstream.query.http.schemas.common import MetricValue, metric_json
from runstream.query.records import Page, Run


class RunInfoOut(BaseModel):
    """The ``runs`` row of a run."""

    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    source_name: str | None
    source_type: str | None
    git_commit: str | None
    parent_run_id: str | None
    artifact_uri: str | None
    description: str | None


class LatestMetricOut(BaseModel):
    """The latest value of a metric (highest step, timestamp, value) and its summary."""

    value: MetricValue
    step: int
    timestamp: int
    min: MetricValue | None
    max: MetricValue | None
    count: int


class RunDataOut(BaseModel):
    """Params, tags and latest metrics of a run, keyed by name."""

    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, LatestMetricOut]


class RunOut(BaseModel):
    """A run."""

    info: RunInfoOut
    data: RunDataOut


class DatasetInputOut(BaseModel):
    """A dataset the run used; ``source``, ``schema`` and ``profile`` are JSON text."""

    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(alias="schema")
    profile: str | None
    tags: dict[str, str]


class RunResponse(RunOut):
    """One run, the datasets it used and the lake snapshot it was read from."""

    inputs: list[DatasetInputOut]
    snapshot_id: int


class RunsPage(BaseModel):
    """A page of runs, in search order."""

    runs: list[RunOut]
    next_page_token: str | None
    snapshot_id: int


def latest_json(metric: LatestMetric) -> dict[str, Any]:
    """JSON of :class:`LatestMetricOut`."""
    return {
        "value": metric_json(metric.value),
        "step": metric.step,
        "timestamp": metric.timestamp,
        "min": metric_json(metric.min_value),
        "max": metric_json(metric.max_value),
        "count": metric.count,
    }


def run_json(run: Run) -> dict[str, Any]:
    """JSON of :class:`RunOut`."""
    i = run.info
    return {
        "info": {
            "run_id": i.run_id,
            "experiment_id": i.experiment_id,
            "run_name": i.run_name,
            "user_id": i.user_id,
            "status": i.status,
            "start_time": i.start_time,
            "end_time": i.end_time,
            "lifecycle_stage": i.lifecycle_stage,
            "source_name": i.source_name,
            "source_type": i.source_type,
            "git_commit": i.git_commit,
            "parent_run_id": i.parent_run_id,
            "artifact_uri": i.artifact_uri,
            "description": i.description,
        },
        "data": {
            "params": run.params,
            "tags": run.tags,
            "metrics": {k: latest_json(m) for k, m in run.metrics.items()},
        },
    }


def inputs_json(run: Run) -> list[dict[str, Any]]:
    """JSON of the ``inputs`` of :class:`RunResponse`."""
    return [
        {
            "name": d.name,
            "digest": d.digest,
            "source_type": d.source_type,
            "source": d.source,
            "schema": d.schema,
            "profile": d.profile,
            "tags": d.tags,
        }
        for d in run.inputs
    ]


def runs_page_json(page: Page[Run], snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`RunsPage`."""
    return {
        "runs": [run_json(r) for r in page.items],
        "next_page_token": page.next_page_token,
        "snapshot_id": snapshot_id,
    }


__all__ = [
    "DatasetInputOut",
    "LatestMetricOut",
    "RunDataOut",
    "RunInfoOut",
    "RunOut",
    "RunResponse",
    "RunsPage",
    "inputs_json",
    "latest_json",
    "run_json",
    "runs_page_json",
]
