"""``/api/v1/compare``: runs side by side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from runstream.query.http.access import Access, AccessDep
from runstream.query.http.deps import SessionDep
from runstream.query.http.schemas.metrics import COMPARISON, CompareResponse
from runstream.query.read.compare import MAX_COMPARE_RUNS, compare_runs
from runstream.query.read.downsample import MAX_POINTS, XAxis

router = APIRouter(prefix="/api/v1/compare", tags=["compare"])


class CompareIn(BaseModel):
    """Runs to compare; histories only when ``history_points`` > 0."""

    run_ids: list[str] = Field(min_length=1, max_length=MAX_COMPARE_RUNS)
    metric_keys: list[str] | None = Field(default=None, max_length=1000)
    history_points: int = Field(default=0, ge=0, le=MAX_POINTS)
    x_axis: XAxis = XAxis.STEP


def _compare(session: SessionDep, access: Access, body: CompareIn) -> Response:
    access.require_runs(session, body.run_ids)
    points = body.history_points if body.history_points == 0 else max(body.history_points, 4)
    result = compare_runs(
        session,
        body.run_ids,
        metric_keys=body.metric_keys,
        history_points=points,
        x_axis=body.x_axis,
    )
    return COMPARISON.response(CompareResponse.read(result, session.snapshot_id))


@router.post("", response_model=CompareResponse, summary="Compare runs")
def post_compare(session: SessionDep, access: AccessDep, body: CompareIn) -> Response:
    """Params that differ and that agree, latest metrics, optional downsampled histories."""
    return _compare(session, access, body)


@router.get("", response_model=CompareResponse, summary="Compare runs (query string)")
def get_compare(
    session: SessionDep,
    access: AccessDep,
    run_id: Annotated[list[str], Query(min_length=1, max_length=MAX_COMPARE_RUNS)],
    metric_key: Annotated[list[str] | None, Query(max_length=1000)] = None,
    history_points: Annotated[int, Query(ge=0, le=MAX_POINTS)] = 0,
    x_axis: XAxis = XAxis.STEP,
) -> Response:
    """The same comparison from a query string."""
    body = CompareIn(
        run_ids=run_id, metric_keys=metric_key, history_points=history_points, x_axis=x_axis
    )
    return _compare(session, access, body)


__all__ = ["router"]
