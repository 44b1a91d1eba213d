"""MLflow's REST read API over the lake, under ``/api/2.0/mlflow/`` and ``/ajax-api/2.0/mlflow/``.

MLflow's own clients (``MlflowClient(tracking_uri=...)``, ``mlflow.search_runs``)
and dashboards built for MLflow read Runstream through these routes. Field
names, paging and the error envelope are MLflow's. Writes are answered by the
write gateway (``runstream.gateway``) when the composition root mounts it in
front of these routes; every other write endpoint answers 501 ``NOT_IMPLEMENTED``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from runstream.config import Settings
from runstream.query.http.access import Access, AccessDep
from runstream.query.http.deps import (
    SessionDep,
    SettingsDep,
    StateDep,
    own_run,
    remember_session,
    wait_for_writes,
)
from runstream.query.http.errors import answer_for_status, error_body
from runstream.query.http.mlflow import registry, tracking
from runstream.query.http.mlflow.args import Args, read_args
from runstream.query.http.schemas.common import json_response
from runstream.query.read.session import ReadSession

Handler = Callable[[ReadSession, Args, Settings, Access], dict[str, Any]]

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

ROUTES: tuple[tuple[str, Handler], ...] = (
    ("experiments/search", tracking.search_experiments),
    ("experiments/get", tracking.get_experiment),
    ("experiments/get-by-name", tracking.get_experiment_by_name),
    ("runs/get", tracking.get_run),
    ("runs/search", tracking.search_runs),
    ("metrics/get-history", tracking.get_metric_history),
    ("metrics/get-history-bulk-interval", tracking.get_metric_history_bulk_interval),
    ("artifacts/list", tracking.list_artifacts_handler),
    ("registered-models/search", registry.search_registered_models),
    ("registered-models/get", registry.get_registered_model),
    ("registered-models/get-latest-versions", registry.get_latest_versions),
    ("registered-models/alias", registry.get_model_version_by_alias),
    ("model-versions/search", registry.search_model_versions),
    ("model-versions/get", registry.get_model_version),
    ("model-versions/get-download-uri", registry.get_model_version_download_uri),
)
"""(path, handler): each answers GET and POST, as reads are safe either way..."""

GET_ONLY = frozenset({"registered-models/alias"})
"""...except where MLflow's POST on the same path is a write (setting an alias)."""

READ_ONLY_MESSAGE = (
    "This Runstream server is read-only for this MLflow write: a server started with "
    "`runstream serve --role read` answers no writes (log with the Runstream SDK, or "
    "through a server with the write gateway, roles `all` and `write`), and the gateway "
    "answers the endpoints listed in docs/gateway.md."
)


def _endpoint(handler: Handler) -> Callable[..., Awaitable[Response]]:
    async def endpoint(
        request: Request, session: SessionDep, settings: SettingsDep, access: AccessDep
    ) -> Response:
        args = await read_args(request)
        return json_response(await run_in_threadpool(handler, session, args, settings, access))

    endpoint.__name__ = f"mlflow_{handler.__name__}"
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def get_run(
    request: Request, state: StateDep, settings: SettingsDep, access: AccessDep
) -> Response:
    """``runs/get``. A run this server's gateway started answers at once: from the
    gateway's mirror of its writes while the lake does not hold them yet, else from
    the lake (``X-Runstream-Freshness: mirrored`` or ``held``); other runs wait for
    the server's own writes as every read does."""
    args = await read_args(request)
    own = own_run(request, state, tracking.run_id_of(args))
    if own is not None and own[1] is not None:
        return json_response(tracking.run_from_mirror(own[1], settings, access))
    freshness = own[0] if own is not None else await wait_for_writes(request, state)

    def read() -> dict[str, Any]:
        with state.lake.session(min_snapshot=freshness.snapshot_id) as session:
            remember_session(request, session)
            return tracking.get_run(session, args, settings, access)

    return json_response(await run_in_threadpool(read))


async def write_refused(request: Request) -> Response:
    """Every MLflow write endpoint: 501 NOT_IMPLEMENTED, in MLflow's envelope."""
    answer = answer_for_status(501)
    message = f"{READ_ONLY_MESSAGE} ({request.method} {request.url.path})"
    return json_response(error_body(request.url.path, answer, message), 501)


def mlflow_routers() -> list[APIRouter]:
    """The MLflow-compatible routers (the ``ajax-api`` copy is hidden from OpenAPI)."""
    routers = []
    for prefix in PREFIXES:
        router = APIRouter(prefix=prefix, tags=["mlflow"], include_in_schema=prefix == PREFIXES[0])
        for path, handler in ROUTES:
            endpoint = get_run if handler is tracking.get_run else _endpoint(handler)
            for method in ["GET"] if path in GET_ONLY else ["GET", "POST"]:
                router.add_api_route(
                    f"/{path}",
                    endpoint,
                    methods=[method],
                    summary=f"MLflow {path}",
                    operation_id=f"mlflow_{path.replace('/', '_').replace('-', '_')}_{method}",
                )
        router.add_api_route(
            "/{path:path}",
            write_refused,
            methods=["POST", "PATCH", "PUT", "DELETE"],
            include_in_schema=False,
        )
        routers.append(router)
    return routers


__all__ = ["GET_ONLY", "PREFIXES", "READ_ONLY_MESSAGE", "ROUTES", "mlflow_routers", "write_refused"]
