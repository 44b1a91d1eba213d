"""Metric history and comparison responses (histories are columnar: compact for charts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runstream.query.http.schemas.common import MetricValue, metric_json
from runstream.query.http.schemas.runs import RunOut, run_json
from runstream.query.records import MetricSeries, RunComparison


class SeriesOut(BaseModel):
    """One metric of one run: parallel arrays of steps, timestamps and values."""

    run_id: str
    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[MetricValue]
    total_points: int
    downsampled: bool


class HistoriesResponse(BaseModel):
    """Histories of several runs and keys."""

    series: list[SeriesOut]
    snapshot_id: int


class CompareResponse(BaseModel):
    """Runs side by side."""

    runs: list[RunOut]
    params_differ: list[str]
    params_same: list[str]
    metric_keys: list[str]
    histories: list[SeriesOut]
    snapshot_id: int


def series_json(series: MetricSeries) -> dict[str, Any]:
    """JSON of :class:`SeriesOut`."""
    return {
        "run_id": series.run_id,
        "key": series.key,
        "steps": [p.step for p in series.points],
        "timestamps": [p.timestamp for p in series.points],
        "values": [metric_json(p.value) for p in series.points],
        "total_points": series.total_points,
        "downsampled": series.downsampled,
    }


def histories_json(series: list[MetricSeries], snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`HistoriesResponse`."""
    return {"series": [series_json(s) for s in series], "snapshot_id": snapshot_id}


def compare_json(comparison: RunComparison, snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`CompareResponse`."""
    return {
        "runs": [run_json(r) for r in comparison.runs],
        "params_differ": comparison.params_differ,
        "params_same": comparison.params_same,
        "metric_keys": comparison.metric_keys,
        "histories": [series_json(s) for s in comparison.histories],
        "snapshot_id": snapshot_id,
    }


__all__ = [
    "CompareResponse",
    "HistoriesResponse",
    "SeriesOut",
    "compare_json",
    "histories_json",
    "series_json",
]
