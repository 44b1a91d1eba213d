"""Metric history and comparison responses (histories are columnar: compact for charts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from runstream.query.http.schemas.runs import RunOut
from runstream.query.http.schemas.wire import MetricFloat, Wire, WireShape
from runstream.query.records import MetricSeries, RunComparison


@dataclass(slots=True)
class SeriesOut(WireShape):
    """One metric of one run: parallel arrays of steps, timestamps and values."""

    run_id: str
    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[MetricFloat]
    total_points: int
    downsampled: bool

    @classmethod
    def of(cls, series: MetricSeries) -> Self:
        """The columns of ``series``, whose points are rows."""
        points = series.points
        return cls(
            series.run_id,
            series.key,
            [p.step for p in points],
            [p.timestamp for p in points],
            [p.value for p in points],
            series.total_points,
            series.downsampled,
        )


@dataclass(slots=True)
class HistoriesResponse(WireShape):
    """Histories of several runs and keys."""

    series: list[SeriesOut]
    snapshot_id: int

    @classmethod
    def read(cls, series: list[MetricSeries], snapshot_id: int) -> Self:
        """The response of ``series`` read at ``snapshot_id``."""
        return cls([SeriesOut.of(s) for s in series], snapshot_id)


@dataclass(slots=True)
class CompareResponse(WireShape):
    """Runs side by side."""

    runs: list[RunOut]
    params_differ: list[str]
    params_same: list[str]
    metric_keys: list[str]
    histories: list[SeriesOut]
    snapshot_id: int

    @classmethod
    def read(cls, comparison: RunComparison, snapshot_id: int) -> Self:
        """The response of ``comparison`` read at ``snapshot_id``."""
        return cls(
            [RunOut.of(r) for r in comparison.runs],
            comparison.params_differ,
            comparison.params_same,
            comparison.metric_keys,
            [SeriesOut.of(s) for s in comparison.histories],
            snapshot_id,
        )


HISTORIES = Wire(HistoriesResponse)
COMPARISON = Wire(CompareResponse)

__all__ = ["COMPARISON", "HISTORIES", "CompareResponse", "HistoriesResponse", "SeriesOut"]
