"""Reads through MLflow's REST read API, the one API all three systems serve.

Every read in a benchmark goes through :class:`Reader`, the same code against every system:
the requests a dashboard or MLflow's client sends (``runs/search``, ``runs/get``,
``metrics/get-history`` paged 25,000 at a time as ``MlflowClient.get_metric_history`` does,
``metrics/get-history-bulk-interval`` for a downsampled history). FastTrackML has no
``get-history-bulk-interval``; its downsampled read is the one its own UI makes, the Aim API's
``POST /aim/api/runs/search/metric`` with ``steps``, whose binary answer is decoded just far
enough to count the points.

Standard library only (runs in every system's client interpreter); one keep-alive connection
per reader, so one reader belongs to one thread.
"""

from __future__ import annotations

import http.client
import json
import struct
import urllib.parse
from typing import Any

from benchmarks.workloads.base import wait_until

# MLflow's client pages metric history by this many points (GET_METRIC_HISTORY_MAX_RESULTS).
HISTORY_PAGE = 25_000
SEARCH_PAGE = 1_000
API = "/api/2.0/mlflow"


class HttpStatusError(OSError):
    """The server answered with an error status."""


class Reader:
    """MLflow REST reads against one system; no connection is opened until the first call."""

    def __init__(self, system: str, url: str, timeout_s: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self.system = system
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        """Close the keep-alive connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def raw(self, method: str, path: str, body: Any = None) -> bytes:
        """One request; the response body. Reconnects once if the server closed the socket."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout_s)
            try:
                self._conn.request(method, path, body=payload, headers=headers)
                response = self._conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.status >= 400:
                raise HttpStatusError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
            return data
        raise AssertionError("unreachable")

    def get(self, path: str, **query: Any) -> Any:
        """GET a JSON document; list values become repeated query parameters."""
        qs = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        return json.loads(self.raw("GET", f"{path}?{qs}" if qs else path) or b"{}")

    def post(self, path: str, body: Any) -> Any:
        """POST a JSON document, return the JSON answer."""
        return json.loads(self.raw("POST", path, body) or b"{}")

    # --- experiments and runs ---------------------------------------------------------------

    def experiment_id(self, name: str) -> str:
        """Id of the experiment with this name (raises when it is not visible)."""
        answer = self.get(f"{API}/experiments/get-by-name", experiment_name=name)
        return str(answer["experiment"]["experiment_id"])

    def wait_experiment_id(self, name: str, timeout_s: float) -> str:
        """Id of the experiment with this name, waiting until it is visible."""
        found: list[str] = []

        def check() -> bool:
            found.append(self.experiment_id(name))
            return True

        wait_until(check, timeout_s, 0.1, f"experiment {name}")
        return found[-1]

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        order_by: list[str] | None = None,
        max_results: int = SEARCH_PAGE,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """One page of ``runs/search``: ``{"runs": [...], "next_page_token": ...}``."""
        body: dict[str, Any] = {"experiment_ids": experiment_ids, "max_results": max_results,
                                "run_view_type": "ACTIVE_ONLY"}
        if filter_string:
            body["filter"] = filter_string
        if order_by:
            body["order_by"] = order_by
        if page_token:
            body["page_token"] = page_token
        result: dict[str, Any] = self.post(f"{API}/runs/search", body)
        return result

    def all_runs(
        self, experiment_ids: list[str], filter_string: str = "", page: int = SEARCH_PAGE,
        max_pages: int = 100_000,
    ) -> list[dict[str, Any]]:
        """Every run matching, following page tokens (bounded by ``max_pages``)."""
        runs: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(max_pages):
            answer = self.search_runs(experiment_ids, filter_string, None, page, token)
            runs.extend(answer.get("runs", []))
            token = answer.get("next_page_token") or None
            if not token:
                break
        return runs

    def get_run(self, run_id: str) -> dict[str, Any]:
        """``runs/get``: the run with its latest metrics."""
        run: dict[str, Any] = self.get(f"{API}/runs/get", run_id=run_id)["run"]
        return run

    def get_run_exists(self, run_id: str) -> bool:
        """True once ``runs/get`` answers for the run (errors while it does not)."""
        return bool(self.get_run(run_id))

    # --- metric history ---------------------------------------------------------------------

    def history(self, run_id: str, key: str, max_pages: int = 10_000) -> int:
        """Read a metric's whole history, paged as MLflow's client pages it; points read."""
        count = 0
        token: str | None = None
        for _ in range(max_pages):
            answer = self.get(f"{API}/metrics/get-history", run_id=run_id, metric_key=key,
                              max_results=HISTORY_PAGE, page_token=token)
            count += len(answer.get("metrics", []))
            token = answer.get("next_page_token") or None
            if not token:
                break
        return count

    def history_downsampled(self, run_id: str, key: str, points: int) -> int:
        """Read a metric's history downsampled to about ``points``; points returned."""
        if self.system == "fasttrackml":
            body = {"metrics": [{"key": key, "context": {}}], "query": f"run.hash == '{run_id}'",
                    "steps": points, "x_axis": "step", "report_progress": False}
            # The server takes the density from the query string (``p``), not only the body.
            path = f"/aim/api/runs/search/metric?p={points}"
            return aim_point_count(self.raw("POST", path, body))
        answer = self.get(f"{API}/metrics/get-history-bulk-interval", run_ids=[run_id],
                          metric_key=key, max_results=points)
        return len(answer.get("metrics", []))


def latest_steps(run: dict[str, Any]) -> dict[str, int]:
    """``{metric key: step of its latest value}`` of a run as ``runs/get``/``search`` return it."""
    return {m["key"]: int(m.get("step", 0)) for m in run.get("data", {}).get("metrics", [])}


def run_id_of(run: dict[str, Any]) -> str:
    """The run id of a run document (``run_id``, or ``run_uuid`` of older servers)."""
    info = run["info"]
    return str(info.get("run_id") or info["run_uuid"])


def aim_point_count(data: bytes) -> int:
    """Points in an Aim-encoded metric search answer (FastTrackML's UI API).

    The stream is a sequence of ``(uint32 key length, key, uint32 value length, value)``;
    each trace's values travel as one ``.../values/blob`` of float64 after a type byte.
    """
    count, i = 0, 0
    while i + 4 <= len(data):
        (key_len,) = struct.unpack_from("<I", data, i)
        key = data[i + 4 : i + 4 + key_len]
        i += 4 + key_len
        (value_len,) = struct.unpack_from("<I", data, i)
        i += 4 + value_len
        if key.endswith(b"\xfevalues\xfeblob\xfe") or key.endswith(b"\xfevalues\xfeblob"):
            count += (value_len - 1) // 8
    return count
