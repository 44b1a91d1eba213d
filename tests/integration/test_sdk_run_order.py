"""A run is never visible with a later event of its own missing an earlier one.

Five runs, each with one param and one metric, are logged through the SDK while
another thread polls each run through the query service every 20 ms. No answer may
show a run FINISHED (its last event) without its metric (an earlier event).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from materializer_support import materializer, wait_for
from test_query_helpers import per_test_settings, serve

from runstream.config import Settings
from runstream.errors import NotFoundError
from runstream.kafka.admin import ensure_topics
from runstream.sdk.client import RunstreamClient

RUNS = 5


def _poll_api(
    url: str, run_ids: list[str], stop: threading.Event, seen: list[tuple[str, str, int]]
) -> None:
    """The query service's answers: (run id, status, number of metrics)."""
    with httpx.Client(base_url=url, timeout=5.0) as http:
        while not stop.is_set():
            for run_id in list(run_ids):
                response = http.get(f"/api/v1/runs/{run_id}")
                if response.status_code == 200:
                    body = response.json()
                    seen.append((run_id, body["info"]["status"], len(body["data"]["metrics"])))
            time.sleep(0.02)


def _poll_sdk(
    client: RunstreamClient,
    run_ids: list[str],
    stop: threading.Event,
    seen: list[tuple[str, str, int]],
) -> None:
    """The SDK's ``get_run`` answers, as a user polling it sees them."""
    while not stop.is_set():
        for run_id in list(run_ids):
            try:
                run = client.get_run(run_id)
            except NotFoundError:
                continue
            seen.append((run_id, run.info.status, len(run.data.metrics)))
        time.sleep(0.02)


def test_a_finished_run_is_never_seen_without_its_metric(
    stack_settings: Settings, tmp_path: Any
) -> None:
    settings = per_test_settings(stack_settings, tmp_path)
    ensure_topics(settings)
    seen: list[tuple[str, str, int]] = []
    run_ids: list[str] = []
    with materializer(settings), serve(settings) as url:
        wait_for(
            "the lake's tables",
            lambda: httpx.get(f"{url}/api/v1/experiments").status_code,
            lambda status: status == 200,
        )
        client = RunstreamClient(tracking_uri=url, environ={})
        stop = threading.Event()
        pollers = [
            threading.Thread(target=_poll_api, args=(url, run_ids, stop, seen), daemon=True),
            threading.Thread(target=_poll_sdk, args=(client, run_ids, stop, seen), daemon=True),
        ]
        for poller in pollers:
            poller.start()
        try:
            experiment_id = client.create_experiment("order")
            for i in range(RUNS):
                run = client.create_run(experiment_id, run_name=f"r{i}")
                run_ids.append(run.info.run_id)
                client.log_param(run.info.run_id, "i", i)
                client.log_metric(run.info.run_id, "m", float(i))
                client.set_terminated(run.info.run_id)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                done = {r for r, status, metrics in seen if status == "FINISHED" and metrics}
                if done >= set(run_ids):
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            for poller in pollers:
                poller.join(10)
            client.close(5.0)
    broken = [r for r, status, metrics in seen if status == "FINISHED" and not metrics]
    assert seen, "the poller saw no run at all"
    assert broken == [], f"{len(broken)} answers showed a FINISHED run without its metric"
