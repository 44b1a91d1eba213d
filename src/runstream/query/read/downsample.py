"""Server-side downsampling of metric histories: the SQL and its Python reference.

A chart of 1,000,000 points needs about as many points as it has pixels. For
each series (one metric of one run) within the requested step range:

1. A series of at most ``max_points`` points is returned whole.
2. A longer one is cut into ``B = (max_points - 2) // 2`` buckets of equal
   width along x (the step, or the timestamp); point ``x`` falls in bucket
   ``(x - lo) * B // (hi - lo + 1)`` where ``lo``/``hi`` are the series' smallest
   and largest x. Each bucket keeps its lowest and its highest value, so
   spikes survive; NaN sorts above every number, as in DuckDB, so a NaN shows
   as a bucket's high.
3. The first and the last point (by x) are always kept, so the line starts
   and ends where the data does.
4. Points come out in x order, duplicates removed; at most ``max_points``.

The work happens in the lake, in two statements (:func:`stats_sql`, then
:func:`points_sql`), so a million points never travel to Python.
:func:`downsample_reference` computes the same thing in Python for tests.
Ties (two points with the same value in a bucket, or the same x at an end)
are broken arbitrarily by the database.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MIN_POINTS = 4
MAX_POINTS = 100_000
# Integer bucketing overflows BIGINT beyond this; wider ranges bucket in doubles.
_INT_SAFE = 2**62

_POINT = "{'s': step, 't': \"timestamp\", 'v': \"value\"}"


class XAxis(enum.Enum):
    """What the chart's x axis is."""

    STEP = "step"
    TIME = "time"

    @property
    def column(self) -> str:
        """The ``metrics`` column of this axis."""
        return "step" if self is XAxis.STEP else '"timestamp"'


@dataclass(frozen=True)
class HistoryRequest:
    """Which histories to read and how to thin them.

    Attributes:
        run_ids: the runs.
        keys: the metric keys (every run x key pair is one series).
        max_points: points per series at most (>= 4).
        x_axis: step or time.
        min_step: keep points with step >= this (zoom), if set.
        max_step: keep points with step <= this, if set.
    """

    run_ids: tuple[str, ...]
    keys: tuple[str, ...]
    max_points: int = 1000
    x_axis: XAxis = XAxis.STEP
    min_step: int | None = None
    max_step: int | None = None

    @property
    def buckets(self) -> int:
        """Number of buckets of a long series."""
        return max(1, (self.max_points - 2) // 2)


@dataclass(frozen=True)
class SeriesStats:
    """Size and x range of one series, with its first and last points."""

    run_id: str
    key: str
    count: int
    lo: int
    hi: int
    first: tuple[int, int, float]
    last: tuple[int, int, float]


def _range(req: HistoryRequest, params: list[Any], prefix: str = "") -> str:
    sql = ""
    if req.min_step is not None:
        sql += f" AND {prefix}step >= ?"
        params.append(req.min_step)
    if req.max_step is not None:
        sql += f" AND {prefix}step <= ?"
        params.append(req.max_step)
    return sql


def _in(column: str, values: Sequence[str], params: list[Any]) -> str:
    """``column IN (?, ...)``: constants the scan can prune Parquet row groups with."""
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})"


def _series_filter(
    runs: Sequence[str], keys: Sequence[str], params: list[Any], prefix: str = ""
) -> str:
    run_test = _in(f"{prefix}run_id", sorted(set(runs)), params)
    return run_test + " AND " + _in(f'{prefix}"key"', sorted(set(keys)), params)


def history_filter(req: HistoryRequest, params: list[Any]) -> str:
    """The ``WHERE`` condition of ``req``'s series and step range on ``metrics``."""
    return _series_filter(req.run_ids, req.keys, params) + _range(req, params)


