"""The SDK's one door to the query service: a small, typed HTTP client (httpx).

Everything the SDK must *read* goes through here: the ingest configuration (broker,
topics, artifact bucket), experiments by name, run details, the version number the
materializer gave a registration request, ``models:/`` URI resolution (the
endpoints of ``docs/contracts.md``), and searches, histories and artifact lists
through the service's MLflow REST read endpoints (:meth:`QueryClient.mlflow`). Tests hand in an
``httpx`` transport (``httpx.MockTransport``) instead of a network.

Errors: a 404 becomes ``None`` (the thing does not exist, or is not visible yet);
a connection failure, a timeout or a 5xx becomes
:class:`~runstream.errors.ServiceError` naming the URL; a 401/403 says the token is
missing or wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from runstream.errors import ServiceError, ValidationError
from runstream.sdk.entities import IngestConfig, ResolvedModel
from runstream.sdk.read_after import READ_AFTER_HEADER

API = "/api/v1"
MLFLOW_API = "/api/2.0/mlflow"


def _message(response: httpx.Response) -> str:
    """The message of an error answer (MLflow's envelope or Runstream's), else its text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return response.text[:300]


class QueryClient:
    """Reads from the query service; the constructor opens no connection.

    Args:
        base_url: the tracking URI (``http://host:port``).
        token: bearer token for an API that requires one.
        timeout_s: per-request timeout.
        transport: an ``httpx`` transport to use instead of the network (tests).
        read_after: gives the ``X-Runstream-Read-After`` value for the next request
            (this client's own acknowledged writes), or None.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        read_after: Callable[[], str | None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._read_after = read_after
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    def close(self) -> None:
        """Closes the connection pool."""
        self._http.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """GETs a JSON object; None on 404."""
        return self._request("GET", path, params=params)

    def mlflow(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """POSTs to one of MLflow's REST read endpoints (``runs/search``); None on 404.

        The query service answers these from the same readers as its own API.

        Raises:
            ValidationError: the service refused the arguments (MLflow's
                ``INVALID_PARAMETER_VALUE``, e.g. a bad filter string), with its message.
            ServiceError: unreachable, a 5xx, or an answer that is not a JSON object.
        """
        return self._request("POST", f"{MLFLOW_API}/{endpoint}", json=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        url = f"{self.base_url}{path}"
        after = self._read_after() if self._read_after is not None else None
        headers = {READ_AFTER_HEADER: after} if after else None
        try:
            response = self._http.request(method, path, params=params, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"query service at {self.base_url} is unreachable ({type(exc).__name__}: "
                f"{exc}); start it (`runstream up`) or check the tracking URI"
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise ServiceError(
                f"{url}: HTTP {response.status_code}; set RUNSTREAM_API_TOKEN to the API's token"
            )
        if response.status_code == 400:
            raise ValidationError(_message(response))
        if response.status_code >= 400:
            raise ServiceError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ServiceError(f"{url}: the answer is not JSON") from exc
        if not isinstance(body, dict):
            raise ServiceError(f"{url}: expected a JSON object")
        return body

    def ingest_config(self) -> IngestConfig:
        """Reads ``GET /api/v1/ingest-config``.

        Raises:
            ServiceError: unreachable, or the answer lacks a field (named).
        """
        body = self._get(f"{API}/ingest-config")
        if body is None:
            raise ServiceError(f"{self.base_url} has no {API}/ingest-config endpoint")
        try:
            topics = body["topics"]
            artifacts = body["artifacts"]
            return IngestConfig(
                bootstrap_servers=str(body["kafka"]["bootstrap_servers"]),
                topic_events=str(topics["events"]),
                topic_registry=str(topics["registry"]),
                artifacts_bucket=str(artifacts["bucket"]),
                s3_endpoint=str(artifacts.get("endpoint_url") or ""),
                s3_region=str(artifacts.get("region") or ""),
            )
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"{self.base_url}{API}/ingest-config: missing field {exc}") from exc

    def experiment_by_name(self, name: str) -> dict[str, Any] | None:
        """The experiment named ``name`` (``experiment_id``, ``artifact_location``, ...)."""
        body = self._get(f"{API}/experiments/by-name/{quote(name, safe='')}")
        if body is None:
            return None
        # Tolerate both a bare object and one wrapped as {"experiment": {...}}.
        inner = body.get("experiment", body)
        return inner if isinstance(inner, dict) else None

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The run (``info`` and ``data``), or None if the lake does not hold it (yet)."""
        body = self._get(f"{API}/runs/{quote(run_id, safe='')}")
        if body is None:
            return None
        inner = body.get("run", body)
        return inner if isinstance(inner, dict) else None

    def model_version_by_request(self, request_id: str) -> dict[str, Any] | None:
        """The version created for a ``registry.version_requested`` event, once numbered."""
        return self._get(f"{API}/model-versions/by-request/{quote(request_id, safe='')}")

    def resolve_model_uri(self, uri: str) -> ResolvedModel | None:
        """Resolves ``models:/name/3``, ``models:/name/Stage`` or ``models:/name@alias``."""
        body = self._get(f"{API}/registry/resolve", params={"uri": uri})
        if body is None:
            return None
        try:
            run_id = body.get("run_id")
            return ResolvedModel(
                name=str(body["name"]),
                version=int(body["version"]),
                source=str(body["source"]),
                run_id=str(run_id) if run_id else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(f"{self.base_url}{API}/registry/resolve: bad answer") from exc

    def logged_model_uri(self, model_id: str) -> str | None:
        """Where an MLflow 3 logged model's files are (as MLflow's REST API shows it)."""
        body = self._get(f"{MLFLOW_API}/logged-models/{quote(model_id, safe='')}")
        if body is None:
            return None
        try:
            return str(body["model"]["info"]["artifact_uri"])
        except (KeyError, TypeError) as exc:
            raise ServiceError(f"{self.base_url}{MLFLOW_API}/logged-models: bad answer") from exc

    def registered_model_exists(self, name: str) -> bool:
        """Whether a registered model exists, through MLflow's REST read endpoint."""
        body = self._get("/api/2.0/mlflow/registered-models/get", params={"name": name})
        return body is not None


__all__ = ["API", "MLFLOW_API", "IngestConfig", "QueryClient", "ResolvedModel"]
