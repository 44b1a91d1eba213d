"""The connection's settings and the MLflow REST reads the hook and the trigger share.

Pure functions (no Airflow, no I/O): what a ``runstream`` connection means, which
request answers a question, and how to read the answer. The hook sends them with a
blocking ``httpx.Client``, the trigger with an ``httpx.AsyncClient``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MLFLOW_API = "/api/2.0/mlflow"
DEFAULT_PORT = 5000


@dataclass(frozen=True)
class ConnectionSettings:
    """What a ``runstream`` connection holds.

    Attributes:
        tracking_uri: the query service's URL (``host``, or ``extra.tracking_uri``).
        token: the API token (the connection's password), or "".
        runstream_bin: the ``runstream`` command that runs projects (``extra.runstream_bin``,
            else :func:`default_binary`).
        env: extra variables for that command (``extra.env``, e.g. ``RUNSTREAM_KAFKA_BOOTSTRAP``).
    """

    tracking_uri: str
    token: str = ""
    runstream_bin: str = "runstream"
    env: dict[str, str] = field(default_factory=dict)

    def command_env(self) -> dict[str, str]:
        """The variables that point ``runstream run`` (and MLflow's client) at this service."""
        env = dict(self.env)
        env["RUNSTREAM_TRACKING_URI"] = self.tracking_uri
        env["MLFLOW_TRACKING_URI"] = self.tracking_uri
        if self.token:
            env["RUNSTREAM_API_TOKEN"] = self.token
            env["MLFLOW_TRACKING_TOKEN"] = self.token
        return env

    def headers(self) -> dict[str, str]:
        """The HTTP headers of a read."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def default_binary() -> str:
    """The ``runstream`` installed beside this interpreter (``pip install 'runstream[airflow]'``).

    Airflow's task processes do not always have their environment's ``bin`` on PATH, so
    the command of the environment the provider runs in comes first, then PATH's.
    """
    beside = Path(sys.executable).parent / "runstream"
    if beside.is_file():
        return str(beside)
    return shutil.which("runstream") or "runstream"


def _extras(extra: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if isinstance(extra, Mapping):
        return extra
    if isinstance(extra, str) and extra:
        value = json.loads(extra)
        if not isinstance(value, Mapping):
            raise ValueError("the extra of a runstream connection must be a JSON object")
        return value
    return {}


def settings_from(
    host: str | None, port: int | None, password: str | None, extra: Mapping[str, Any] | str | None
) -> ConnectionSettings:
    """Reads a connection's fields (``extra`` as a dict or its JSON text).

    Raises:
        ValueError: neither a host nor ``extra.tracking_uri``, or a malformed ``extra``.
    """
    extras = _extras(extra)
    uri = str(extras.get("tracking_uri") or "")
    if not uri:
        if not host:
            raise ValueError("a runstream connection needs a host (the tracking URI)")
        uri = host if "://" in host else f"http://{host}"
        if port and uri.count(":") < 2:
            uri = f"{uri}:{port}"
        elif "://" not in host and not port:
            uri = f"{uri}:{DEFAULT_PORT}"
    env = extras.get("env") or {}
    if not isinstance(env, Mapping):
        raise ValueError("extra.env of a runstream connection must be an object")
    binary = str(extras.get("runstream_bin") or default_binary())
    return ConnectionSettings(
        uri.rstrip("/"), password or "", binary, {str(k): str(v) for k, v in env.items()}
    )


def version_request(model: str, stage: str | None, alias: str | None) -> tuple[str, dict[str, str]]:
    """The GET (path, query) that tells which version holds a stage or an alias."""
    if alias is not None:
        return f"{MLFLOW_API}/registered-models/alias", {"name": model, "alias": alias}
    return f"{MLFLOW_API}/registered-models/get-latest-versions", {
        "name": model,
        "stages": str(stage),
    }


def parse_version(status: int, body: Any, stage: str | None) -> int | None:
    """The version number in the answer to :func:`version_request`; None when there is none."""
    if status == 404 or not isinstance(body, dict):
        return None
    if "model_version" in body:
        return int(body["model_version"]["version"])
    numbers = [
        int(v["version"])
        for v in body.get("model_versions", [])
        if stage is None or str(v.get("current_stage", "")).lower() == stage.lower()
    ]
    return max(numbers) if numbers else None


def metrics_of(run: Mapping[str, Any]) -> dict[str, float]:
    """The latest value of each metric of a run (MLflow's ``runs/get`` JSON)."""
    return {m["key"]: float(m["value"]) for m in run.get("data", {}).get("metrics", [])}


def tags_of(run: Mapping[str, Any]) -> dict[str, str]:
    """The tags of a run (MLflow's ``runs/get`` JSON)."""
    return {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}


def dag_run_filter(dag_id: str, run_id: str) -> str:
    """The MLflow search filter of the runs one DAG run started."""

    def quoted(value: str) -> str:
        return "'" + value.replace("'", "\\'") + "'"

    return f"tags.`airflow.dag_id` = {quoted(dag_id)} AND tags.`airflow.run_id` = {quoted(run_id)}"


def result_line(lines: list[str]) -> dict[str, Any] | None:
    """The ``runstream run --json`` result: the last JSON object of the output.

    The command's own output comes first; the result (maybe spread over several lines)
    is the last object with ``run_id`` and ``exit_code``.
    """
    for first in reversed(range(len(lines))):
        if not lines[first].lstrip().startswith("{"):
            continue
        for last in range(first, len(lines)):
            try:
                value = json.loads("".join(lines[first : last + 1]))
            except ValueError:
                continue
            if isinstance(value, dict) and "run_id" in value and "exit_code" in value:
                return value
            break
    return None


__all__ = [
    "MLFLOW_API",
    "ConnectionSettings",
    "dag_run_filter",
    "default_binary",
    "metrics_of",
    "parse_version",
    "result_line",
    "settings_from",
    "tags_of",
    "version_request",
]
