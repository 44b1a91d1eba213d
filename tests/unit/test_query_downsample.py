"""Downsampling: the lake's SQL agrees with the Python reference, and keeps what charts need."""

from __future__ import annotations

import math
import random

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runstream.query.read.downsample import (
    HistoryRequest,
    XAxis,
    downsample_reference,
    finish_series,
    parse_stats,
    points_sql,
    stats_sql,
)

Point = tuple[int, int, float]


def run_sql(
    req: HistoryRequest, rows: list[tuple[str, str, int, int, float]]
) -> dict[tuple[str, str], list[Point]]:
    """Run the two statements on an in-memory ``metrics`` table, as the reader does."""
    con = duckdb.connect()
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    table = pa.table(
        {
            "run_id": pa.array(cols[0], pa.string()),
            "key": pa.array(cols[1], pa.string()),
            "step": pa.array(cols[2], pa.int64()),
            "timestamp": pa.array(cols[3], pa.int64()),
            "value": pa.array(cols[4], pa.float64()),
        }
    )
    con.register("source", table)
    con.execute("CREATE TABLE metrics AS SELECT * FROM source")
    stats = parse_stats(con.execute(*stats_sql(req)).fetchall())
    picked: dict[tuple[str, str], list[Point]] = {}
    if stats:
        sql, params = points_sql(req, stats)
        for run_id, key, p1, p2 in con.execute(sql, params).fetchall():
            for p in (p1, p2):
                if p is not None:
                    picked.setdefault((run_id, key), []).append((p["s"], p["t"], p["v"]))
    return {
        (s.run_id, s.key): finish_series(req, s, picked.get((s.run_id, s.key), [])) for s in stats
    }


def same(a: list[Point], b: list[Point]) -> bool:
    return len(a) == len(b) and all(
        x[:2] == y[:2] and (x[2] == y[2] or (math.isnan(x[2]) and math.isnan(y[2])))
        for x, y in zip(a, b, strict=True)
    )


def test_short_series_come_back_whole() -> None:
    points = [(s, 1000 + s, float(s)) for s in range(50)]
    assert downsample_reference(points, 100) == points
    got = run_sql(HistoryRequest(("r",), ("k",), 100), [("r", "k", *p) for p in points])
    assert got[("r", "k")] == points


def test_long_series_keep_first_last_and_spikes() -> None:
    rng = random.Random(7)
    points = [(s, s * 10, rng.random()) for s in range(100_000)]
    points[31_337] = (31_337, 313_370, 1e9)
    points[77_000] = (77_000, 770_000, -1e9)
    out = downsample_reference(points, 1000)
    assert len(out) <= 1000
    assert out[0] == points[0] and out[-1] == points[-1]
    assert points[31_337] in out and points[77_000] in out
    assert [p[0] for p in out] == sorted(p[0] for p in out)


@pytest.mark.parametrize("axis", [XAxis.STEP, XAxis.TIME])
def test_sql_matches_the_reference(axis: XAxis) -> None:
    rng = random.Random(11)
    rows = []
    series = {}
    for run in ("a", "b"):
        for key, n in (("loss", 5000), ("acc", 40)):
            pts = [(s * 3, 10_000 + s * 7, rng.uniform(-1, 1)) for s in range(n)]
            series[(run, key)] = pts
            rows += [(run, key, *p) for p in pts]
    req = HistoryRequest(("a", "b"), ("loss", "acc"), 200, axis)
    got = run_sql(req, rows)
    for k, pts in series.items():
        assert same(got[k], downsample_reference(pts, 200, axis)), k


def test_many_long_series_share_one_scan_and_match_the_reference() -> None:
    rng = random.Random(3)
    rows, series = [], {}
    for run in "abcdef":
        pts = [(s, 5_000 + s * 3, rng.uniform(-5, 5)) for s in range(2_000 + ord(run))]
        series[(run, "loss")] = pts
        rows += [(run, "loss", *p) for p in pts]
    rows += [
        ("a", "huge", s, s, float(i)) for i, s in enumerate([-(2**62), 0, 2**62, 2**63 - 1] * 30)
    ]
    series[("a", "huge")] = [r[2:] for r in rows if r[1] == "huge"]
    req = HistoryRequest(tuple("abcdef"), ("loss", "huge"), 50)
    got = run_sql(req, rows)
    for k, pts in series.items():
        assert same(got[k], downsample_reference(pts, 50)), k


def test_step_range_zooms_before_bucketing() -> None:
    rows = [("r", "k", s, s, float(s % 17)) for s in range(10_000)]
    req = HistoryRequest(("r",), ("k",), 50, XAxis.STEP, min_step=2000, max_step=2999)
    (pts,) = run_sql(req, rows).values()
    assert pts[0][0] == 2000 and pts[-1][0] == 2999 and len(pts) <= 50


def test_huge_step_ranges_do_not_overflow() -> None:
    rows = [
        ("r", "k", s, s, float(i)) for i, s in enumerate([-(2**62), -5, 0, 7, 2**62, 2**63 - 1])
    ]
    req = HistoryRequest(("r",), ("k",), 4)
    got = run_sql(req, rows)[("r", "k")]
    assert same(got, downsample_reference([r[2:] for r in rows], 4))


def test_nan_is_the_high_of_its_bucket() -> None:
    pts = [(s, s, 0.5) for s in range(100)]
    pts[40] = (40, 40, math.nan)
    out = downsample_reference(pts, 10)
    assert any(math.isnan(p[2]) for p in out)
    assert same(
        run_sql(HistoryRequest(("r",), ("k",), 10), [("r", "k", *p) for p in pts])[("r", "k")], out
    )


def test_runs_or_keys_without_points_have_no_series() -> None:
    assert run_sql(HistoryRequest(("r", "q"), ("k",), 10), [("r", "k", 1, 1, 1.0)]).keys() == {
        ("r", "k")
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1000, 1000), st.integers(0, 10**6), st.floats(-1e6, 1e6)),
        min_size=1,
        max_size=300,
        unique_by=lambda p: p[0],
    ),
    st.integers(4, 60),
)
def test_any_series_sql_equals_reference(points: list[Point], max_points: int) -> None:
    # Unique steps and values keep ties (broken arbitrarily by the database) out.
    values = {p[2] for p in points}
    if len(values) < len(points):
        return
    got = run_sql(HistoryRequest(("r",), ("k",), max_points), [("r", "k", *p) for p in points])
    want = downsample_reference(points, max_points)
    assert same(got[("r", "k")], want)
    assert len(want) <= max_points