def stats_sql(req: HistoryRequest) -> tuple[str, list[Any]]:
    """SQL of statement 1: ``(run_id, key, n, lo, hi, first, last)`` per series."""
    x = req.x_axis.column
    params: list[Any] = []
    sql = (
        f'SELECT run_id, "key", count(*), min({x}), max({x}), '
        f"arg_min({_POINT}, {x}), arg_max({_POINT}, {x}) FROM metrics WHERE "
        + _series_filter(req.run_ids, req.keys, params)
        + _range(req, params)
        + ' GROUP BY run_id, "key"'
    )
    return sql, params


def parse_stats(rows: Iterable[Sequence[Any]]) -> list[SeriesStats]:
    """Turn statement 1's rows into :class:`SeriesStats`."""
    out = []
    for run_id, key, n, lo, hi, first, last in rows:
        out.append(
            SeriesStats(
                str(run_id),
                str(key),
                int(n),
                int(lo),
                int(hi),
                (int(first["s"]), int(first["t"]), float(first["v"])),
                (int(last["s"]), int(last["t"]), float(last["v"])),
            )
        )
    return out


def _bucket_sql(req: HistoryRequest, s: SeriesStats, params: list[Any]) -> str:
    x, span, b = req.x_axis.column, s.hi - s.lo + 1, req.buckets
    if span * b < _INT_SAFE:
        params.extend([s.lo, b, span])
        return f"({x} - ?) * ? // ?"
    params.extend([float(s.lo), b / span])
    return f"CAST(floor(({x}::DOUBLE - ?) * ?) AS BIGINT)"


def _long_branch(req: HistoryRequest, s: SeriesStats, params: list[Any]) -> str:
    """One long series, its bounds as constants (the fastest plan for a lone series)."""
    head: list[Any] = [s.run_id, s.key]
    bucket = _bucket_sql(req, s, head)
    params.extend([*head, s.run_id, s.key])
    return (
        f'SELECT ? AS run_id, ? AS "key", arg_min(p, v) AS p1, arg_max(p, v) AS p2 FROM '
        f'(SELECT {_POINT} AS p, "value" AS v, {bucket} AS b FROM metrics '
        'WHERE run_id = ? AND "key" = ?' + _range(req, params) + ") GROUP BY b"
    )


def _long_join(req: HistoryRequest, series: Sequence[SeriesStats], params: list[Any]) -> str:
    """Many long series in one scan, joined to a small table of their bucket bounds."""
    x, b = req.x_axis.column, req.buckets
    rows = []
    for s in series:
        span = s.hi - s.lo + 1
        exact = span * b < _INT_SAFE
        # Integer bucketing when it cannot overflow; doubles otherwise (as the reference).
        params.extend(
            [
                s.run_id,
                s.key,
                exact,
                s.lo if exact else 0,
                span if exact else 1,
                float(s.lo),
                b / span,
            ]
        )
        rows.append("(?, ?, ?, ?::BIGINT, ?::BIGINT, ?::DOUBLE, ?::DOUBLE)")
    bucket = (
        f"CASE WHEN s.exact THEN (m.{x} - s.lo) * {b} // s.span"
        f" ELSE CAST(floor((m.{x}::DOUBLE - s.lo_d) * s.f) AS BIGINT) END"
    )
    runs, keys = [s.run_id for s in series], [s.key for s in series]
    where = _series_filter(runs, keys, params, "m.") + _range(req, params, "m.")
    return (
        'SELECT m.run_id, m."key", arg_min(p, v) AS p1, arg_max(p, v) AS p2 FROM (SELECT'
        f" m.run_id, m.\"key\", {{'s': m.step, 't': m.\"timestamp\", 'v': m.\"value\"}} AS p,"
        f' m."value" AS v, {bucket} AS b FROM metrics m JOIN (VALUES {", ".join(rows)})'
        ' AS s(run_id, "key", exact, lo, span, lo_d, f)'
        f' ON m.run_id = s.run_id AND m."key" = s."key" WHERE {where}) AS m'
        ' GROUP BY m.run_id, m."key", b'
    )


