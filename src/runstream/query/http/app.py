"""The query service's app factory: read-only HTTP over the lake.

``create_app(settings)`` builds everything from the settings it is given
(nothing at import time): the lake reader (opened read-only at startup, or on
first use when the materializer has not created the lake yet), the object store
client, the routers, the MLflow-compatible API, the error envelopes and the
web UI.

Two parts come from the composition root (``runstream.server``), since the query
package never talks to the broker: the broker's end offsets for the
read-your-writes wait (:class:`~runstream.query.read.read_after.EndOffsets`), and a
write API (the MLflow write gateway) mounted in front of the read routes, so one
address serves reads and writes as MLflow's server does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from runstream.auth import AuthConfig, Authenticator
from runstream.auth.changes import AuthEventSink
from runstream.auth.directory import Grant
from runstream.auth.oidc import OidcConfig
from runstream.config import Settings
from runstream.core.run_mirror import RunMirror
from runstream.errors import RunstreamError, TooManyAttemptsError
from runstream.events import Permission
from runstream.objectstore.client import ObjectStore
from runstream.query.http.access import AuthEdge
from runstream.query.http.deps import AppState
from runstream.query.http.errors import (
    INTERNAL,
    answer_for,
    answer_for_status,
    error_body,
    public_message,
)
from runstream.query.http.middleware import ServiceMiddleware
from runstream.query.http.mlflow import mlflow_routers
from runstream.query.http.prometheus import RequestMetrics
from runstream.query.http.routes import native_routers
from runstream.query.http.schemas.common import json_response
from runstream.query.live.port import LogTail
from runstream.query.read.auth_cache import DirectoryCache
from runstream.query.read.read_after import EndOffsets, ReadAfter, lake_observer
from runstream.query.read.session import LakeAccess
from runstream.query.ui import mount_ui

log = logging.getLogger("runstream.query")


class WriteApi(Protocol):
    """Routes mounted beside the read API (the MLflow write gateway), with a lifespan."""

    def routers(self) -> list[APIRouter]:
        """The routers, included before the read API's routes."""
        ...

    async def start(self) -> None:
        """Open what the routes need (the producer); never fails for a down broker."""
        ...

    async def stop(self) -> None:
        """Close it."""
        ...

    def expect_grants(self, expect: Callable[[Grant], None]) -> None:
        """Where to announce a grant it published that must count at once (auth on)."""
        ...

    def run_mirror(self, run_id: str) -> RunMirror | None:
        """A run these routes started, as the lake will hold it after their writes so far."""
        ...


def _version() -> str:
    try:
        return version("runstream")
    except PackageNotFoundError:
        return "0.0.0"


def _validation_message(exc: RequestValidationError | PydanticValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


def _install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        answer = answer_for(exc)
        if answer.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        body = error_body(request.url.path, answer, public_message(exc, answer), exc)
        response = json_response(body, answer.status)
        if isinstance(exc, TooManyAttemptsError):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError | PydanticValidationError)
        answer = answer_for_status(400)
        return json_response(error_body(request.url.path, answer, _validation_message(exc)), 400)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        answer = answer_for_status(exc.status_code)
        message = str(exc.detail) if exc.detail else answer.code
        if exc.status_code == 404 and message == "Not Found":
            message = f"No endpoint {request.method} {request.url.path}"
        return json_response(error_body(request.url.path, answer, message), exc.status_code)

    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response(
            error_body(request.url.path, INTERNAL, public_message(exc, INTERNAL)), 500
        )

    app.add_exception_handler(RunstreamError, domain_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    # Models built inside a route (a query string turned into a body) fail the same way.
    app.add_exception_handler(PydanticValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, bug)


def auth_edge(
    settings: Settings, lake: LakeAccess, sink: AuthEventSink | None = None
) -> AuthEdge | None:
    """The authenticator and directory cache of ``settings`` (None: auth is off)."""
    if not settings.auth:
        return None
    oidc = None
    if settings.oidc_issuer:
        oidc = OidcConfig(
            issuer=settings.oidc_issuer,
            jwks_url=settings.oidc_jwks_url,
            audience=settings.oidc_audience,
            username_claim=settings.oidc_username_claim,
            groups_claim=settings.oidc_groups_claim,
            admin_group=settings.oidc_admin_group,
        )
    config = AuthConfig(
        admin_username=settings.admin_username,
        admin_password=settings.admin_password,
        api_token=settings.api_token,
        oidc=oidc,
        max_failures=settings.auth_max_failures,
        window_s=settings.auth_window_s,
    )
    default = Permission(settings.auth_default_permission)
    return AuthEdge(Authenticator(config), DirectoryCache(lake, default), sink)


def create_app(
    settings: Settings,
    *,
    lake: LakeAccess | None = None,
    store: ObjectStore | None = None,
    end_offsets: EndOffsets | None = None,
    write_api: WriteApi | None = None,
    live: LogTail | None = None,
    auth_sink: AuthEventSink | None = None,
) -> FastAPI:
    """Build the query service for ``settings``.

    Args:
        settings: this process's settings (built at the process edge).
        lake: the lake access to use (tests may pass one); built from settings otherwise.
        store: the object store client; built from settings otherwise.
        end_offsets: the broker's end offsets; without them, reads that do not send
            ``X-Runstream-Read-After`` do not wait for earlier writes.
        write_api: routes that write (the MLflow gateway); without them MLflow's
            write endpoints answer 501.
        live: the log reader of the live tail (the composition root passes a Kafka
            one; without it the live endpoints answer 503).
        auth_sink: where ``/api/v1/auth`` publishes access-control changes (the
            composition root passes a Kafka one; without it changes answer 503).

    Returns:
        The FastAPI app; its lifespan opens the lake read-only and closes it.
    """
    lake_access = lake or LakeAccess(settings, index_searches=True)
    state = AppState(
        settings=settings,
        lake=lake_access,
        store=store or ObjectStore.from_settings(settings),
        metrics=RequestMetrics(),
        auth=auth_edge(settings, lake_access, auth_sink),
        read_after=ReadAfter(
            lake_observer(lake_access), end_offsets, settings.read_after_timeout_s
        ),
        live=live,
        run_mirror=write_api.run_mirror if write_api is not None else None,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not await run_in_threadpool(state.lake.start):
            log.warning("the lake is not there yet; reads answer 503 until it is")
        if end_offsets is not None:
            await end_offsets.start()
        if write_api is not None:
            await write_api.start()
        try:
            yield
        finally:
            if write_api is not None:
                await write_api.stop()
            if end_offsets is not None:
                await end_offsets.stop()
            if auth_sink is not None:
                await auth_sink.close()
            await run_in_threadpool(state.lake.close)

    app = FastAPI(
        title="Runstream query API",
        version=_version(),
        summary="Read-only access to Runstream's lake: runs, metrics, artifacts, registry, SQL.",
        lifespan=lifespan,
    )
    app.state.runstream = state
    if write_api is not None and state.auth is not None:
        write_api.expect_grants(state.auth.directories.expect)
    _install_error_handlers(app)
    writes = write_api.routers() if write_api is not None else []
    for router in (*writes, *native_routers(), *mlflow_routers()):
        app.include_router(router)
    mount_ui(app)
    app.add_middleware(ServiceMiddleware, state=state)
    return app


__all__ = ["WriteApi", "create_app"]
