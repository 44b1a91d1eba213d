"""Read-only SQL over the lake's tables: guarded, row-limited, time-limited."""

from __future__ import annotations

import base64
import datetime as dt
import math
import time
import uuid
from decimal import Decimal
from typing import Any

from runstream.core.metrics import encode_metric_value
from runstream.errors import QueryTimeoutError, SqlTimeLimitError
from runstream.query.read.port import ReadSession
from runstream.query.read.sql_guard import check_sql
from runstream.query.records import SqlResult


def json_value(value: Any) -> Any:
    """Turn one DuckDB value into JSON: NaN/Inf as strings, bytes as base64, times as ISO."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else encode_metric_value(value)
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
    session: ReadSession, sql: str, *, max_rows: int, timeout_s: float | None = None
) -> SqlResult:
    """Check ``sql`` with :func:`check_sql`, run it, keep at most ``max_rows`` rows.

    The session's deadline is the time limit (``timeout_s`` names it in the error).

    Raises:
        SqlRejectedError: the guard or the database refused the statement.
        SqlTimeLimitError: it ran past the time limit: the caller's to shorten (400).
    """
    statement = check_sql(sql)
    started = time.perf_counter()
    try:
        table = session.fetch_table(statement, (), max_rows=max_rows, user_sql=True)
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
