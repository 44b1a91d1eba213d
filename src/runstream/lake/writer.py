"""The materializer's side of the lake: state reads and one transaction per batch.

A batch goes through :class:`LakeWriter` as ``begin`` -> ``stored_positions`` ->
``load_state`` -> (the pure reducer runs) -> ``write_batch`` -> ``commit``; every
read and write between ``begin`` and ``commit`` is one DuckLake transaction, so
the rows, the raw events and the consumer offsets become visible together or not
at all. Rows travel as Arrow tables, never row by row.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from runstream.core.metrics import latest_order_sql
from runstream.core.projection import BatchResult, Rejection, StateKeys
from runstream.core.rows import (
    ExperimentRow,
    LoggedModelRow,
    MetricBlock,
    ModelRow,
    RunRow,
    VersionRow,
)
from runstream.core.stored_ids import NO_EVENT_ID, StoredPosition
from runstream.core.working import (
    PURGED_ON_MODEL_DELETE,
    RENAMED_WITH_MODEL,
    ModelMove,
    StateView,
)
from runstream.errors import LakeConflictError, LakeError
from runstream.events.records import TopicPartition
from runstream.lake.connection import CATALOG, INLINING_ROW_LIMIT, INLINING_SETTING, Lake
from runstream.lake.tables import TABLES_BY_NAME, Table, quote_ident

_ARROW: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}
# Params are immutable, so the reducer only ever emits new keys: no delete needed.
_INSERT_ONLY = frozenset({"params"})
# Raw events are inlined in the catalog only for a few small ones: inlined payloads are
# written to the catalog database at every commit, and megabytes there (a few events of
# thousands of points) held its write lock long enough to stall readers for a second.
EVENTS_INLINE_ROWS = 10
EVENTS_INLINE_BYTES = 64 * 1024
# Commit errors that mean another writer got there first (SQLite's catalog lock: a
# stale read snapshot cannot be upgraded, whatever the busy timeout; DuckLake's own
# conflict check).
_CONFLICTS = ("database is locked", "onflict")
# rejected_events keeps enough of a bad payload to diagnose it; the DLQ has it all.
REJECTED_PAYLOAD_CHARS = 65_536
# The ``metrics`` columns after ``run_id``, as ``metric_columns`` builds them.
_POINTS_SCHEMA = pa.schema(
    [(name, _ARROW[typ]) for name, typ in TABLES_BY_NAME["metrics"].columns[1:]]
)


def arrow_table(table: Table, rows: Sequence[Sequence[Any]]) -> pa.Table:
    """Build an Arrow table with the lake schema of ``table`` from row tuples."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in table.columns]
    return pa.table(
        {
            name: pa.array(col, type=_ARROW[typ])
            for (name, typ), col in zip(table.columns, columns, strict=True)
        }
    )


def _select(table: str) -> str:
    cols = ", ".join(quote_ident(c) for c in TABLES_BY_NAME[table].column_names)
    return f"SELECT {cols} FROM {CATALOG}.{table}"


@dataclass(frozen=True)
class StatusRow:
    """One row of ``materializer_status``."""

    member_id: str
    updated_at: int
    events_per_s: float
    rows_per_s: float
    last_commit_ms: float
    rejected_total: int
    lag_json: str


def _status(s: StatusRow) -> tuple[Any, ...]:
    return (s.member_id, s.updated_at, s.events_per_s, s.rows_per_s, s.last_commit_ms,
            s.rejected_total, s.lag_json)


def metric_columns(
    keys: Sequence[str], values: Sequence[float], steps: Sequence[int], timestamps: Sequence[int]
) -> pa.RecordBatch | None:
    """The points of one ``run.metrics`` event as the ``metrics`` columns after ``run_id``.

    The materializer calls this while decoding (the stage that overlaps the previous
    batch's write), so the writer only concatenates. None if a value does not fit
    its column type; the writer then converts the event's sequences itself.
    """
    try:
        return pa.RecordBatch.from_arrays(
            [
                pa.array(keys, pa.string()),
                pa.array(values, pa.float64()),
                pa.array(steps, pa.int64()),
                pa.array(timestamps, pa.int64()),
            ],
            schema=_POINTS_SCHEMA,
        )
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None


