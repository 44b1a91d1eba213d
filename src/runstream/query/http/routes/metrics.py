"""Metric histories: downsampled in the lake (JSON), or as columns, full or downsampled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, model_validator
from starlette.responses import Response

from runstream.query.http.access import AccessDep
from runstream.query.http.deps import SessionDep
from runstream.query.http.schemas.columnar import (
    ARROW_STREAM,
    arrow_stream_bytes,
    columnar_json_bytes,
)
from runstream.query.http.schemas.metrics import HISTORIES, HistoriesResponse
from runstream.query.read.columnar import columnar_history
from runstream.query.read.downsample import MAX_POINTS, MIN_POINTS, HistoryRequest, XAxis
from runstream.query.read.metrics import histories

router = APIRouter(tags=["metrics"])
MAX_RUNS = 100
MAX_KEYS = 100
MAX_SERIES = 1000


class _SeriesIn(BaseModel):
    """Which series a history request reads: runs x keys, x axis, step range."""

    run_ids: list[str] = Field(min_length=1, max_length=MAX_RUNS)
    keys: list[str] = Field(min_length=1, max_length=MAX_KEYS)
    x_axis: XAxis = XAxis.STEP
    min_step: int | None = Field(default=None, ge=-(2**63), lt=2**63)
    max_step: int | None = Field(default=None, ge=-(2**63), lt=2**63)

    @model_validator(mode="after")
    def _not_too_many(self) -> _SeriesIn:
        if len(self.run_ids) * len(self.keys) > MAX_SERIES:
            raise ValueError(f"at most {MAX_SERIES} series (runs x keys) per request")
        return self

    def _request(self, max_points: int) -> HistoryRequest:
        return HistoryRequest(
            tuple(dict.fromkeys(self.run_ids)),
            tuple(dict.fromkeys(self.keys)),
            max_points,
            self.x_axis,
            self.min_step,
            self.max_step,
        )


class HistoryIn(_SeriesIn):
    """Histories of every (run, key) pair, each downsampled to ``max_points``."""

    max_points: int = Field(default=1000, ge=MIN_POINTS, le=MAX_POINTS)

    def request(self) -> HistoryRequest:
        """The reader's request."""
        return self._request(self.max_points)


@router.post("/api/v1/metrics/history", response_model=HistoriesResponse, summary="Histories")
def post_histories(session: SessionDep, access: AccessDep, body: HistoryIn) -> Response:
    """Histories of several runs and keys in one call (bucketed min/max, first and last kept)."""
    access.require_runs(session, body.run_ids)
    found = histories(session, body.request())
    return HISTORIES.response(HistoriesResponse.read(found, session.snapshot_id))


@router.get(
    "/api/v1/runs/{run_id}/metric-history",
    response_model=HistoriesResponse,
    summary="History of one metric",
)
def get_history(
    session: SessionDep,
    access: AccessDep,
    run_id: str,
    key: Annotated[list[str], Query(min_length=1, max_length=MAX_KEYS)],
    max_points: Annotated[int, Query(ge=MIN_POINTS, le=MAX_POINTS)] = 1000,
    x_axis: XAxis = XAxis.STEP,
    min_step: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
    max_step: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
) -> Response:
    """History of one run's metric(s) (``key`` may repeat), downsampled to ``max_points``."""
    access.require_runs(session, [run_id])
    body = HistoryIn(
        run_ids=[run_id],
        keys=key,
        max_points=max_points,
        x_axis=x_axis,
        min_step=min_step,
        max_step=max_step,
    )
    found = histories(session, body.request())
    return HISTORIES.response(HistoriesResponse.read(found, session.snapshot_id))


class ColumnsIn(_SeriesIn):
    """Histories as columns: every point (no ``max_points``) or downsampled to it."""

    max_points: int | None = Field(default=None, ge=MIN_POINTS, le=MAX_POINTS)

    def request(self) -> HistoryRequest:
        """The reader's request (``max_points`` only matters when downsampling)."""
        return self._request(self.max_points or MAX_POINTS)


def _columns(request: Request, session: SessionDep, body: ColumnsIn) -> Response:
    history = columnar_history(session, body.request(), full=body.max_points is None)
    if ARROW_STREAM in request.headers.get("accept", ""):
        return Response(arrow_stream_bytes(history, session.snapshot_id), media_type=ARROW_STREAM)
    return Response(
        columnar_json_bytes(history, session.snapshot_id), media_type="application/json"
    )


@router.post("/api/v1/metrics/columns", response_model=HistoriesResponse, summary="Columns")
def post_columns(request: Request, session: SessionDep, body: ColumnsIn) -> Response:
    """Histories of runs x keys as columns: Arrow IPC when asked, columnar JSON otherwise."""
    return _columns(request, session, body)


@router.get(
    "/api/v1/metrics/columns", response_model=HistoriesResponse, summary="Columns (GET)"
)
def get_columns(
    request: Request,
    session: SessionDep,
    run_id: Annotated[list[str], Query(min_length=1, max_length=MAX_RUNS)],
    key: Annotated[list[str], Query(min_length=1, max_length=MAX_KEYS)],
    max_points: Annotated[int | None, Query(ge=MIN_POINTS, le=MAX_POINTS)] = None,
    x_axis: XAxis = XAxis.STEP,
    min_step: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
    max_step: Annotated[int | None, Query(ge=-(2**63), lt=2**63)] = None,
) -> Response:
    """Histories as columns (``run_id`` and ``key`` may repeat); full without ``max_points``."""
    body = ColumnsIn(run_ids=run_id, keys=key, max_points=max_points, x_axis=x_axis,
                     min_step=min_step, max_step=max_step)
    return _columns(request, session, body)


__all__ = ["router"]
