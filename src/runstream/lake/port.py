"""The lake's read port: what a reader of the lake may ask, with no DuckDB in sight.

The query service (and any other reader) holds a :class:`LakeReader`;
:class:`runstream.lake.reader.DuckLakeReader` implements it over a read-only
DuckLake attach. Contract:

1. Statements take ``?`` parameters only; nothing formats values into SQL.
   Table names are unqualified (``SELECT * FROM runs``): the lake is the
   default catalog.
2. :meth:`LakeReader.query` runs one statement in its own snapshot;
   :meth:`LakeReader.transaction` opens a :class:`LakeTransaction` whose
   statements all read one snapshot (the first statement's).
3. Every result says which snapshot it read (every API response does too).
4. A statement past its ``timeout_s`` is interrupted and raises
   :class:`~runstream.errors.QueryTimeoutError`; one the database cannot parse
   or bind, or may not run, raises :class:`~runstream.errors.StatementError`;
   any other database failure raises :class:`~runstream.errors.LakeError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self

Row = tuple[Any, ...]
Statement = tuple[str, Sequence[Any]]


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
    rows: list[Row]
    snapshot_id: int
    truncated: bool = False


@dataclass(frozen=True)
class ArrowResult:
    """An Arrow table read from the lake and the snapshot it comes from."""

    table: Any  # pyarrow.Table; typed loosely so callers need no pyarrow stubs
    snapshot_id: int


class LakeQueries(Protocol):
    """The two reads every holder of the port may run."""

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


class LakeTransaction(LakeQueries, Protocol):
    """Several reads that see one snapshot (rule 2); close it, or use it as a context."""

    @property
    def snapshot_id(self) -> int:
        """The snapshot every read of this transaction sees (0 before the first read)."""
        ...

    def close(self) -> None:
        """End the transaction; safe to call twice."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class LakeReader(LakeQueries, Protocol):
    """A started, thread-safe reader of the lake; each of its reads has its own snapshot."""

    def transaction(self) -> LakeTransaction:
        """A read transaction for several statements that must see one snapshot."""
        ...

    def snapshot_id(self) -> int:
        """Return the newest snapshot id of the lake."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


__all__ = [
    "ArrowResult",
    "LakeQueries",
    "LakeReader",
    "LakeTransaction",
    "QueryResult",
    "Row",
    "Statement",
]
