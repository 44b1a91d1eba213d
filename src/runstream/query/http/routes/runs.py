"""``/api/v1/runs``: run detail and run search (MLflow's grammar, keyset pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from runstream.query.http.access import Access, AccessDep
from runstream.query.http.deps import SessionDep
from runstream.query.http.schemas.logged_models import LOGGED_MODELS, LoggedModelsResponse
from runstream.query.http.schemas.runs import RUN, RUNS_PAGE, RunResponse, RunsPage
from runstream.query.read import runs as reader
from runstream.query.read.experiments import get_experiment_by_name
from runstream.query.read.logged_models import logged_models_of_run
from runstream.query.read.session import ReadSession
from runstream.query.search.planner import MAX_RESULTS_LIMIT, plan_search

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
DEFAULT_PAGE = 100
_KEYS = Field(default=None, max_length=10_000)


class ColumnsIn(BaseModel):
    """Which keys to return with each run; omit a list to get every key."""

    params: list[str] | None = _KEYS
    metrics: list[str] | None = _KEYS
    tags: list[str] | None = _KEYS


class RunSearchIn(BaseModel):
    """A run search, as MLflow's ``search_runs`` takes it, plus column selection."""

    experiment_ids: list[str] = Field(default_factory=list, max_length=1000)
    experiment_names: list[str] = Field(default_factory=list, max_length=1000)
    filter: str = Field(default="", max_length=262_144, description="MLflow filter grammar")
    order_by: list[str] = Field(default_factory=list, max_length=32)
    max_results: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_RESULTS_LIMIT)
    page_token: str | None = Field(default=None, max_length=524_288)
    view_type: str = "ACTIVE_ONLY"
    columns: ColumnsIn = Field(default_factory=ColumnsIn)


def _experiment_ids(session: ReadSession, ids: list[str], names: list[str]) -> list[str]:
    return [*ids, *(get_experiment_by_name(session, n).row.experiment_id for n in names)]


def _search(session: ReadSession, access: Access, body: RunSearchIn) -> Response:
    search = plan_search(
        _experiment_ids(session, body.experiment_ids, body.experiment_names),
        body.filter,
        body.order_by,
        body.view_type,
        body.max_results,
    )
    search = access.restrict(search)
    cols = reader.Columns(body.columns.params, body.columns.metrics, body.columns.tags)
    page = reader.search_runs(session, search, body.page_token, cols)
    return RUNS_PAGE.response(RunsPage.read(page, session.snapshot_id))


@router.post("/search", response_model=RunsPage, summary="Search runs")
def search_runs(session: SessionDep, access: AccessDep, body: RunSearchIn) -> Response:
    """Runs matching an MLflow filter, in ``order_by`` order (default: newest first).

    Beyond MLflow: ``OR`` and parentheses, ``IS [NOT] NULL`` on params and tags,
    ``[NOT] IN`` on params and tags, and a metric's summary after a quoted key
    (``metrics.`loss`.min < 0.1``, ``.max``, ``.count``).
    """
    return _search(session, access, body)


@router.get("/search", response_model=RunsPage, summary="Search runs (query string)")
def search_runs_get(
    session: SessionDep,
    access: AccessDep,
    experiment_id: Annotated[list[str], Query(max_length=1000)] = [],  # noqa: B006
    experiment_name: Annotated[list[str], Query(max_length=1000)] = [],  # noqa: B006
    filter: Annotated[str, Query(max_length=262_144)] = "",
    order_by: Annotated[list[str], Query(max_length=32)] = [],  # noqa: B006
    max_results: Annotated[int, Query(ge=1, le=MAX_RESULTS_LIMIT)] = DEFAULT_PAGE,
    page_token: Annotated[str | None, Query(max_length=524_288)] = None,
    view_type: str = "ACTIVE_ONLY",
    param: Annotated[list[str] | None, Query(max_length=10_000)] = None,
    metric: Annotated[list[str] | None, Query(max_length=10_000)] = None,
    tag: Annotated[list[str] | None, Query(max_length=10_000)] = None,
) -> Response:
    """The same search from a query string (``param``/``metric``/``tag`` select keys)."""
    body = RunSearchIn(
        experiment_ids=experiment_id,
        experiment_names=experiment_name,
        filter=filter,
        order_by=order_by,
        max_results=max_results,
        page_token=page_token,
        view_type=view_type,
        columns=ColumnsIn(params=param, metrics=metric, tags=tag),
    )
    return _search(session, access, body)


@router.get("/{run_id}", response_model=RunResponse, summary="Run detail")
def get_run(session: SessionDep, access: AccessDep, run_id: str) -> Response:
    """A run with its params, tags, the latest value and summary of each metric, its inputs."""
    access.require_runs(session, [run_id])
    run = reader.get_run(session, run_id)
    return RUN.response(RunResponse.read(run, session.snapshot_id))


@router.get(
    "/{run_id}/logged-models",
    response_model=LoggedModelsResponse,
    summary="The MLflow 3 logged models of a run",
)
def get_run_logged_models(session: SessionDep, access: AccessDep, run_id: str) -> Response:
    """The live logged models the run logged or output (``log_model``, ``log_outputs``)."""
    access.require_runs(session, [run_id])
    reader.get_run(session, run_id, reader.Columns(params=[], metrics=[], tags=[]))
    models = logged_models_of_run(session, run_id)
    return LOGGED_MODELS.response(LoggedModelsResponse.read(models, session.snapshot_id))


__all__ = ["router"]
