"""The lake's read port over DuckDB: :class:`DuckLakeReader` and its transactions.

Callers see :class:`runstream.lake.port.LakeReader` only (its contract is in that
module); they never import duckdb. Each read runs in a transaction on a pooled
cursor, so it sees one snapshot and returns that snapshot's id with the rows, and
it is interrupted when it runs past its time limit. DuckDB's errors become
Runstream's here (:func:`_translate`), and nowhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from runstream.config import Settings
from runstream.errors import LakeError, QueryTimeoutError, StatementError
from runstream.lake.connection import CATALOG, Lake, open_lake, stale_inlined_table
from runstream.lake.port import ArrowResult, QueryResult

# DuckDB's exceptions for statements it cannot parse, bind or is not allowed to
# run: the statement is wrong, the lake is fine.
_STATEMENT_ERRORS: tuple[type[duckdb.Error], ...] = (
    duckdb.ProgrammingError,
    duckdb.DataError,
    duckdb.PermissionException,
    duckdb.InvalidInputException,
    duckdb.NotImplementedException,
)


# Idle cursors kept per reader; each has ``USE lake`` done, so a read pays only for
# its own statements. More concurrent reads than this open (and then close) extras.
_POOL_SIZE = 16
# Tries of a read that meets the stale inlined-table error, each on a fresh attach: a
# read racing the flush that drops the table can meet it on the fresh attach too.
_STALE_ATTEMPTS = 3

class _Attach:
    """One attach of the lake, its idle cursors and how many are lent out."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.pool: list[duckdb.DuckDBPyConnection] = []
        self.lent = 0
        self.retired = False