# Up to this many long series get a scan each (constant bounds: fastest for a few);
# more share one scan joined to their bounds, so a 100-run chart costs one scan.
_BRANCHED_LONG_SERIES = 2


def points_sql(req: HistoryRequest, stats: Sequence[SeriesStats]) -> tuple[str, list[Any]]:
    """SQL of statement 2: rows ``(run_id, key, point, point_or_null)``.

    Short series return each point once (second column NULL); long series
    return each bucket's lowest and highest point. Empty when ``stats`` is.
    """
    params: list[Any] = []
    branches: list[str] = []
    short = [s for s in stats if s.count <= req.max_points]
    if short:
        where = _series_filter([s.run_id for s in short], [s.key for s in short], params)
        params.append([f"{s.run_id}\x1f{s.key}" for s in short])
        branches.append(
            f'SELECT run_id, "key", {_POINT} AS p1, NULL AS p2 FROM metrics WHERE {where}'
            ' AND run_id || chr(31) || "key" IN (SELECT unnest(?::VARCHAR[]))' + _range(req, params)
        )
    long = [s for s in stats if s.count > req.max_points]
    if 0 < len(long) <= _BRANCHED_LONG_SERIES:
        branches += [_long_branch(req, s, params) for s in long]
    elif long:
        branches.append(_long_join(req, long, params))
    return " UNION ALL ".join(branches), params


def _value_order(value: float) -> tuple[bool, float]:
    """Sort key of a value as DuckDB orders doubles: NaN above everything."""
    return (True, 0.0) if math.isnan(value) else (False, value)


def _identity(point: tuple[int, int, float]) -> tuple[int, int, tuple[bool, float]]:
    return (point[0], point[1], _value_order(point[2]))


def finish_series(
    req: HistoryRequest, s: SeriesStats, picked: Iterable[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """Add the first and last points, drop duplicates, sort by x (rule 3 and 4)."""
    points = [s.first, *picked, s.last] if s.count > req.max_points else list(picked)
    unique = {_identity(p): p for p in points}
    xi = 0 if req.x_axis is XAxis.STEP else 1

    def order(p: tuple[int, int, float]) -> tuple[Any, ...]:
        return (p[xi], p[0], p[1], _value_order(p[2]))

    return sorted(unique.values(), key=order)


def downsample_reference(
    points: Sequence[tuple[int, int, float]], max_points: int, x_axis: XAxis = XAxis.STEP
) -> list[tuple[int, int, float]]:
    """The rules above in plain Python, over ``(step, timestamp, value)`` points of one series.

    Used by tests to check the SQL; ties are broken by the earliest point.
    """
    if not points:
        return []
    req = HistoryRequest(("r",), ("k",), max_points, x_axis)

    def x(p: tuple[int, int, float]) -> int:
        return p[0] if x_axis is XAxis.STEP else p[1]

    lo = min(x(p) for p in points)
    hi = max(x(p) for p in points)
    stats = SeriesStats("r", "k", len(points), lo, hi, min(points, key=x), max(points, key=x))
    if len(points) <= max_points:
        return finish_series(req, stats, points)
    span, b = hi - lo + 1, req.buckets
    buckets: dict[int, list[tuple[int, int, float]]] = {}
    for p in points:
        if span * b < _INT_SAFE:
            index = (x(p) - lo) * b // span
        else:
            index = math.floor((float(x(p)) - float(lo)) * (b / span))
        buckets.setdefault(index, []).append(p)
    picked: list[tuple[int, int, float]] = []
    for members in buckets.values():
        picked.append(min(members, key=lambda p: _value_order(p[2])))
        picked.append(max(members, key=lambda p: _value_order(p[2])))
    return finish_series(req, stats, picked)


__all__ = [
    "MAX_POINTS",
    "MIN_POINTS",
    "HistoryRequest",
    "SeriesStats",
    "XAxis",
    "downsample_reference",
    "finish_series",
    "history_filter",
    "parse_stats",
    "points_sql",
    "stats_sql",
]
