"""Read-only SQL request and response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, Field

from runstream.query.http.schemas.wire import Wire, WireShape
from runstream.query.read.sql_guard import MAX_SQL_LENGTH
from runstream.query.records import SqlResult


class SqlRequest(BaseModel):
    """One read-only statement over the lake's tables (``runs``, ``metrics``, ...)."""

    sql: str = Field(max_length=MAX_SQL_LENGTH, description="one SELECT statement")
    max_rows: int | None = Field(
        default=None, ge=1, description="row limit (at most the server's limit)"
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="time limit (at most the server's limit)"
    )


@dataclass(slots=True)
class SqlResponse(WireShape):
    """Rows of the statement; ``truncated`` when the row limit cut them."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    elapsed_ms: float
    snapshot_id: int

    @classmethod
    def read(cls, result: SqlResult, snapshot_id: int) -> Self:
        """The response of ``result`` read at ``snapshot_id``."""
        return cls(
            result.columns,
            result.rows,
            len(result.rows),
            result.truncated,
            result.elapsed_ms,
            snapshot_id,
        )


SQL_RESULT = Wire(SqlResponse)

__all__ = ["SQL_RESULT", "SqlRequest", "SqlResponse"]
