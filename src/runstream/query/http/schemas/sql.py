"""Read-only SQL request and response."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

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


class SqlResponse(BaseModel):
    """Rows of the statement; ``truncated`` when the row limit cut them."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    elapsed_ms: float
    snapshot_id: int


def sql_json(result: SqlResult, snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`SqlResponse`."""
    return {
        "columns": result.columns,
        "rows": result.rows,
        "row_count": len(result.rows),
        "truncated": result.truncated,
        "elapsed_ms": result.elapsed_ms,
        "snapshot_id": snapshot_id,
    }


__all__ = ["SqlRequest", "SqlResponse", "sql_json"]
