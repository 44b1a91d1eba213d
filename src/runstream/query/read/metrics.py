"""Metric histories: whole (paged, MLflow's get-history) or downsampled in the lake."""

from __future__ import annotations

from collections import defaultdict

from runstream.query.read.downsample import (
    HistoryRequest,
    finish_series,
    parse_stats,
    points_sql,
    stats_sql,
)
from runstream.query.read.session import ReadSession
from runstream.query.records import MetricPoint, MetricSeries, Page
from runstream.query.search.paging import next_token, offset_from_token, query_fingerprint

Point = tuple[int, int, float]


def histories(session: ReadSession, req: HistoryRequest) -> list[MetricSeries]:
    """Return each existing series of ``req``, downsampled as :mod:`downsample` says.

    Series come in the order of ``req.run_ids`` then ``req.keys``; a run that never
    logged a key has no series.
    """
    if not req.run_ids or not req.keys:
        return []
    stats = parse_stats(session.fetch(*stats_sql(req)))
    if not stats:
        return []
    picked: dict[tuple[str, str], list[Point]] = defaultdict(list)
    sql, params = points_sql(req, stats)
    for run_id, key, p1, p2 in session.fetch(sql, params):
        bucket = picked[(run_id, key)]
        for p in (p1, p2):
            if p is not None:
                bucket.append((int(p["s"]), int(p["t"]), float(p["v"])))
    run_order = {r: i for i, r in enumerate(req.run_ids)}
    key_order = {k: i for i, k in enumerate(req.keys)}
    stats.sort(key=lambda s: (run_order.get(s.run_id, 0), key_order.get(s.key, 0)))
    out = []
    for s in stats:
        points = finish_series(req, s, picked[(s.run_id, s.key)])
        out.append(
            MetricSeries(
                s.run_id,
                s.key,
                [MetricPoint(step, ts, value) for step, ts, value in points],
                s.count,
                s.count > req.max_points,
            )
        )
    return out


def full_history(
    session: ReadSession,
    run_id: str,
    key: str,
    *,
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[MetricPoint]:
    """Every point of one metric in (step, timestamp, value) order, paged by offset.

    Without ``max_results`` the whole history comes back in one page (MLflow's
    server does the same when its client asks without a page size).

    Raises:
        PageTokenError: a token of another history.
    """
    fp = query_fingerprint("history", run_id, key)
    offset = offset_from_token(page_token, fp)
    sql = (
        'SELECT step, "timestamp", "value" FROM metrics WHERE run_id = ? AND "key" = ?'
        ' ORDER BY step, "timestamp", "value"'
    )
    params: list[object] = [run_id, key]
    if max_results is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [max_results + 1, offset]
    rows = session.fetch(sql, params)
    limit = max_results if max_results is not None else len(rows)
    points = [MetricPoint(int(s), int(t), float(v)) for s, t, v in rows[:limit]]
    token = next_token(fp, offset, limit, len(rows)) if max_results is not None else None
    return Page(points, token)


def points_at_steps(
    session: ReadSession, run_id: str, keys: list[str], steps: list[int]
) -> set[tuple[str, float, int, int]]:
    """The run's points ``(key, value, step, timestamp)`` of some keys at some steps."""
    rows = session.fetch(
        'SELECT "key", "value", step, "timestamp" FROM metrics WHERE run_id = ?'
        ' AND "key" IN (SELECT unnest(?::VARCHAR[])) AND step IN (SELECT unnest(?::BIGINT[]))',
        [run_id, keys, steps],
    )
    return {(str(k), float(v), int(st), int(ts)) for k, v, st, ts in rows}


__all__ = ["full_history", "histories", "points_at_steps"]
