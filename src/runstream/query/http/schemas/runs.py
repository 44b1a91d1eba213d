"""Run responses: run detail and pages of runs, built on the ``runs`` row and ``LatestMetric``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Self

from runstream.core.metrics import LatestMetric
from runstream.core.rows import RunRow
from runstream.query.http.schemas.wire import Wire, WireShape, wire_shape
from runstream.query.records import DatasetInput, Page, Run

LatestMetricOut = Annotated[
    LatestMetric, wire_shape(names={"min_value": "min", "max_value": "max"})
]
"""The latest value of a metric (highest step, timestamp, value) and its summary."""

DatasetInputOut = Annotated[DatasetInput, wire_shape()]
"""A dataset the run used; ``source``, ``schema`` and ``profile`` are JSON text."""

RunInfoOut = Annotated[RunRow, wire_shape()]
"""The ``runs`` row of a run, every column."""


@dataclass(slots=True)
class RunDataOut(WireShape):
    """Params, tags and latest metrics of a run, keyed by name."""

    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, LatestMetricOut]


@dataclass(slots=True)
class RunOut(WireShape):
    """A run."""

    info: RunInfoOut
    data: RunDataOut

    @classmethod
    def of(cls, run: Run) -> RunOut:
        """The response shape of ``run`` (no copy of its row, params, tags or metrics)."""
        return RunOut(run.info, RunDataOut(run.params, run.tags, run.metrics))


@dataclass(slots=True)
class RunResponse(RunOut):
    """One run, the datasets it used and the lake snapshot it was read from."""

    inputs: list[DatasetInputOut]
    snapshot_id: int

    @classmethod
    def read(cls, run: Run, snapshot_id: int) -> Self:
        """The response of ``run`` read at ``snapshot_id``."""
        data = RunDataOut(run.params, run.tags, run.metrics)
        return cls(run.info, data, list(run.inputs), snapshot_id)


@dataclass(slots=True)
class RunsPage(WireShape):
    """A page of runs, in search order."""

    runs: list[RunOut]
    next_page_token: str | None
    snapshot_id: int

    @classmethod
    def read(cls, page: Page[Run], snapshot_id: int) -> Self:
        """The response of ``page`` read at ``snapshot_id``."""
        return cls([RunOut.of(r) for r in page.items], page.next_page_token, snapshot_id)


RUN = Wire(RunResponse)
RUNS_PAGE = Wire(RunsPage)

__all__ = [
    "RUN",
    "RUNS_PAGE",
    "DatasetInputOut",
    "LatestMetricOut",
    "RunDataOut",
    "RunInfoOut",
    "RunOut",
    "RunResponse",
    "RunsPage",
]
