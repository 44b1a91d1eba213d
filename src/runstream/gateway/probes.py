"""The probes MLflow's server answers and MLflow's client (or a load balancer) sends.

``GET /health`` answers ``OK`` and ``GET /version`` the server's version, as MLflow's
server does. ``GET /api/3.0/mlflow/server-info`` tells MLflow's client what the server
supports: Runstream advertises no multipart proxying (large files stream through
``PUT`` to the proxy, which stores them in parts itself), so a client never needs to
reach the object store directly.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from runstream.gateway.errors import mlflow_json


def _version() -> str:
    try:
        return version("runstream")
    except PackageNotFoundError:
        return "0.0.0"


SERVER_INFO = {
    "store_type": None,
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": False,
    "multipart_downloads_enabled": False,
    "presigned_upload_run_id_supported": False,
    "presigned_upload_model_id_supported": False,
    "features_enabled": {"gateway": False},
}
"""What ``server-info`` answers (MLflow 3.x's keys)."""


def probe_router() -> APIRouter:
    """``/health``, ``/version`` and ``server-info`` (both prefixes)."""
    router = APIRouter(tags=["mlflow probes"])

    async def health() -> Response:
        """``OK`` while the process serves."""
        return PlainTextResponse("OK")

    async def server_version() -> Response:
        """The server's version."""
        return PlainTextResponse(_version())

    async def server_info() -> Response:
        """What the server supports, for MLflow's client."""
        return mlflow_json(SERVER_INFO)

    router.add_api_route("/health", health, methods=["GET"], summary="MLflow health probe")
    router.add_api_route("/version", server_version, methods=["GET"], summary="Server version")
    for prefix in ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
        router.add_api_route(f"{prefix}/server-info", server_info, methods=["GET"],
                             summary="MLflow server-info", include_in_schema="ajax" not in prefix,
                             operation_id=f"gateway_server_info_{prefix.count('ajax')}")
    return router


__all__ = ["SERVER_INFO", "probe_router"]
