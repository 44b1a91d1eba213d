"""The read side of the lake, for the query service: a small typed interface.

Callers see :class:`LakeReader` only; they never import duckdb. Each read runs in
its own transaction on its own cursor, so it sees one snapshot, returns that
snapshot's id with the rows (every API response says which snapshot it read), and
can be interrupted when it runs past its time limit. Table names are unqualified
(``SELECT * FROM runs``): the reader's default catalog is the lake.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from runstream.config import Settings
from runstream.errors import LakeError, QueryTimeoutError
from runstream.lake.connection import CATALOG, Lake, open_lake


@dataclass(frozen=True)
class QueryResult:
    """Rows of one read and the snapshot they come from.

    Attributes:
        columns: column names, in order.
        rows: the rows, at most ``max_rows`` of them.
        snapshot_id: the lake snapshot the read saw.
        truncated: True when the query had more rows than ``max_rows``.
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]
    snapshot_id: int
    truncated: bool = False


@dataclass(frozen=True)
class ArrowResult:
    """An Arrow table read from the lake and the snapshot it comes from."""

    table: Any  # pyarrow.Table; typed loosely so callers need no pyarrow stubs
    snapshot_id: int


class LakeReader(Protocol):
    """What the query service needs from the lake."""

    def query(
        self,
        sql: str,
        params: Sequence[object] = (),
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run one parameterized read and return its rows."""
        ...

    def query_arrow(
        self, sql: str, params: Sequence[object] = (), *, timeout_s: float | None = None
    ) -> ArrowResult:
        """Run one parameterized read and return an Arrow table."""
        ...

    def snapshot_id(self) -> int:
        """Return the newest snapshot id of the lake."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class DuckLakeReader:
    """:class:`LakeReader` over a read-only DuckLake attach; safe to share between threads.

    Construct it, then :meth:`start` it (or use :func:`open_reader`); nothing is
    opened before ``start``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lake: Lake | None = None

    def start(self) -> None:
        """Attach the lake read-only.

        Raises:
            LakeError: the lake does not exist yet or cannot be attached.
        """
        if self._lake is None:
            self._lake = open_lake(self._settings, read_only=True)

    def close(self) -> None:
        """Detach; safe to call twice."""
        if self._lake is not None:
            self._lake.close()
            self._lake = None

    def snapshot_id(self) -> int:
        """Return the newest snapshot id of the lake."""
        return self.query(f"SELECT id FROM {CATALOG}.current_snapshot()").rows[0][0]  # type: ignore[no-any-return]

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

        def run(cur: duckdb.DuckDBPyConnection) -> QueryResult:
            cur.execute(sql, list(params))
            columns = [d[0] for d in cur.description or []]
            if max_rows is None:
                return QueryResult(columns, cur.fetchall(), 0)
            rows = cur.fetchmany(max_rows + 1)
            return QueryResult(columns, rows[:max_rows], 0, truncated=len(rows) > max_rows)

        result, snapshot = self._in_snapshot(run, timeout_s)
        return QueryResult(result.columns, result.rows, snapshot, result.truncated)

    def query_arrow(
        self, sql: str, params: Sequence[object] = (), *, timeout_s: float | None = None
    ) -> ArrowResult:
        """Run one read in its own snapshot and return an Arrow table."""

        def run(cur: duckdb.DuckDBPyConnection) -> pa.Table:
            return cur.execute(sql, list(params)).to_arrow_table()

        table, snapshot = self._in_snapshot(run, timeout_s)
        return ArrowResult(table, snapshot)

    def _in_snapshot(self, run: Any, timeout_s: float | None) -> tuple[Any, int]:
        if self._lake is None:
            raise LakeError("lake reader used before start()")
        cur = self._lake.con.cursor()
        timer = threading.Timer(timeout_s, cur.interrupt) if timeout_s else None
        try:
            cur.execute(f"USE {CATALOG}")
            cur.execute("BEGIN TRANSACTION")
            row = cur.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchone()
            snapshot = int(row[0]) if row else 0
            if timer is not None:
                timer.start()
            result = run(cur)
            cur.execute("ROLLBACK")
            return result, snapshot
        except duckdb.InterruptException as exc:
            raise QueryTimeoutError(f"query ran past its time limit of {timeout_s} s") from exc
        except duckdb.Error as exc:
            raise LakeError(f"lake query failed: {exc}") from exc
        finally:
            if timer is not None:
                timer.cancel()
            cur.close()


def open_reader(settings: Settings) -> DuckLakeReader:
    """Return a started :class:`DuckLakeReader` (the caller closes it)."""
    reader = DuckLakeReader(settings)
    reader.start()
    return reader


__all__ = ["ArrowResult", "DuckLakeReader", "LakeReader", "QueryResult", "open_reader"]
