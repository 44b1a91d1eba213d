"""The model registry: models, versions, stages, aliases, ``models:/`` resolution."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from runstream.errors import NotFoundError
from runstream.events import ResourceType
from runstream.query.http.access import AccessDep
from runstream.query.http.deps import SessionDep
from runstream.query.http.schemas import registry as wire
from runstream.query.http.schemas.registry import (
    ModelVersionResponse,
    ModelVersionsPage,
    RegisteredModelResponse,
    RegisteredModelsPage,
    ResolvedModelResponse,
    StageHistoryResponse,
)
from runstream.query.read import registry as reader
from runstream.query.read.model_uri import parse_model_uri

MODEL = ResourceType.REGISTERED_MODEL

router = APIRouter(prefix="/api/v1", tags=["registry"])
_FILTER = Query(max_length=65_536)
_TOKEN = Query(max_length=4096)


@router.get("/registered-models", response_model=RegisteredModelsPage, summary="Search models")
def search_models(
    session: SessionDep,
    access: AccessDep,
    filter: Annotated[str | None, _FILTER] = None,
    order_by: Annotated[list[str] | None, Query(max_length=8)] = None,
    max_results: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str | None, _TOKEN] = None,
) -> Response:
    """Registered models (filter on ``name`` and ``tags.<key>``), by name by default."""
    page = reader.search_models(
        session,
        filter_string=filter,
        order_by=order_by,
        max_results=max_results,
        page_token=page_token,
        scope=access.models,
        caller=access.caller,
    )
    return wire.MODELS_PAGE.response(RegisteredModelsPage.read(page, session.snapshot_id))


@router.get(
    "/registered-models/{name}", response_model=RegisteredModelResponse, summary="Get a model"
)
def get_model(
    session: SessionDep,
    access: AccessDep, name: str) -> Response:
    """One model with its tags, aliases and the latest version of each stage."""
    access.require(MODEL, name)
    model = reader.get_model(session, name)
    return wire.MODEL.response(RegisteredModelResponse.read(model, session.snapshot_id))


@router.get(
    "/registered-models/{name}/versions", response_model=ModelVersionsPage, summary="Versions"
)
def model_versions(
    session: SessionDep,
    access: AccessDep,
    name: str,
    filter: Annotated[str | None, _FILTER] = None,
    order_by: Annotated[list[str] | None, Query(max_length=8)] = None,
    max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    page_token: Annotated[str | None, _TOKEN] = None,
) -> Response:
    """Live versions of one model."""
    access.require(MODEL, name)
    page = reader.search_versions(
        session,
        filter_string=filter,
        order_by=order_by or ["version_number DESC"],
        max_results=max_results,
        page_token=page_token,
        name=name,
        caller=access.caller,
    )
    return wire.VERSIONS_PAGE.response(ModelVersionsPage.read(page, session.snapshot_id))


@router.get(
    "/registered-models/{name}/versions/{version}",
    response_model=ModelVersionResponse,
    summary="Get a version",
)
def get_version(
    session: SessionDep,
    access: AccessDep, name: str, version: int) -> Response:
    """One model version."""
    access.require(MODEL, name)
    found = reader.get_version(session, name, version)
    return wire.VERSION.response(ModelVersionResponse.read(found, session.snapshot_id))


@router.get(
    "/registered-models/{name}/versions/{version}/stage-history",
    response_model=StageHistoryResponse,
    summary="Stage history",
)
def stage_history(
    session: SessionDep,
    access: AccessDep, name: str, version: int) -> Response:
    """Every stage change of one version, oldest first."""
    access.require(MODEL, name)
    reader.get_version(session, name, version)
    transitions = reader.stage_history(session, name, version)
    history = StageHistoryResponse(name, version, transitions, session.snapshot_id)
    return wire.STAGE_HISTORY.response(history)


@router.get(
    "/registered-models/{name}/stages/{stage}",
    response_model=ModelVersionResponse,
    summary="Latest version in a stage",
)
def version_in_stage(
    session: SessionDep,
    access: AccessDep, name: str, stage: str) -> Response:
    """The highest live version in ``stage`` (None, Staging, Production, Archived)."""
    access.require(MODEL, name)
    found = reader.latest_versions(session, name, [stage])
    if not found:
        raise NotFoundError(f"Registered model {name!r} has no version in stage {stage}")
    return wire.VERSION.response(ModelVersionResponse.read(found[0], session.snapshot_id))


@router.get(
    "/registered-models/{name}/aliases/{alias}",
    response_model=ModelVersionResponse,
    summary="Version by alias",
)
def version_by_alias(
    session: SessionDep,
    access: AccessDep, name: str, alias: str) -> Response:
    """The version an alias points at."""
    access.require(MODEL, name)
    found = reader.version_by_alias(session, name, alias)
    return wire.VERSION.response(ModelVersionResponse.read(found, session.snapshot_id))


@router.get("/model-versions", response_model=ModelVersionsPage, summary="Search versions")
def search_versions(
    session: SessionDep,
    access: AccessDep,
    filter: Annotated[str | None, _FILTER] = None,
    order_by: Annotated[list[str] | None, Query(max_length=8)] = None,
    max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    page_token: Annotated[str | None, _TOKEN] = None,
) -> Response:
    """Versions matching MLflow's version filter (name, run_id, source_path, tags...)."""
    page = reader.search_versions(
        session,
        filter_string=filter,
        order_by=order_by,
        max_results=max_results,
        page_token=page_token,
        scope=access.models,
        caller=access.caller,
    )
    return wire.VERSIONS_PAGE.response(ModelVersionsPage.read(page, session.snapshot_id))


@router.get(
    "/model-versions/by-request/{request_id}",
    response_model=ModelVersionResponse,
    summary="Version by SDK request id",
)
def version_by_request(
    session: SessionDep,
    access: AccessDep, request_id: str) -> Response:
    """The version a ``registry.version_requested`` event created; 404 until numbered."""
    found = reader.version_by_request(session, request_id)
    access.require(MODEL, found.row.name)
    return wire.VERSION.response(ModelVersionResponse.read(found, session.snapshot_id))


@router.get("/registry/resolve", response_model=ResolvedModelResponse, summary="Resolve a URI")
def resolve(
    session: SessionDep,
    access: AccessDep, uri: Annotated[str, Query(max_length=2048)]) -> Response:
    """Resolve ``models:/name/3``, ``models:/name/Production``, ``models:/name@alias``
    or ``models:/name/latest``."""
    access.require(MODEL, parse_model_uri(uri).name)
    resolved = reader.resolve(session, uri)
    return wire.RESOLVED.response(ResolvedModelResponse.read(resolved, session.snapshot_id))


__all__ = ["router"]
