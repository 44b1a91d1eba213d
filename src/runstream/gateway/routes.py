"""The gateway's routes under ``/api/2.0/mlflow/`` and ``/ajax-api/2.0/mlflow/``.

Each route reads the request's JSON body, calls one handler and answers MLflow's
JSON, or MLflow's error envelope (:mod:`runstream.gateway.errors`). The routes
catch their own errors, so the gateway answers the same whether it is mounted in
the query service's app or runs alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from runstream.auth.caller import caller_of
from runstream.events import Permission
from runstream.events.fields import actor_name
from runstream.gateway import experiments, logged_models, registry, runs
from runstream.gateway.artifacts import ArtifactProxy, checked_path
from runstream.gateway.body import Body, read_body
from runstream.gateway.context import GatewayContext
from runstream.gateway.errors import error_response, mlflow_json
from runstream.gateway.guard import authorize, authorize_artifact, grant_creator

Handler = Callable[[GatewayContext, Body], Awaitable[dict[str, Any]]]

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

WRITES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "experiments/create", experiments.create_experiment),
    ("POST", "experiments/update", experiments.update_experiment),
    ("POST", "experiments/delete", experiments.delete_experiment),
    ("POST", "experiments/restore", experiments.restore_experiment),
    ("POST", "experiments/set-experiment-tag", experiments.set_experiment_tag),
    ("POST", "experiments/delete-experiment-tag", experiments.delete_experiment_tag),
    ("POST", "runs/create", runs.create_run),
    ("POST", "runs/update", runs.update_run),
    ("POST", "runs/delete", runs.delete_run),
    ("POST", "runs/restore", runs.restore_run),
    ("POST", "runs/log-metric", runs.log_metric),
    ("POST", "runs/log-parameter", runs.log_param),
    ("POST", "runs/set-tag", runs.set_tag),
    ("POST", "runs/delete-tag", runs.delete_tag),
    ("POST", "runs/log-batch", runs.log_batch),
    ("POST", "runs/log-inputs", runs.log_inputs),
    ("POST", "runs/outputs", runs.log_outputs),
    ("POST", "logged-models", logged_models.create_logged_model),
    ("POST", "logged-models/search", logged_models.search_logged_models),
    ("GET", "logged-models/{model_id}", logged_models.get_logged_model),
    ("PATCH", "logged-models/{model_id}", logged_models.finalize_logged_model),
    ("DELETE", "logged-models/{model_id}", logged_models.delete_logged_model),
    ("PATCH", "logged-models/{model_id}/tags", logged_models.set_logged_model_tags),
    ("DELETE", "logged-models/{model_id}/tags/{tag_key:path}",
     logged_models.delete_logged_model_tag),
    ("POST", "logged-models/{model_id}/params", logged_models.log_logged_model_params),
    ("POST", "registered-models/create", registry.create_registered_model),
    ("POST", "registered-models/rename", registry.rename_registered_model),
    ("PATCH", "registered-models/update", registry.update_registered_model),
    ("DELETE", "registered-models/delete", registry.delete_registered_model),
    ("POST", "registered-models/set-tag", registry.set_registered_model_tag),
    ("DELETE", "registered-models/delete-tag", registry.delete_registered_model_tag),
    ("POST", "registered-models/alias", registry.set_alias),
    ("DELETE", "registered-models/alias", registry.delete_alias),
    ("POST", "model-versions/create", registry.create_model_version),
    ("PATCH", "model-versions/update", registry.update_model_version),
    ("DELETE", "model-versions/delete", registry.delete_model_version),
    ("POST", "model-versions/transition-stage", registry.transition_stage),
    ("POST", "model-versions/set-tag", registry.set_model_version_tag),
    ("DELETE", "model-versions/delete-tag", registry.delete_model_version_tag),
)
"""(method, path, handler) of every MLflow write the gateway answers (and the logged-model
reads, which need the gateway's lookups)."""


def _operation(path: str) -> str:
    """An OpenAPI operation id from a route path (``{model_id}`` -> ``model_id``)."""
    for old, new in (("{", ""), ("}", ""), (":path", ""), ("/", "_"), ("-", "_")):
        path = path.replace(old, new)
    return path


def endpoint(
    ctx: GatewayContext, handler: Handler, method: str = "POST", path: str = ""
) -> Callable[[Request], Awaitable[Response]]:
    """The route function of one handler: authorize (``gateway.guard``), run, answer."""

    async def answer(request: Request) -> Response:
        try:
            caller = caller_of(request.scope.get("state", {}))
            actor = actor_name(caller.principal.username) if caller.auth_on else None
            body = await read_body(request, actor)
            await authorize(ctx, caller, method, path, body)
            result = await handler(ctx, body)
            await grant_creator(ctx, caller, path, result)
            return mlflow_json(result)
        except Exception as exc:  # every error is answered in MLflow's envelope
            return error_response(exc, f"{request.method} {request.url.path}")

    answer.__name__ = f"gateway_{handler.__name__}"
    answer.__doc__ = handler.__doc__
    return answer


ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")


def _guarded(
    proxy: ArtifactProxy, answer: Callable[..., Awaitable[Response]], need: Permission
) -> Callable[..., Awaitable[Response]]:
    async def guarded(request: Request, path: str = "") -> Response:
        try:
            # A listing names its folder in ``?path=``; every other route in the URL.
            key = path or request.query_params.get("path") or ""
            caller = caller_of(request.scope.get("state", {}))
            await authorize_artifact(proxy.ctx, caller, checked_path(key, allow_root=True), need)
            return await answer(request, path)
        except Exception as exc:  # every error is answered in MLflow's envelope
            return error_response(exc, f"{request.method} {request.url.path}")

    guarded.__name__ = answer.__name__
    guarded.__doc__ = answer.__doc__
    return guarded


def artifact_routers(proxy: ArtifactProxy) -> list[APIRouter]:
    """The artifact proxy's routes under both prefixes."""

    async def upload(request: Request, path: str) -> Response:
        """Upload one file (PUT)."""
        return await proxy.upload(request, path)

    async def download(request: Request, path: str) -> Response:
        """Download one file."""
        return await proxy.download(path)

    async def listing(request: Request, path: str = "") -> Response:
        """List one directory level (``?path=``)."""
        return await proxy.listing(request)

    async def delete(request: Request, path: str) -> Response:
        """Delete one file."""
        return await proxy.delete(path)

    table = (
        ("PUT", "/artifacts/{path:path}", upload),
        ("GET", "/artifacts", listing),
        ("GET", "/artifacts/{path:path}", download),
        ("DELETE", "/artifacts/{path:path}", delete),
        ("POST", "/mpu/create/{path:path}", proxy.mpu_create),
        ("POST", "/mpu/complete/{path:path}", proxy.mpu_complete),
        ("POST", "/mpu/abort/{path:path}", proxy.mpu_abort),
    )
    out = []
    for prefix in ARTIFACT_PREFIXES:
        router = APIRouter(prefix=prefix, tags=["mlflow artifacts"],
                           include_in_schema=prefix == ARTIFACT_PREFIXES[0])
        for method, path, answer in table:
            name = getattr(answer, "__name__", "artifacts")
            router.add_api_route(
                path,
                _guarded(proxy, answer, Permission.READ if method == "GET" else Permission.EDIT),
                methods=[method],
                summary=f"MLflow artifacts {method} {path}",
                operation_id=f"gateway_artifacts_{name}_{method}_{prefix.count('ajax')}",
            )
        out.append(router)
    return out


def routers(
    ctx: GatewayContext, table: tuple[tuple[str, str, Handler], ...] = WRITES
) -> list[APIRouter]:
    """One router per prefix (the ``ajax-api`` copy is hidden from OpenAPI)."""
    out = []
    for prefix in PREFIXES:
        router = APIRouter(prefix=prefix, tags=["mlflow writes"],
                           include_in_schema=prefix == PREFIXES[0])
        for method, path, handler in table:
            router.add_api_route(
                f"/{path}",
                endpoint(ctx, handler, method, path),
                methods=[method],
                summary=f"MLflow {path}",
                operation_id=f"gateway_{_operation(path)}_{method}",
            )
        out.append(router)
    return out


__all__ = [
    "ARTIFACT_PREFIXES",
    "PREFIXES",
    "WRITES",
    "Handler",
    "artifact_routers",
    "endpoint",
    "routers",
]
