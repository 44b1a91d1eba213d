"""``POST /api/v1/sql``: one read-only statement, with a row limit and a time limit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from runstream.query.http.access import AccessDep
from runstream.query.http.deps import SettingsDep, StateDep, remember_session
from runstream.query.http.schemas.sql import SQL_RESULT, SqlRequest, SqlResponse
from runstream.query.read.sql import run_sql

router = APIRouter(prefix="/api/v1", tags=["sql"])


@router.post("/sql", response_model=SqlResponse, summary="Read-only SQL")
def post_sql(
    request: Request, state: StateDep, settings: SettingsDep, access: AccessDep, body: SqlRequest
) -> Response:
    """Run one SELECT over the lake's tables (``runs``, ``params``, ``metrics``, ...).

    Writes, ATTACH, COPY, file and network reads, extension loads and setting
    changes are refused with 400. The limits are the server's
    (``RUNSTREAM_SQL_MAX_ROWS``, ``RUNSTREAM_SQL_TIMEOUT_S``) unless the request
    asks for less; a statement past its time limit is interrupted (400, naming the
    limit). With auth on, an admin reads the whole lake; anyone else reads each
    table as the rows of the experiments and registered models they may read
    (the views of :mod:`runstream.query.read.sql_view`, inside the statement), and
    the internal tables not at all. The access-control tables are never readable
    through it.
    """
    max_rows = min(body.max_rows or settings.sql_max_rows, settings.sql_max_rows)
    timeout = min(body.timeout_s or settings.sql_timeout_s, settings.sql_timeout_s)
    with state.lake.session(timeout) as session:
        remember_session(request, session)
        result = run_sql(
            session, body.sql, max_rows=max_rows, timeout_s=timeout, caller=access.sql_caller
        )
        return SQL_RESULT.response(SqlResponse.read(result, session.snapshot_id))


__all__ = ["router"]