class ReadTransaction:
    """Reads of one request in one transaction on one pooled cursor: one snapshot for all.

    The transaction and its snapshot id are opened by the first read, so DuckLake
    looks up the snapshot once and caches the catalog for every later statement.
    Obtain it from :meth:`DuckLakeReader.transaction`; :meth:`close` it (or use it as
    a context manager) to hand the cursor back.
    """

    def __init__(self, reader: DuckLakeReader) -> None:
        self._reader = reader
        self._attach: _Attach | None = None
        self._cur: duckdb.DuckDBPyConnection | None = None
        self._snapshot = 0
        self._closed = False

    @property
    def snapshot_id(self) -> int:
        """The snapshot every read of this transaction sees (0 before the first read)."""
        return self._snapshot

    def query(
        self,
        sql: str,
        params: Sequence[object] = (),
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run one read in this transaction (see :meth:`DuckLakeReader.query`)."""
        result = self._run(_fetch(sql, params, max_rows), timeout_s)
        return QueryResult(result.columns, result.rows, self._snapshot, result.truncated)

    def query_arrow(
        self, sql: str, params: Sequence[object] = (), *, timeout_s: float | None = None
    ) -> ArrowResult:
        """Run one read in this transaction and return an Arrow table."""
        return ArrowResult(self._run(_fetch_arrow(sql, params), timeout_s), self._snapshot)

    def _run(self, run: Any, timeout_s: float | None) -> Any:
        if self._closed:
            raise LakeError("read transaction used after close()")
        for attempt in range(_STALE_ATTEMPTS):
            try:
                return self._run_once(run, timeout_s)
            except LakeError as exc:
                if not stale_inlined_table(exc) or attempt == _STALE_ATTEMPTS - 1:
                    raise
                self._reader._reattach(self._attach, exc)
        raise AssertionError("unreachable")

    def _run_once(self, run: Any, timeout_s: float | None) -> Any:
        if self._cur is None:
            attach, cur = self._reader._acquire()
            try:
                snapshot = _begin(cur)
            except duckdb.Error as exc:
                self._reader._release(attach, cur, healthy=False)
                raise LakeError(f"lake query failed: {exc}") from exc
            self._attach, self._cur = attach, cur
            # After a failed statement the transaction starts again; it keeps the
            # first snapshot id (rule 3 of the port: never newer than what was read).
            self._snapshot = self._snapshot or snapshot
        try:
            return _timed(self._cur, run, timeout_s)
        except (LakeError, QueryTimeoutError):
            # A failed statement aborts the transaction: drop the cursor; the next
            # read (if any) starts a fresh transaction and keeps the first snapshot id.
            self._give_back(healthy=False)
            raise

    def _give_back(self, *, healthy: bool) -> None:
        cur, self._cur = self._cur, None
        if cur is not None and self._attach is not None:
            self._reader._release(self._attach, cur, healthy=healthy)

    def close(self) -> None:
        """End the transaction and return the cursor to the pool; safe to call twice."""
        self._closed = True
        if self._cur is None:
            return
        try:
            self._cur.execute("ROLLBACK")
        except duckdb.Error:
            self._give_back(healthy=False)
            return
        self._give_back(healthy=True)

    def __enter__(self) -> ReadTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fetch(sql: str, params: Sequence[object], max_rows: int | None) -> Any:
    def run(cur: duckdb.DuckDBPyConnection) -> QueryResult:
        cur.execute(sql, list(params))
        columns = [d[0] for d in cur.description or []]
        if max_rows is None:
            return QueryResult(columns, cur.fetchall(), 0)
        rows = cur.fetchmany(max_rows + 1)
        return QueryResult(columns, rows[:max_rows], 0, truncated=len(rows) > max_rows)

    return run


def _fetch_arrow(sql: str, params: Sequence[object]) -> Any:
    def run(cur: duckdb.DuckDBPyConnection) -> pa.Table:
        return cur.execute(sql, list(params)).to_arrow_table()

    return run


def _begin(cur: duckdb.DuckDBPyConnection) -> int:
    """Start a transaction on ``cur``; return the snapshot id it reads."""
    cur.execute("BEGIN TRANSACTION")
    row = cur.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchone()
    return int(row[0]) if row else 0


def _translate(exc: duckdb.Error) -> LakeError:
    """The Runstream error for a DuckDB error of a statement (rule 4 of the port)."""
    if isinstance(exc, _STATEMENT_ERRORS):
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return StatementError(f"lake query failed: {exc}", reason=reason)
    return LakeError(f"lake query failed: {exc}")


def _timed(cur: duckdb.DuckDBPyConnection, run: Any, timeout_s: float | None) -> Any:
    timer = threading.Timer(timeout_s, cur.interrupt) if timeout_s else None
    try:
        if timer is not None:
            timer.start()
        return run(cur)
    except duckdb.InterruptException as exc:
        raise QueryTimeoutError(f"query ran past its time limit of {timeout_s} s") from exc
    except duckdb.Error as exc:
        raise _translate(exc) from exc
    finally:
        if timer is not None:
            timer.cancel()


class DuckLakeReader:
    """The read port over a read-only DuckLake attach; safe to share between threads.

    Construct it, then :meth:`start` it (or use :func:`open_reader`); nothing is
    opened before ``start``. Cursors are pooled with ``USE lake`` already done.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._current: _Attach | None = None
        self._pool_lock = threading.Lock()
        self._reattach_lock = threading.Lock()
        self.reattached = 0

    def start(self) -> None:
        """Attach the lake read-only.

        Raises:
            LakeError: the lake does not exist yet or cannot be attached.
        """
        if self._current is None:
            self._current = _Attach(open_lake(self._settings, read_only=True))

    def close(self) -> None:
        """Detach; safe to call twice."""
        with self._pool_lock:
            attach, self._current = self._current, None
        if attach is not None:
            self._retire(attach)

    @property
    def _pool(self) -> list[duckdb.DuckDBPyConnection]:
        """The current attach's idle cursors (tests look at it)."""
        return self._current.pool if self._current is not None else []

    def _acquire(self) -> tuple[_Attach, duckdb.DuckDBPyConnection]:
        with self._pool_lock:
            attach = self._current
            if attach is None:
                raise LakeError("lake reader used before start()")
            attach.lent += 1
            if attach.pool:
                return attach, attach.pool.pop()
        try:
            cur = attach.lake.con.cursor()
            cur.execute(f"USE {CATALOG}")
        except duckdb.Error as exc:
            self._release(attach, None, healthy=False)
            raise LakeError(f"lake query failed: {exc}") from exc
        return attach, cur

    def _release(
        self, attach: _Attach, cur: duckdb.DuckDBPyConnection | None, *, healthy: bool
    ) -> None:
        with self._pool_lock:
            attach.lent -= 1
            keep = healthy and not attach.retired and len(attach.pool) < _POOL_SIZE
            if keep and cur is not None:
                attach.pool.append(cur)
                return
            last = attach.retired and attach.lent == 0
        if cur is not None:
            cur.close()
        if last:
            attach.lake.close()

    def _retire(self, attach: _Attach) -> None:
        """Close ``attach`` once the reads still using its cursors give them back."""
        with self._pool_lock:
            attach.retired = True
            idle, attach.pool = attach.pool, []
            last = attach.lent == 0
        for cur in idle:
            cur.close()
        if last:
            attach.lake.close()

    def _reattach(self, stale: _Attach | None, cause: LakeError) -> None:
        """Attach the lake again after DuckLake's stale inlined-table error on ``stale``
        (see :func:`runstream.lake.connection.stale_inlined_table`).

        Reads that met the error on the same attach at once re-attach once. Reads in
        flight finish on the old attach, which closes after the last of them.
        """
        with self._reattach_lock:
            if self._current is None:
                raise cause
            if stale is not self._current:
                return  # another read has re-attached already
            try:
                fresh = _Attach(open_lake(self._settings, read_only=True))
            except LakeError:
                raise cause from None
            with self._pool_lock:
                self._current = fresh
                self.reattached += 1
            self._retire(stale)

    def transaction(self) -> ReadTransaction:
        """A read transaction for several statements that must see one snapshot."""
        if self._current is None:
            raise LakeError("lake reader used before start()")
        return ReadTransaction(self)

    def snapshot_id(self) -> int:
        """Return the newest snapshot id of the lake."""
        return int(self.query(f"SELECT id FROM {CATALOG}.current_snapshot()").rows[0][0])

    def query(
        self,
        sql: str,
        params: Sequence[object] = (),
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run one read in its own snapshot.

        Args:
            sql: one SELECT; values only through ``?`` parameters.
            params: the parameter values.
            timeout_s: interrupt the read after this many seconds.
            max_rows: fetch at most this many rows (``truncated`` tells if there were more).

        Raises:
            QueryTimeoutError: the read ran past ``timeout_s``.
            LakeError: DuckDB refused or failed the query.
        """
        with self.transaction() as tx:
            return tx.query(sql, params, timeout_s=timeout_s, max_rows=max_rows)

    def query_arrow(
        self, sql: str, params: Sequence[object] = (), *, timeout_s: float | None = None
    ) -> ArrowResult:
        """Run one read in its own snapshot and return an Arrow table."""
        with self.transaction() as tx:
            return tx.query_arrow(sql, params, timeout_s=timeout_s)


def open_reader(settings: Settings) -> DuckLakeReader:
    """Return a started :class:`DuckLakeReader` (the caller closes it)."""
    reader = DuckLakeReader(settings)
    reader.start()
    return reader


__all__ = ["DuckLakeReader", "ReadTransaction", "open_reader"]