def _points_from_columns(blocks: Sequence[MetricBlock]) -> pa.Table:
    """The ``metrics`` rows of ``blocks`` (in that order) from their prebuilt columns.

    ``run_id`` is dictionary-encoded (one small index per point instead of a copy of
    the id): DuckDB reads it as VARCHAR.
    """
    names: list[str] = []
    codes: list[pa.Array] = []
    for b in blocks:  # sorted by run: equal run ids are adjacent
        if not names or names[-1] != b.run_id:
            names.append(b.run_id)
        codes.append(pa.repeat(pa.scalar(len(names) - 1, pa.int32()), len(b)))
    run_ids = pa.DictionaryArray.from_arrays(
        pa.concat_arrays(codes), pa.array(names, pa.string())
    )
    points = pa.Table.from_batches([b.columns for b in blocks], _POINTS_SCHEMA)
    return points.combine_chunks().add_column(0, "run_id", run_ids)


def _points_from_lists(blocks: Sequence[MetricBlock]) -> pa.Table:
    """The ``metrics`` rows of ``blocks`` (in that order) from their Python sequences."""
    run_ids: list[str] = []
    keys: list[str] = []
    values: list[float] = []
    steps: list[int] = []
    stamps: list[int] = []
    for b in blocks:
        run_ids.extend([b.run_id] * len(b.keys))
        keys.extend(b.keys)
        values.extend(b.values)
        steps.extend(b.steps)
        stamps.extend(b.timestamps)
    return pa.table(
        {
            "run_id": pa.array(run_ids, pa.string()),
            "key": pa.array(keys, pa.string()),
            "value": pa.array(values, pa.float64()),
            "step": pa.array(steps, pa.int64()),
            "timestamp": pa.array(stamps, pa.int64()),
        }
    )


