"""``RunstreamHook``: the ``runstream`` connection and reads through the MLflow REST API."""

from __future__ import annotations

import time
from typing import Any

import httpx
from airflow.sdk import BaseHook

from runstream.airflow import api


class RunstreamHook(BaseHook):  # type: ignore[misc]
    """Talks to one Runstream query service, named by a ``runstream`` connection.

    The connection's host is the tracking URI (``http://tracking:5000``), its password an
    optional API token; ``extra`` may name the ``runstream`` command (``runstream_bin``)
    and variables for it (``env``). Nothing is opened until a read.
    """

    conn_name_attr = "runstream_conn_id"
    default_conn_name = "runstream_default"
    conn_type = "runstream"
    hook_name = "Runstream"

    def __init__(self, runstream_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.runstream_conn_id = runstream_conn_id
        self._settings: api.ConnectionSettings | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """How Airflow's connection form shows a ``runstream`` connection."""
        return {
            "hidden_fields": ["schema", "login", "port"],
            "relabeling": {"host": "Tracking URI", "password": "Token"},
            "placeholders": {
                "host": "http://127.0.0.1:5000",
                "extra": '{"runstream_bin": "/opt/runstream/bin/runstream", "env": {}}',
            },
        }

    def connection_settings(self) -> api.ConnectionSettings:
        """The connection's settings (read once)."""
        if self._settings is None:
            conn = self.get_connection(self.runstream_conn_id)
            self._settings = api.settings_from(conn.host, conn.port, conn.password, conn.extra)
        return self._settings

    def get_conn(self) -> httpx.Client:
        """A new HTTP client on the query service (the caller closes it)."""
        s = self.connection_settings()
        return httpx.Client(base_url=s.tracking_uri, headers=s.headers(), timeout=30.0)

    def _get(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        with self.get_conn() as http:
            response = http.get(path, params=params)
        if response.status_code >= 500:
            response.raise_for_status()
        return response.status_code, response.json() if response.content else None

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run as MLflow's ``runs/get`` shows it, or None when the lake does not hold it."""
        status, body = self._get(f"{api.MLFLOW_API}/runs/get", {"run_id": run_id})
        return body["run"] if status == 200 and isinstance(body, dict) else None

    def wait_run_ended(self, run_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
        """The run once the lake shows it ended (the materializer trails the broker).

        Raises:
            TimeoutError: it did not show an end within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.get_run(run_id)
            if run is not None and run["info"]["status"] in ("FINISHED", "FAILED", "KILLED"):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} did not show an end within {timeout_s:.0f} s")
            time.sleep(0.5)

    def search_runs(self, filter_string: str, max_results: int = 1000) -> list[dict[str, Any]]:
        """Runs of every experiment that match an MLflow filter."""
        with self.get_conn() as http:
            found = http.get(f"{api.MLFLOW_API}/experiments/search", params={"max_results": "1000"})
            found.raise_for_status()
            ids = [e["experiment_id"] for e in found.json().get("experiments", [])]
            response = http.post(
                f"{api.MLFLOW_API}/runs/search",
                json={"experiment_ids": ids, "filter": filter_string, "max_results": max_results},
            )
            response.raise_for_status()
        runs: list[dict[str, Any]] = response.json().get("runs", [])
        return runs

    def runs_of_dag_run(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The runs that tasks of one DAG run started (by their lineage tags)."""
        return self.search_runs(api.dag_run_filter(dag_id, run_id))

    def model_version(
        self, model: str, stage: str | None = None, alias: str | None = None
    ) -> int | None:
        """The version in ``stage`` (the highest) or under ``alias``; None when there is none."""
        path, params = api.version_request(model, stage, alias)
        status, body = self._get(path, params)
        return api.parse_version(status, body, stage)

    def model_version_run(self, model: str, version: int) -> str | None:
        """The run id a model version came from."""
        status, body = self._get(
            f"{api.MLFLOW_API}/model-versions/get", {"name": model, "version": str(version)}
        )
        if status != 200 or not isinstance(body, dict):
            return None
        run_id = body.get("model_version", {}).get("run_id")
        return str(run_id) if run_id else None


__all__ = ["RunstreamHook"]
