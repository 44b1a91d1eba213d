"""Lake maintenance with DuckLake's own functions: flush, compact, expire, clean up.

Small commits are the materializer's normal life: every batch is a snapshot, small
inserts are inlined in the catalog, larger ones become small Parquet files, and
upserts leave delete files. :func:`compact` turns that back into few large,
sorted files (``metrics`` stays clustered by run, key and step) and forgets
snapshots older than the retention, then deletes the files nobody can read any more.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import duckdb

from runstream.config import Settings
from runstream.errors import LakeError
from runstream.lake.connection import CATALOG, Lake, open_lake
from runstream.lake.tables import TABLES

# Time travel further back than this is given up for fewer files.
SNAPSHOT_RETENTION_S = 3600
COMPACTION_MEMORY_LIMIT = "512MB"
# Files merged per table per pass; more passes merge more (keeps each sort bounded).
MAX_FILES_PER_MERGE = 8
# Merged files stop growing here: bigger ones buy little pruning and cost memory to write.
MAX_FILE_BYTES = 64 * 1024 * 1024


def _settings(lake: Lake) -> tuple[str, int]:
    row = lake.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads')"
    ).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass did.

    Attributes:
        files_before: live data files before the pass.
        files_after: live data files after it.
        snapshots_expired: snapshots removed.
        seconds: how long it took.
    """

    files_before: int
    files_after: int
    snapshots_expired: int
    seconds: float


def count_data_files(lake: Lake) -> int:
    """Number of live Parquet data files of every lake table."""
    row = lake.con.execute(
        f"SELECT coalesce(sum(file_count), 0) FROM {CATALOG}.table_info()"
    ).fetchone()
    return int(row[0]) if row else 0


def compact(lake: Lake, *, retention_s: float = SNAPSHOT_RETENTION_S) -> MaintenanceReport:
    """Flush inlined rows, merge small files, rewrite files full of deletes, expire and clean.

    Args:
        lake: a read-write lake.
        retention_s: snapshots older than this are expired and their files removed.

    Raises:
        LakeError: a maintenance call failed (the lake stays consistent; retry later).
    """
    started = time.monotonic()
    con = lake.con
    older = f"now() - INTERVAL {int(retention_s)} SECOND"
    try:
        before = count_data_files(lake)
        limit, threads = _settings(lake)
        # Merging sorts whole files: one thread and a larger budget (spilling to the
        # temp directory beyond it) keep it inside the process's memory target.
        con.execute(f"SET memory_limit = '{COMPACTION_MEMORY_LIMIT}'")
        con.execute("SET threads = 1")
        con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
        # One table per call: a call over the whole lake held every table's buffers at
        # once and ran out of memory where table by table fits.
        for table in TABLES:
            con.execute(
                f"CALL ducklake_rewrite_data_files('{CATALOG}', '{table.name}', "
                "delete_threshold => 0.2)"
            )
            con.execute(
                f"CALL ducklake_merge_adjacent_files('{CATALOG}', '{table.name}', "
                f"max_compacted_files => {MAX_FILES_PER_MERGE}, max_file_size => {MAX_FILE_BYTES})"
            )
        expired = con.execute(
            f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => {older})"
        ).fetchall()
        con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG}', older_than => {older})")
        after = count_data_files(lake)
    except duckdb.Error as exc:
        raise LakeError(f"lake maintenance failed: {exc}") from exc
    finally:
        with contextlib.suppress(duckdb.Error, UnboundLocalError):
            con.execute(f"SET memory_limit = '{limit}'")
            con.execute(f"SET threads = {threads}")
    return MaintenanceReport(before, after, len(expired), time.monotonic() - started)


def compact_lake(settings: Settings) -> MaintenanceReport:
    """Open the lake read-write and run one :func:`compact` pass (``runstream compact``)."""
    with open_lake(settings, read_only=False) as lake:
        return compact(lake)


__all__ = [
    "SNAPSHOT_RETENTION_S",
    "MaintenanceReport",
    "compact",
    "compact_lake",
    "count_data_files",
]
