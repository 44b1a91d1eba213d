"""``/api/v1/experiments``: search, get by id, get by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from runstream.events import ResourceType
from runstream.query.http.access import AccessDep
from runstream.query.http.deps import SessionDep
from runstream.query.http.schemas.experiments import (
    EXPERIMENT,
    EXPERIMENTS_PAGE,
    ExperimentResponse,
    ExperimentsPage,
)
from runstream.query.read import experiments as reader

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])
MAX_RESULTS_LIMIT = 50_000


@router.get("", response_model=ExperimentsPage, summary="Search experiments")
def search_experiments(
    session: SessionDep,
    access: AccessDep,
    filter: Annotated[
        str | None,
        Query(max_length=65_536, description="e.g. name LIKE 'vision%' AND tags.team = 'x'"),
    ] = None,
    order_by: Annotated[list[str] | None, Query(max_length=16)] = None,
    view_type: Annotated[str | None, Query(description="ACTIVE_ONLY, DELETED_ONLY or ALL")] = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_RESULTS_LIMIT)] = 1000,
    page_token: Annotated[str | None, Query(max_length=524_288)] = None,
) -> Response:
    """Experiments matching MLflow's experiment filter, newest first by default."""
    page = reader.search_experiments(
        session,
        filter_string=filter,
        order_by=order_by,
        view=view_type,
        max_results=max_results,
        page_token=page_token,
        scope=access.experiments,
        caller=access.caller,
    )
    return EXPERIMENTS_PAGE.response(ExperimentsPage.read(page, session.snapshot_id))


@router.get("/by-name/{name:path}", response_model=ExperimentResponse, summary="Experiment by name")
def get_experiment_by_name(session: SessionDep, access: AccessDep, name: str) -> Response:
    """The experiment named ``name`` (404 if none)."""
    exp = reader.get_experiment_by_name(session, name)
    access.require(ResourceType.EXPERIMENT, exp.row.experiment_id)
    return EXPERIMENT.response(ExperimentResponse.read(exp, session.snapshot_id))


@router.get("/{experiment_id}", response_model=ExperimentResponse, summary="Experiment by id")
def get_experiment(session: SessionDep, access: AccessDep, experiment_id: str) -> Response:
    """One experiment (404 if none)."""
    access.require(ResourceType.EXPERIMENT, experiment_id)
    exp = reader.get_experiment(session, experiment_id)
    return EXPERIMENT.response(ExperimentResponse.read(exp, session.snapshot_id))


__all__ = ["router"]
