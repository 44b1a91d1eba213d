"""What the readers need from the lake: a read session of several statements.

Readers (:mod:`runstream.query.read`) take a :class:`ReadSession` and never
see DuckDB. :mod:`runstream.query.read.session` implements it over
:class:`runstream.lake.reader.LakeReader`.

Contract of a session:

1. Statements take ``?`` parameters only; nothing formats values into SQL.
2. All statements of a session share one time limit, counted from the start
   of the session; a statement past it raises
   :class:`~runstream.errors.QueryTimeoutError`.
3. ``snapshot_id`` is the lake snapshot the session read (the first
   statement's, when statements run in separate transactions, or the run
   index's when a search was answered from it).
4. Database failures raise :class:`~runstream.errors.LakeError`; with
   ``user_sql=True`` a statement the database cannot parse or bind raises
   :class:`~runstream.errors.SqlRejectedError` (the user's mistake).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runstream.query.search.index import RunIndex

Row = tuple[Any, ...]
Statement = tuple[str, Sequence[Any]]


@dataclass(frozen=True)
class ResultTable:
    """Rows of one statement with their column names.

    Attributes:
        columns: column names in order.
        rows: at most the requested number of rows.
        truncated: more rows existed than were returned.
    """

    columns: list[str]
    rows: list[Row]
    truncated: bool


class ReadSession(Protocol):
    """A few reads of the lake answering one request."""

    @property
    def snapshot_id(self) -> int:
        """The id of the snapshot this session read (0 before its first statement)."""
        ...

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one parameterized statement and return every row."""
        ...

    def fetch_table(
        self, sql: str, params: Sequence[Any] = (), *, max_rows: int, user_sql: bool = False
    ) -> ResultTable:
        """Run one statement and return at most ``max_rows`` rows with column names."""
        ...

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one parameterized statement and return its rows as a ``pyarrow.Table``."""
        ...

    def run_index(self) -> RunIndex | None:
        """A fresh in-memory index of the runs for searches, or None (search with SQL)."""
        ...


__all__ = ["ReadSession", "ResultTable", "Row", "Statement"]
