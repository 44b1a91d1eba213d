"""Live tail: ``GET /api/v1/runs/{run_id}/live`` and ``GET /api/v1/live`` (several runs).

Server-Sent Events of the runs' new metric points straight from the log
(:mod:`runstream.query.live.stream`). Where the stream starts, first match wins:

1. ``Last-Event-ID`` (the header a browser's EventSource sends on reconnect, or the
   ``last_event_id`` query parameter): right after the last event the client saw.
2. ``snapshot``: the offsets the lake held in that snapshot, the one the client's
   history came from (no point missing, none twice).
3. Otherwise the offsets the lake holds now.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from runstream.errors import ServiceError, ValidationError
from runstream.query.http.access import Access, AccessDep
from runstream.query.http.deps import AppState, StateDep
from runstream.query.http.schemas.common import json_response
from runstream.query.live.cursor import parse_cursor
from runstream.query.live.offsets import lake_offsets
from runstream.query.live.port import LogTail
from runstream.query.live.stream import LiveRequest, live_frames

router = APIRouter(tags=["live"])
MAX_LIVE_RUNS = 100
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _tail(state: AppState) -> LogTail:
    if state.live is None:
        raise ServiceError("the live tail is not configured on this query service")
    return state.live


async def _request(
    state: AppState,
    access: Access,
    tail: LogTail,
    run_ids: list[str],
    cursor: str | None,
    snapshot: int | None,
) -> LiveRequest:
    runs = tuple(dict.fromkeys(run_ids))
    partition_of = {r: await tail.partition_of(r) for r in runs}
    partitions = sorted(set(partition_of.values()))

    def read() -> tuple[dict[int, int], int]:
        with state.lake.session() as session:
            access.require_runs(session, runs)
            return lake_offsets(session, tail.topic, partitions, snapshot)

    held, read_at = await run_in_threadpool(read)
    if cursor:
        resumed = parse_cursor(cursor)
        missing = [p for p in partitions if p not in resumed]
        if missing:
            raise ValidationError(
                f"Last-Event-ID {cursor!r} has no position for partitions {missing}"
            )
        starts = {p: resumed[p] for p in partitions}
        return LiveRequest(runs, starts, held, read_at, resumed=True, partitions=partition_of)
    return LiveRequest(runs, dict(held), held, read_at, partitions=partition_of)


async def _stream(
    request: Request,
    state: AppState,
    access: Access,
    run_ids: list[str],
    cursor: str | None,
    snapshot: int | None,
) -> Response:
    tail = _tail(state)
    live = await _request(state, access, tail, run_ids, cursor, snapshot)
    return StreamingResponse(
        live_frames(tail, live, request.is_disconnected),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )


@router.get("/api/v1/runs/{run_id}/live", summary="Live metric points of a run (SSE)")
async def run_live(
    request: Request,
    state: StateDep,
    access: AccessDep,
    run_id: str,
    snapshot: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    last_event_id: Annotated[str | None, Query()] = None,
    last_event_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Server-Sent Events of one run's new metric points, before the lake has them."""
    cursor = last_event_header or last_event_id
    return await _stream(request, state, access, [run_id], cursor, snapshot)


@router.get("/api/v1/runs/{run_id}/live/position", summary="Where the lake is in a run's log")
async def run_live_position(
    state: StateDep,
    access: AccessDep,
    run_id: str,
    snapshot: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
) -> Response:
    """The next offset the lake held (in ``snapshot``, or now) in the run's partition.

    A chart that re-reads a history (a zoom) keeps the streamed points at or past
    this offset and drops the others: the lake's answer has them.
    """
    tail = _tail(state)
    live = await _request(state, access, tail, [run_id], None, snapshot)
    return json_response(
        {
            "run_id": run_id,
            "topic": tail.topic,
            "partition": live.partitions[run_id],
            "lake_offset": live.lake_offsets[live.partitions[run_id]],
            "snapshot_id": live.lake_snapshot,
        }
    )


@router.get("/api/v1/live", summary="Live metric points of several runs (SSE)")
async def runs_live(
    request: Request,
    state: StateDep,
    access: AccessDep,
    run_id: Annotated[list[str], Query(min_length=1, max_length=MAX_LIVE_RUNS)],
    snapshot: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    last_event_id: Annotated[str | None, Query()] = None,
    last_event_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Server-Sent Events of several runs (one connection for a runs table)."""
    cursor = last_event_header or last_event_id
    return await _stream(request, state, access, run_id, cursor, snapshot)


__all__ = ["MAX_LIVE_RUNS", "router"]
