"""Lake maintenance with DuckLake's own functions: flush, compact, expire, clean up.

Small commits are the materializer's normal life: every batch is a snapshot, small
inserts are inlined in the catalog, larger ones become small Parquet files, and
upserts leave delete files. :func:`compact` turns that back into few large,
sorted files (``metrics`` stays clustered by run, key and step) and forgets
snapshots older than the retention, then deletes the files nobody can read any more.

Maintenance runs beside the writer, on a connection of its own (measured: on the
writer's connection, under its batch lock, a pass paused ingestion for up to 32 s).
Its steps therefore meet the writer's commits:

1. The work is a list of small steps (per table: flush inlined rows, rewrite files
   full of deletes, merge adjacent files; then expire snapshots and clean up), each
   one DuckLake transaction, so a conflict costs one step, never the writer's batch
   (every step only rewrites data: the rows a reader sees stay the same).
2. A step that meets the writer (SQLite's lock, a DuckLake commit conflict) is
   retried with a growing pause, then skipped: the next pass does it. A step that
   fails otherwise is skipped at once and logged (seen: DuckLake's rewrite of a
   table with inlined deletes failing on ``isnan(VARCHAR)``); the pass goes on.
3. A pass stops starting steps once its budget is spent (after one step at least)
   and says where the next pass goes on (``next_step``), so every table is reached
   however short the budget.
4. ``stop`` (a ``threading.Event``) is looked at between steps; the caller may
   also :meth:`Lake.interrupt` the running step.
5. ``guard``, when given, is held around each step: the materializer passes its
   batch lock, so a step and a batch transaction never overlap in one process
   (measured under heavy load without it: the writer's commits lost to maintenance
   up to five times in a row) while batches still commit between steps.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb

from runstream.config import Settings
from runstream.errors import LakeError
from runstream.lake.connection import CATALOG, Lake, open_lake
from runstream.lake.tables import TABLES

log = logging.getLogger("runstream.lake")

# Time travel further back than this is given up for fewer files.
SNAPSHOT_RETENTION_S = 3600
COMPACTION_MEMORY_LIMIT = "512MB"
# Files merged per table per pass; more passes merge more (keeps each sort bounded).
MAX_FILES_PER_MERGE = 8
# Merged files stop growing here: bigger ones buy little pruning and cost memory to write.
MAX_FILE_BYTES = 64 * 1024 * 1024
# Errors of a step that met the writer: worth a retry (step 2).
_TRANSIENT = ("database is locked", "conflict", "Conflict")
STEP_ATTEMPTS = 5
_FIRST_PAUSE_S = 0.2


@dataclass(frozen=True)
class Step:
    """One maintenance step: a name for the report and one SQL call."""

    name: str
    sql: str


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass did.

    Attributes:
        files_before: live data files before the pass.
        files_after: live data files after it.
        snapshots_expired: snapshots removed.
        seconds: how long it took.
        steps_done: steps that ran.
        skipped: names of the steps given up after their retries (step 2).
        next_step: index of the step the next pass starts at (0: this pass finished
            the list).
    """

    files_before: int
    files_after: int
    snapshots_expired: int
    seconds: float
    steps_done: int = 0
    skipped: tuple[str, ...] = field(default=())
    next_step: int = 0


def count_data_files(lake: Lake) -> int:
    """Number of live Parquet data files of every lake table."""
    row = lake.con.execute(
        f"SELECT coalesce(sum(file_count), 0) FROM {CATALOG}.table_info()"
    ).fetchone()
    return int(row[0]) if row else 0


def maintenance_steps(retention_s: float = SNAPSHOT_RETENTION_S) -> list[Step]:
    """Every step of a full pass, in order (step 1)."""
    steps: list[Step] = []
    # Table by table: a call over the whole lake held every table's buffers at once
    # and ran out of memory where table by table fits.
    for table in TABLES:
        t = table.name
        lake_table = f"'{CATALOG}', '{t}'"
        steps += [
            Step(f"flush {t}",
                 f"CALL ducklake_flush_inlined_data('{CATALOG}', table_name => '{t}')"),
            Step(f"rewrite {t}",
                 f"CALL ducklake_rewrite_data_files({lake_table}, delete_threshold => 0.2)"),
            Step(f"merge {t}",
                 f"CALL ducklake_merge_adjacent_files({lake_table}, max_compacted_files => "
                 f"{MAX_FILES_PER_MERGE}, max_file_size => {MAX_FILE_BYTES})"),
        ]
    older = f"now() - INTERVAL {int(retention_s)} SECOND"
    steps += [
        Step("expire", f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => {older})"),
        Step("cleanup", f"CALL ducklake_cleanup_old_files('{CATALOG}', older_than => {older})"),
    ]
    return steps


