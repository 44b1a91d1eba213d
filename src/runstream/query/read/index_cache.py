"""Keep a :class:`~runstream.query.search.index.RunIndex` of the lake fresh, in the background.

Contract (what a search may see):

1. :meth:`RunIndexCache.get` returns an index only if the snapshot it holds was
   the lake's newest at most ``max_age_s`` ago, or, while a refresh is running, at
   most ``max_age_s + _REFRESH_GRACE_S`` ago (a rebuild takes a second or more on
   a large, busy lake); otherwise ``None`` and the caller searches the lake with
   SQL. A request never waits for an index to be built.
2. Once an index is half ``max_age_s`` old, ``get`` starts one background refresh
   (never two at once). The refresh first reads the lake's newest snapshot id: if
   nothing was committed since, the index is confirmed current at no cost;
   otherwise the four tables are read in one read transaction (one snapshot) and a
   new index replaces the old one. Under steady ingest and search traffic a fresh
   index is in place before the old one expires.
3. Nothing is read while nobody searches: refreshes start only from ``get``.
4. A lake with more than ``max_runs`` runs is not indexed (memory); searches then
   always use SQL, and the size is checked again after ``_RETRY_TOO_BIG_S``.
5. A failed refresh is logged and retried no sooner than ``_RETRY_FAILED_S``
   later; searches meanwhile use SQL (or the index while it is still fresh).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runstream.lake.reader import LakeReader
from runstream.query.records import RUN_COLUMNS
from runstream.query.search.index import KEYED_COLUMNS, RunIndex
from runstream.query.search.syntax import Kind

__all__ = ["DEFAULT_MAX_RUNS", "RUNS_SQL", "IndexStats", "RunIndexCache", "keyed_sql"]

log = logging.getLogger("runstream.query.index")

# About 1 KiB of memory per run with its params, tags and metric summaries.
DEFAULT_MAX_RUNS = 1_000_000
_RETRY_FAILED_S = 5.0
# While a refresh is running, searches keep reading the previous index this much
# past its maximum age rather than falling back to SQL (50x slower, and slower
# still when every request of a busy dashboard falls back at once).
_REFRESH_GRACE_S = 10.0
_RETRY_TOO_BIG_S = 300.0
_TABLE = {Kind.PARAM: "params", Kind.TAG: "tags", Kind.METRIC: "latest_metrics"}
RUNS_SQL = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs"
_COUNT_SQL = "SELECT count(*) FROM runs"


def keyed_sql(kind: Kind) -> str:
    """The statement reading one keyed table for :class:`RunIndex` (which groups it)."""
    columns = ", ".join(f'"{c}"' for c in ("run_id", *KEYED_COLUMNS[kind]))
    return f"SELECT {columns} FROM {_TABLE[kind]}"


@dataclass(frozen=True)
class IndexStats:
    """What ``/metrics`` shows about the index.

    Attributes:
        runs: runs in the current index (None: no index).
        snapshot_id: the snapshot it holds (None: no index).
        builds: indexes built so far.
        last_build_s: seconds the newest build took to read and build (None: none yet).
    """

    runs: int | None
    snapshot_id: int | None
    builds: int
    last_build_s: float | None


class RunIndexCache:
    """The newest run index of the lake, refreshed in the background (see the module doc).

    Args:
        reader: returns the started lake reader (may raise ``LakeError`` while the
            lake does not exist yet).
        max_age_s: how old the index's snapshot may be when a search uses it.
        max_runs: lakes with more runs are not indexed.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        reader: Callable[[], LakeReader],
        max_age_s: float,
        max_runs: int = DEFAULT_MAX_RUNS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._max_age_s = max_age_s
        self._max_runs = max_runs
        self._clock = clock
        self._lock = threading.Lock()
        self._index: RunIndex | None = None
        self._current_at = 0.0  # when the index's snapshot was last seen to be the newest
        self._refreshing: threading.Thread | None = None
        self._not_before = 0.0
        self._builds = 0
        self._last_build_s: float | None = None

    def get(self) -> RunIndex | None:
        """The index if it is fresh enough (rules 1 and 2); may start a refresh."""
        now = self._clock()
        with self._lock:
            index, age = self._index, now - self._current_at
        if index is None or age >= self._max_age_s / 2:
            self._start_refresh(now)
        if index is None:
            return None
        if age <= self._max_age_s:
            return index
        with self._lock:
            refreshing = self._refreshing is not None
        return index if refreshing and age <= self._max_age_s + _REFRESH_GRACE_S else None

    def stats(self) -> IndexStats:
        """Size, snapshot and build counts of the index."""
        with self._lock:
            index = self._index
            return IndexStats(
                None if index is None else index.run_count,
                None if index is None else index.snapshot_id,
                self._builds,
                self._last_build_s,
            )

    def wait_idle(self, timeout_s: float) -> None:
        """Wait until no refresh runs (tests and shutdown)."""
        with self._lock:
            thread = self._refreshing
        if thread is not None:
            thread.join(timeout_s)

    def _start_refresh(self, now: float) -> None:
        with self._lock:
            if self._refreshing is not None or now < self._not_before:
                return
            thread = threading.Thread(target=self._refresh, name="run-index", daemon=True)
            self._refreshing = thread
        thread.start()

    def _refresh(self) -> None:
        try:
            self._rebuild_if_changed()
        except Exception as exc:  # the lake may be down or not there yet: SQL serves meanwhile
            log.warning("run index refresh failed (searches use SQL meanwhile): %s", exc)
            with self._lock:
                self._not_before = self._clock() + _RETRY_FAILED_S
        finally:
            with self._lock:
                self._refreshing = None

    def _rebuild_if_changed(self) -> None:
        started = self._clock()
        with self._reader().transaction() as tx:  # type: ignore[attr-defined]
            count = tx.query(_COUNT_SQL)
            snapshot = int(count.snapshot_id)
            with self._lock:
                if self._index is not None and self._index.snapshot_id == snapshot:
                    self._current_at = started
                    return
            if int(count.rows[0][0]) > self._max_runs:
                log.info(
                    "the lake holds more than %d runs: searches use SQL, not the run index",
                    self._max_runs,
                )
                with self._lock:
                    self._index = None
                    self._not_before = self._clock() + _RETRY_TOO_BIG_S
                return
            runs = tx.query_arrow(RUNS_SQL).table
            keyed: dict[Kind, Any] = {k: tx.query_arrow(keyed_sql(k)).table for k in _TABLE}
        index = RunIndex(snapshot, runs, keyed)
        took = self._clock() - started
        with self._lock:
            self._index = index
            self._current_at = started
            self._builds += 1
            self._last_build_s = took
        log.debug("run index of snapshot %d: %d runs in %.2f s", snapshot, index.run_count, took)
