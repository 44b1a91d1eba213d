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

from runstream.gateway import experiments, runs
from runstream.gateway.body import Body, read_body
from runstream.gateway.context import GatewayContext
from runstream.gateway.errors import error_response, mlflow_json

Handler = Callable[[GatewayContext, Body], Awaitable[dict[str, Any]]]

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")

TRACKING_WRITES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "experiments/create", experiments.create_experiment),
    ("POST", "experiments/update", experiments.update_experiment),
    ("POST", "experiments/delete", experiments.delete_experiment),
    ("POST", "experiments/restore", experiments.restore_experiment),
    ("POST", "experiments/set-experiment-tag", experiments.set_experiment_tag),
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
)
"""(method, path, handler) of every MLflow tracking write the gateway answers."""


def endpoint(ctx: GatewayContext, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route function of one handler."""

    async def answer(request: Request) -> Response:
        try:
            body = await read_body(request)
            return mlflow_json(await handler(ctx, body))
        except Exception as exc:  # every error is answered in MLflow's envelope
            return error_response(exc, f"{request.method} {request.url.path}")

    answer.__name__ = f"gateway_{handler.__name__}"
    answer.__doc__ = handler.__doc__
    return answer


def routers(
    ctx: GatewayContext, table: tuple[tuple[str, str, Handler], ...] = TRACKING_WRITES
) -> list[APIRouter]:
    """One router per prefix (the ``ajax-api`` copy is hidden from OpenAPI)."""
    out = []
    for prefix in PREFIXES:
        router = APIRouter(prefix=prefix, tags=["mlflow writes"],
                           include_in_schema=prefix == PREFIXES[0])
        for method, path, handler in table:
            router.add_api_route(
                f"/{path}",
                endpoint(ctx, handler),
                methods=[method],
                summary=f"MLflow {path}",
                operation_id=f"gateway_{path.replace('/', '_').replace('-', '_')}_{method}",
            )
        out.append(router)
    return out


__all__ = ["PREFIXES", "TRACKING_WRITES", "Handler", "endpoint", "routers"]
