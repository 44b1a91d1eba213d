"""Read-only SQL over the lake's tables: guarded, over the caller's views, row- and time-limited."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

from runstream.errors import QueryTimeoutError, SqlRejectedError, SqlTimeLimitError
from runstream.events.floats import float_to_wire
from runstream.query.read.session import ReadSession
from runstream.query.read.sql_view import ADMIN, SqlCaller, scoped_statement
from runstream.query.records import SqlResult


def json_value(value: Any) -> Any:
    """Turn one DuckDB value into JSON: NaN/Inf as strings, bytes as base64, times as ISO."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float_to_wire(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def run_sql(
    session: ReadSession,
    sql: str,
    *,
    max_rows: int,
    timeout_s: float | None = None,
    caller: SqlCaller = ADMIN,
) -> SqlResult:
    """Check ``sql``, run it over the caller's views of the lake, keep at most ``max_rows`` rows.

    The guard (:mod:`.sql_guard`) checks it, :func:`.sql_view.scoped_statement`
    names the caller's views in it, and the session's deadline is the time limit
    (``timeout_s`` names it in the error).

    Raises:
        SqlRejectedError: the guard or the database refused the statement.
        SqlTimeLimitError: it ran past the time limit: the caller's to shorten (400).
    """
    statement, params = scoped_statement(sql, caller)
    started = time.perf_counter()
    try:
        table = session.fetch_table(statement, params, max_rows=max_rows, user_sql=True)
    except SqlRejectedError as exc:
        # DuckDB plans a PIVOT without an IN list by a query of its own, which
        # loses the parameters that carry the caller's readable ids.
        if params and "Could not find parameter" in str(exc):
            raise SqlRejectedError(
                f"{exc}: a PIVOT needs its values listed (PIVOT t ON key IN ('a', 'b') ...)"
            ) from exc
        raise
    except QueryTimeoutError as exc:
        limit = f"{timeout_s:g} s" if timeout_s is not None else "the time limit"
        raise SqlTimeLimitError(
            f"the statement ran past its time limit of {limit} (RUNSTREAM_SQL_TIMEOUT_S, or "
            "the request's timeout_s): select less, or filter on run_id / key first"
        ) from exc
    elapsed = (time.perf_counter() - started) * 1000
    rows = [[json_value(v) for v in row] for row in table.rows]
    return SqlResult(table.columns, rows, table.truncated, round(elapsed, 3))


__all__ = ["json_value", "run_sql"]