class LakeWriter:
    """Reads state and writes batches through one read-write :class:`Lake`."""

    def __init__(self, lake: Lake) -> None:
        # Arrow's allocator otherwise keeps freed batch buffers for seconds; returned at
        # once they stop adding up across batches in the materializer's RSS.
        with contextlib.suppress(NotImplementedError, AttributeError):
            pa.jemalloc_set_decay_ms(0)
        self._lake = lake
        self._con = lake.con
        self._seq = 0

    @property
    def lake(self) -> Lake:
        """The lake this writer writes to."""
        return self._lake

    def replace_lake(self, lake: Lake) -> Lake:
        """Write through ``lake`` from now on (a fresh attach); return the old one to close.

        Only between batches: a transaction open on the old lake is lost.
        """
        old, self._lake, self._con = self._lake, lake, lake.con
        return old

    # -- outside a batch ---------------------------------------------------------------

    def write_status(self, status: StatusRow) -> None:
        """Upsert one ``materializer_status`` row in its own transaction (idle members)."""
        self.begin()
        try:
            table = TABLES_BY_NAME["materializer_status"]
            self._upsert(table, {(status.member_id,): _status(status)})
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def stored_positions(self) -> dict[TopicPartition, StoredPosition]:
        """Return every row of ``consumer_offsets``."""
        try:
            rows = self._con.execute(
                f"SELECT topic, {quote_ident('partition')}, next_offset, max_event_id "
                f"FROM {CATALOG}.consumer_offsets"
            ).fetchall()
        except duckdb.Error as exc:
            raise LakeError(f"cannot read consumer offsets: {exc}") from exc
        return {(t, p): StoredPosition(int(o), m) for t, p, o, m in rows}

    def stored_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Return the next offset stored in the lake for each partition that has one."""
        wanted = set(partitions)
        return {tp: p.next_offset for tp, p in self.stored_positions().items() if tp in wanted}

    def max_event_id(self, tp: TopicPartition) -> str:
        """The largest event id ``events`` holds from ``tp``, by scanning it.

        Only for lakes whose ``consumer_offsets`` predate ``max_event_id``: once per
        partition, after which every batch stores it.
        """
        rows = self._rows(
            f"SELECT max(event_id) FROM {CATALOG}.events "
            f"WHERE topic = ? AND {quote_ident('partition')} = ?",
            list(tp),
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else NO_EVENT_ID

    # -- one batch -------------------------------------------------------------------------

    def begin(self) -> None:
        """Open the batch's transaction."""
        self._exec("BEGIN TRANSACTION")

    def rollback(self) -> None:
        """Abandon the batch's transaction (safe when none is open)."""
        try:
            self._con.execute("ROLLBACK")
        except duckdb.Error:
            return  # nothing was open, or the connection already rolled back

    def commit(self) -> None:
        """Commit the batch: rows, events and offsets become visible together.

        Raises:
            LakeConflictError: another writer (lake maintenance, another member)
                committed first; nothing of the batch is visible, a retry may pass.
            LakeError: the commit failed (the catalog or the object store is
                unavailable); nothing of the batch is visible.
        """
        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            text = str(exc)
            if any(m in text for m in _CONFLICTS):
                raise LakeConflictError(f"lake commit lost to another writer: {exc}") from exc
            raise LakeError(f"lake write failed: {exc}") from exc

    def load_state(self, keys: StateKeys) -> StateView:
        """Read the rows the reducer needs for a batch (see ``core.projection.state_keys``)."""
        state = StateView()
        if keys.experiment_ids or keys.experiment_names:
            with (
                self._values(keys.experiment_ids) as ids,
                self._values(keys.experiment_names) as names,
            ):
                for row in self._rows(
                    f"{_select('experiments')} WHERE experiment_id IN (SELECT v FROM {ids}) "
                    f"OR name IN (SELECT v FROM {names})"
                ):
                    state.experiments[row[0]] = ExperimentRow(*row)
        if keys.run_ids:
            with self._values(keys.run_ids) as ids:
                for row in self._rows(f"{_select('runs')} WHERE run_id IN (SELECT v FROM {ids})"):
                    state.runs[row[0]] = RunRow(*row)
        if keys.param_run_ids:
            with self._values(keys.param_run_ids) as ids:
                for run_id, key, value in self._rows(
                    f"{_select('params')} WHERE run_id IN (SELECT v FROM {ids})"
                ):
                    state.params[(run_id, key)] = value
        if keys.model_names:
            with self._values(keys.model_names) as names:
                where = f" WHERE name IN (SELECT v FROM {names})"
                for row in self._rows(_select("registered_models") + where):
                    state.models[row[0]] = ModelRow(*row)
                for row in self._rows(_select("model_versions") + where):
                    state.versions[(row[0], row[1])] = VersionRow(*row)
                for name, alias, version in self._rows(_select("registered_model_aliases") + where):
                    state.aliases[(name, alias)] = version
        if keys.logged_model_ids:
            with self._values(keys.logged_model_ids) as ids:
                for row in self._rows(
                    f"{_select('mlflow_logged_models')} WHERE model_id IN (SELECT v FROM {ids})"
                ):
                    state.logged_models[row[0]] = LoggedModelRow(*row)
        if keys.event_ids:
            # Ids are time-ordered and files hold contiguous batches, so the range
            # predicate lets DuckLake skip every older file by its min/max stats.
            with self._values(keys.event_ids) as ids:
                state.seen_event_ids = {
                    r[0]
                    for r in self._rows(
                        f"SELECT event_id FROM {CATALOG}.events WHERE event_id >= ? "
                        f"AND event_id IN (SELECT v FROM {ids})",
                        [min(keys.event_ids)],
                    )
                }
        return state

    def write_batch(
        self,
        result: BatchResult,
        positions: Mapping[TopicPartition, StoredPosition],
        *,
        now_ms: int,
        status: StatusRow | None = None,
    ) -> int:
        """Write everything a reduced batch changes, inside the open transaction.

        Args:
            result: the reducer's output.
            positions: per partition, the offset after the last message of the batch
                and the largest event id stored from the partition.
            now_ms: wall-clock time, for ``rejected_events.rejected_at``.
            status: a ``materializer_status`` row to upsert with the batch, if due.

        Returns:
            Number of rows written (metric points included, raw events excluded).
        """
        written = 0
        self._move_models(result.model_moves)
        for table, changes in result.upserts.items():
            written += self._upsert(TABLES_BY_NAME[table], changes)
        for table, rows in result.appends.items():
            written += self._insert(TABLES_BY_NAME[table], rows)
        written += self._write_metrics(result)
        self._archive(result)
        self._reject(result.rejections, now_ms)
        offsets = {
            (t, p): (t, p, pos.next_offset, pos.max_event_id) for (t, p), pos in positions.items()
        }
        self._upsert(TABLES_BY_NAME["consumer_offsets"], offsets)
        if status is not None:
            status_table = TABLES_BY_NAME["materializer_status"]
            self._upsert(status_table, {(status.member_id,): _status(status)})
        return written

    # -- helpers -----------------------------------------------------------------------------

    def _move_models(self, moves: Sequence[ModelMove]) -> None:
        """Purge and rename models' registry rows in log order (before any upsert).

        Consecutive purges go in one statement per table; a rename is one per table.
        """
        for is_purge, group in itertools.groupby(moves, key=lambda m: m.new_name is None):
            if is_purge:
                with self._values({m.name for m in group}) as view:
                    for table in PURGED_ON_MODEL_DELETE:
                        self._exec(
                            f"DELETE FROM {CATALOG}.{table} WHERE name IN (SELECT v FROM {view})"
                        )
                continue
            for move in group:
                for table in RENAMED_WITH_MODEL:
                    self._exec(
                        f"UPDATE {CATALOG}.{table} SET name = ? WHERE name = ?",
                        [move.new_name, move.name],
                    )

    def _exec(self, sql: str, params: Sequence[Any] | None = None) -> None:
        try:
            self._con.execute(sql, params)
        except duckdb.Error as exc:
            raise LakeError(f"lake write failed: {exc}") from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._con.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise LakeError(f"lake read failed: {exc}") from exc

    @contextmanager
    def _values(self, values: Iterable[str]) -> Iterator[str]:
        """A one-column view ``v`` of strings for ``IN (SELECT v FROM view)``.

        Why not a list parameter: DuckDB's Python binding tries to import pandas
        for every element of a list parameter, which costs milliseconds per batch.
        """
        view = self._view(pa.table({"v": pa.array(sorted(values), pa.string())}))
        try:
            yield view
        finally:
            self._con.unregister(view)

    def _view(self, data: pa.Table) -> str:
        self._seq += 1
        name = f"_rs_arrow_{self._seq}"
        self._con.register(name, data)
        return name

    def _insert(self, table: Table, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        view = self._view(arrow_table(table, rows))
        try:
            self._exec(f"INSERT INTO {CATALOG}.{table.name} SELECT * FROM {view}")
        finally:
            self._con.unregister(view)
        return len(rows)

    def _upsert(self, table: Table, changes: Mapping[Any, Sequence[Any] | None]) -> int:
        if not changes:
            return 0
        if table.name not in _INSERT_ONLY:
            key_cols = [c for c in table.columns if c[0] in table.key]
            keys = arrow_table(Table("keys", tuple(key_cols)), list(changes))
            view = self._view(keys)
            cols = ", ".join(quote_ident(c) for c in table.key)
            try:
                self._exec(
                    f"DELETE FROM {CATALOG}.{table.name} "
                    f"WHERE ({cols}) IN (SELECT {cols} FROM {view})"
                )
            finally:
                self._con.unregister(view)
        return self._insert(table, [row for row in changes.values() if row is not None])

    def _write_metrics(self, result: BatchResult) -> int:
        blocks = result.metric_blocks
        if not blocks:
            return 0
        # Grouped by run, so each file's row groups cover few runs (cheap clustering
        # until compaction sorts by run, key and step).
        ordered = sorted(blocks, key=lambda b: b.run_id)
        if all(b.columns is not None for b in ordered):
            points = _points_from_columns(ordered)
        else:
            points = _points_from_lists(ordered)
        view = self._view(points)
        try:
            with self._inlining(0 if points.num_rows > INLINING_ROW_LIMIT else None):
                self._exec(f"INSERT INTO {CATALOG}.metrics SELECT * FROM {view}")
            latest = self._merge_latest(view)
        finally:
            self._con.unregister(view)
        return int(points.num_rows) + latest

    @contextmanager
    def _inlining(self, limit: int | None) -> Iterator[None]:
        """Use another inlining row limit (None: the default) for the inserts inside.

        Metrics: 0 for an insert too large to be inlined anyway; with inlining on,
        DuckLake sorts every insert into a sorted table by its sort key, even with
        ``sort_on_insert`` off (measured: 160 instead of 60 ms for 348,000 points).
        Compaction still writes ``metrics`` sorted.
        Events: inlined only while the batch's payloads are small (see ``_archive``).
        """
        if limit is None:
            yield
            return
        self._exec(f"SET {INLINING_SETTING} = {int(limit)}")
        try:
            yield
        finally:
            self._exec(f"SET {INLINING_SETTING} = {INLINING_ROW_LIMIT}")

    def _merge_latest(self, view: str) -> int:
        """Fold the batch's points into ``latest_metrics`` (the core.metrics rule, in SQL).

        One MERGE statement, in three parts: the batch alone is summarized per
        (run, key) first (``batch``, materialized once), so the lake is read only for
        the few pairs of the batch; each summary is combined with the stored one; the
        result updates the stored row or inserts a new one.

        Returns:
            The number of ``latest_metrics`` rows written.
        """
        finite = "CASE WHEN isnan(value) THEN NULL ELSE value END"
        point = """{'value': value, 'step': step, 'ts': "timestamp"}"""
        best = f"arg_max({point}, {latest_order_sql()})"
        sql = f"""
            WITH batch AS MATERIALIZED (
                SELECT run_id, key, b.value AS value, b.step AS step, b.ts AS "timestamp",
                       lo AS min_value, hi AS max_value, n AS "count"
                FROM (SELECT run_id, key, {best} AS b, min({finite}) AS lo, max({finite}) AS hi,
                             count(*) AS n
                      FROM {view} GROUP BY run_id, key)
            ),
            merged AS (
                SELECT run_id, key, b.value AS value, b.step AS step, b.ts AS "timestamp",
                       lo AS min_value, hi AS max_value, n AS "count"
                FROM (
                    SELECT run_id, key, {best} AS b, min(min_value) AS lo,
                           max(max_value) AS hi, sum("count")::BIGINT AS n
                    FROM (
                        SELECT * FROM batch
                        UNION ALL
                        SELECT l.* FROM {CATALOG}.latest_metrics l
                        SEMI JOIN batch s ON l.run_id = s.run_id AND l.key = s.key
                    )
                    GROUP BY run_id, key
                )
            )
            MERGE INTO {CATALOG}.latest_metrics AS l USING merged AS m
            ON l.run_id = m.run_id AND l.key = m.key
            WHEN MATCHED THEN UPDATE SET value = m.value, step = m.step,
                "timestamp" = m."timestamp", min_value = m.min_value,
                max_value = m.max_value, "count" = m."count"
            WHEN NOT MATCHED THEN INSERT VALUES (m.run_id, m.key, m.value, m.step,
                m."timestamp", m.min_value, m.max_value, m."count")
        """
        try:
            row = self._con.execute(sql).fetchone()
        except duckdb.Error as exc:
            raise LakeError(f"lake write failed: {exc}") from exc
        return int(row[0]) if row else 0

    def _archive(self, result: BatchResult) -> None:
        accepted = result.accepted
        if not accepted:
            return
        table = TABLES_BY_NAME["events"]
        rows = [
            (
                d.event.event_id,
                d.event.type.value,
                d.topic,
                d.partition,
                d.offset,
                d.event.produced_at,
                d.event.experiment_id,
                d.event.run_id,
                d.event.model_name,
            )
            for d in accepted
        ]
        data = arrow_table(Table(table.name, table.columns[:-1]), rows)
        # The payload (most of a batch's bytes) goes to Arrow as bytes, its UTF-8
        # checked in C, rather than through one Python str per event (and without
        # a second copy through a binary array).
        payload = pa.array([d.payload for d in accepted], pa.string())
        data = data.append_column(table.columns[-1][0], payload)
        small = len(accepted) <= EVENTS_INLINE_ROWS and (
            sum(len(d.payload) for d in accepted) <= EVENTS_INLINE_BYTES
        )
        view = self._view(data)
        try:
            with self._inlining(EVENTS_INLINE_ROWS if small else 0):
                self._exec(f"INSERT INTO {CATALOG}.{table.name} SELECT * FROM {view}")
        finally:
            self._con.unregister(view)

    def _reject(self, rejections: Sequence[Rejection], now_ms: int) -> None:
        rows = [
            (
                r.event_id,
                r.topic,
                r.partition,
                r.offset,
                r.text,
                r.payload[: REJECTED_PAYLOAD_CHARS * 4].decode("utf-8", errors="replace")[
                    :REJECTED_PAYLOAD_CHARS
                ],
                now_ms,
            )
            for r in rejections
        ]
        self._insert(TABLES_BY_NAME["rejected_events"], rows)


__all__ = [
    "REJECTED_PAYLOAD_CHARS",
    "LakeWriter",
    "StatusRow",
    "arrow_table",
    "metric_columns",
]
