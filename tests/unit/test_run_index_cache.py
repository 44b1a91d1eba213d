"""When a search may use the in-memory run index, and how it is kept fresh.

The reader is a stand-in over an in-memory DuckDB laid out as the lake, whose
snapshot id the test moves by hand; the clock is the test's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest
from test_search_sql import add_run, make_lake

from runstream.errors import LakeError
from runstream.query.read.index_cache import RunIndexCache
from runstream.query.search.planner import plan_search


@dataclass
class Result:
    rows: list[tuple[Any, ...]]
    snapshot_id: int


@dataclass
class ArrowResult:
    table: Any
    snapshot_id: int


class Reader:
    """A lake reader over DuckDB whose snapshot id only moves when the test says so."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.snapshot = 1
        self.reads = 0
        self.fail: Exception | None = None

    def transaction(self) -> Reader:
        if self.fail is not None:
            raise self.fail
        return self

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def query(self, sql: str, params: Sequence[object] = ()) -> Result:
        return Result(self.con.execute(sql, list(params)).fetchall(), self.snapshot)

    def query_arrow(self, sql: str, params: Sequence[object] = ()) -> ArrowResult:
        self.reads += 1
        return ArrowResult(self.con.execute(sql, list(params)).to_arrow_table(), self.snapshot)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def reader() -> Reader:
    return Reader(make_lake())


def cache_of(reader: Reader, clock: Clock, **kw: Any) -> RunIndexCache:
    return RunIndexCache(lambda: reader, max_age_s=2.0, clock=clock, **kw)  # type: ignore[arg-type,return-value]


def ids(cache: RunIndexCache) -> list[str] | None:
    index = cache.get()
    page = None if index is None else index.search(plan_search(["0"], max_results=3))
    return None if page is None else page.items


def test_the_first_search_uses_sql_and_starts_a_build(reader: Reader) -> None:
    clock = Clock()
    cache = cache_of(reader, clock)
    assert cache.get() is None
    cache.wait_idle(10)
    assert ids(cache) == ["r11", "r10", "r09"]
    assert cache.stats().runs == 12 and cache.stats().builds == 1


def test_an_unchanged_lake_is_confirmed_without_rebuilding(reader: Reader) -> None:
    clock = Clock()
    cache = cache_of(reader, clock)
    cache.get()
    cache.wait_idle(10)
    reads = reader.reads
    clock.now += 1.5  # past half the age: still served, and a check starts
    assert cache.get() is not None
    cache.wait_idle(10)
    clock.now += 1.5  # 3 s after the build, but confirmed current 1.5 s ago
    assert cache.get() is not None
    cache.wait_idle(10)
    assert reader.reads == reads and cache.stats().builds == 1


def test_new_runs_are_seen_within_the_maximum_age(reader: Reader) -> None:
    clock = Clock()
    cache = cache_of(reader, clock)
    cache.get()
    cache.wait_idle(10)
    add_run(reader.con, "r99", "0", "new", "zed", "RUNNING", 9999, None, "active")
    reader.snapshot = 2
    assert ids(cache) == ["r11", "r10", "r09"]  # within max age: the older snapshot
    clock.now += 2.5  # too old now: a rebuild starts
    cache.get()
    cache.wait_idle(10)
    assert ids(cache) == ["r99", "r11", "r10"]
    index = cache.get()
    assert index is not None and index.snapshot_id == 2


def test_the_old_index_serves_while_a_refresh_runs_then_sql_past_the_grace(
    reader: Reader,
) -> None:
    clock = Clock()
    cache = cache_of(reader, clock)
    cache.get()
    cache.wait_idle(10)
    old = cache.get()
    reader.snapshot = 2
    release = threading.Event()
    slow_query_arrow = reader.query_arrow

    def blocked(sql: str, params: Sequence[object] = ()) -> ArrowResult:
        release.wait(10)
        return slow_query_arrow(sql, params)

    reader.query_arrow = blocked  # type: ignore[method-assign]
    clock.now += 5.0  # past the maximum age: a refresh starts and blocks
    assert cache.get() is old
    clock.now += 6.0  # 11 s old: within max age + grace while the refresh runs
    assert cache.get() is old
    clock.now += 2.0  # 13 s old: past the grace, SQL
    assert cache.get() is None
    release.set()
    cache.wait_idle(10)
    index = cache.get()
    assert index is not None and index.snapshot_id == 2


def test_without_a_running_refresh_a_stale_index_is_not_served(reader: Reader) -> None:
    clock = Clock()
    cache = cache_of(reader, clock)
    cache.get()
    cache.wait_idle(10)
    reader.fail = LakeError("down")
    clock.now += 2.5
    cache.get()  # the refresh fails at once
    cache.wait_idle(10)
    assert cache.get() is None


def test_a_lake_with_too_many_runs_is_not_indexed(reader: Reader) -> None:
    clock = Clock()
    cache = cache_of(reader, clock, max_runs=5)
    cache.get()
    cache.wait_idle(10)
    assert cache.get() is None
    cache.wait_idle(10)
    assert cache.stats().builds == 0 and reader.reads == 0


def test_a_failing_lake_is_logged_and_retried_later(
    reader: Reader, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    cache = cache_of(reader, clock)
    reader.fail = LakeError("the lake is not there yet")
    with caplog.at_level(logging.WARNING, logger="runstream.query.index"):
        assert cache.get() is None
        cache.wait_idle(10)
    assert "the lake is not there yet" in caplog.text
    reader.fail = None
    clock.now += 1.0  # too soon to retry
    assert cache.get() is None
    cache.wait_idle(10)
    assert cache.stats().builds == 0
    clock.now += 5.0
    cache.get()
    cache.wait_idle(10)
    assert cache.stats().builds == 1
