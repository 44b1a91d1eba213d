"""Metric rules: the latest-value ordering and the summary statistics.

(The wire spelling of NaN and ±Inf is :mod:`runstream.events.floats`.)

MLflow's rule, kept here once: the latest value of a metric is the point with the
highest ``(step, timestamp, value)``. MLflow stores NaN as 0 with an ``is_nan`` flag
and compares the stored value, so NaN ranks as 0 and, on a full tie with a real 0,
the flag breaks it (NaN after 0, as in MLflow's ``ORDER BY ..., is_nan``). The rule is
expressed twice, in Python (:func:`latest_order_key`) and in SQL
(:func:`latest_order_sql`) for the vectorized path in the lake; a unit test checks
that the two agree.

``min_value`` and ``max_value`` ignore NaN (None when every point is NaN);
``count`` counts every point, NaN included.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def latest_order_key(step: int, timestamp: int, value: float) -> tuple[int, int, float, bool]:
    """Return the key whose maximum is the latest point of a metric."""
    nan = math.isnan(value)
    return (step, timestamp, 0.0 if nan else value, nan)


def latest_order_sql(prefix: str = "") -> str:
    """Return the SQL expression of :func:`latest_order_key` (a DuckDB row value).

    Args:
        prefix: table alias with its dot (``"m."``) or empty.
    """
    v = f"{prefix}value"
    return (
        f'({prefix}step, {prefix}"timestamp", '
        f"CASE WHEN isnan({v}) THEN 0.0 ELSE {v} END, isnan({v}))"
    )


@dataclass(frozen=True)
class LatestMetric:
    """The summary of one metric of one run: the one domain type of a ``latest_metrics`` row.

    Its fields are the table's columns after ``run_id`` and ``key``, in order
    (:data:`LATEST_METRIC_COLUMNS`; a unit test keeps them equal), so every reader
    builds it the same way, with :meth:`from_columns`.
    """

    value: float
    step: int
    timestamp: int
    min_value: float | None
    max_value: float | None
    count: int

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> LatestMetric:
        """The summary from a row keyed by the ``latest_metrics`` column names."""
        return cls(
            float(row["value"]),
            int(row["step"]),
            int(row["timestamp"]),
            row["min_value"],
            row["max_value"],
            int(row["count"] or 0),
        )


LATEST_METRIC_COLUMNS = tuple(f.name for f in dataclasses.fields(LatestMetric))


def fold_latest(
    current: LatestMetric | None, points: Iterable[tuple[float, int, int]]
) -> LatestMetric | None:
    """Fold ``(value, step, timestamp)`` points into a metric summary.

    This is the reference implementation of the rule; the lake computes the same
    thing in SQL for whole batches.

    Args:
        current: the summary so far, or None.
        points: new points in any order.

    Returns:
        The new summary, or None when there was nothing at all.
    """
    best = current
    best_key = latest_order_key(best.step, best.timestamp, best.value) if best else None
    lo = current.min_value if current else None
    hi = current.max_value if current else None
    count = current.count if current else 0
    value = step = timestamp = None
    for v, s, t in points:
        count += 1
        if not math.isnan(v):
            lo = v if lo is None else min(lo, v)
            hi = v if hi is None else max(hi, v)
        key = latest_order_key(s, t, v)
        if best_key is None or key > best_key:
            best_key, value, step, timestamp = key, v, s, t
    if value is not None and step is not None and timestamp is not None:
        return LatestMetric(value, step, timestamp, lo, hi, count)
    if best is None:
        return None
    return LatestMetric(best.value, best.step, best.timestamp, lo, hi, count)


__all__ = [
    "LATEST_METRIC_COLUMNS",
    "LatestMetric",
    "fold_latest",
    "latest_order_key",
    "latest_order_sql",
]