def _run_step(con: duckdb.DuckDBPyConnection, step: Step, stop: threading.Event | None) -> int:
    """Run one step with the retries of contract step 2; rows it returned, -1 if skipped."""
    pause = _FIRST_PAUSE_S
    for attempt in range(STEP_ATTEMPTS):
        try:
            return len(con.execute(step.sql).fetchall())
        except duckdb.InterruptException as exc:
            raise LakeError(f"lake maintenance interrupted during {step.name}") from exc
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if not any(m in str(exc) for m in _TRANSIENT):
                log.warning("maintenance step %s skipped: %s", step.name, str(exc)[:300])
                return -1
            if attempt + 1 == STEP_ATTEMPTS or (stop is not None and stop.is_set()):
                return -1
        time.sleep(pause)
        pause *= 2
    return -1


def compact(
    lake: Lake,
    *,
    retention_s: float = SNAPSHOT_RETENTION_S,
    budget_s: float | None = None,
    start_at: int = 0,
    memory_limit: str = COMPACTION_MEMORY_LIMIT,
    stop: threading.Event | None = None,
    guard: Callable[[], AbstractContextManager[object]] | None = None,
) -> MaintenanceReport:
    """Run the maintenance steps from ``start_at`` until done, out of budget or stopped.

    Keeps the contract in this module's docstring.

    Args:
        lake: a read-write lake (its own connection when a writer runs beside it).
        retention_s: snapshots older than this are expired and their files removed.
        budget_s: no step starts after this many seconds (None: no limit).
        start_at: index of the first step (the previous report's ``next_step``).
        memory_limit: DuckDB ``memory_limit`` while the pass runs (merges spill past it).
        stop: set it to stop between steps.
        guard: a context manager held around each step (contract step 5).

    Raises:
        LakeError: a step was interrupted, or the lake could not be read at all
            (the lake stays consistent; retry later).
    """
    started = time.monotonic()
    con = lake.con
    steps = maintenance_steps(retention_s)
    position = start_at if 0 <= start_at < len(steps) else 0
    done = expired = 0
    skipped: list[str] = []
    try:
        before = count_data_files(lake)
        row = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
        assert row is not None
        limit, threads = str(row[0]), int(row[1])
        # Merging sorts whole files: one thread and its own budget (spilling to the
        # temp directory beyond it) keep it inside the process's memory target.
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET threads = 1")
        try:
            while position < len(steps):
                if stop is not None and stop.is_set():
                    break
                ran = done + len(skipped)
                if ran and budget_s is not None and time.monotonic() - started > budget_s:
                    break  # at least one step a pass, however small the budget
                step = steps[position]
                with guard() if guard is not None else contextlib.nullcontext():
                    rows = _run_step(con, step, stop)
                if rows < 0:
                    skipped.append(step.name)
                else:
                    done += 1
                    expired += rows if step.name == "expire" else 0
                position += 1
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"SET memory_limit = '{limit}'")
                con.execute(f"SET threads = {threads}")
        after = count_data_files(lake)
    except duckdb.Error as exc:
        raise LakeError(f"lake maintenance failed: {exc}") from exc
    return MaintenanceReport(
        before, after, expired, time.monotonic() - started, done, tuple(skipped),
        position if position < len(steps) else 0,
    )


def compact_lake(settings: Settings) -> MaintenanceReport:
    """Open the lake read-write and run one full :func:`compact` pass (``runstream compact``)."""
    with open_lake(settings, read_only=False) as lake:
        return compact(lake)


__all__ = [
    "SNAPSHOT_RETENTION_S",
    "MaintenanceReport",
    "Step",
    "compact",
    "compact_lake",
    "count_data_files",
    "maintenance_steps",
]
