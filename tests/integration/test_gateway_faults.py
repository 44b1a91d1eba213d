"""The broker is killed while several MLflow clients stream ``log_batch`` through the gateway.

Every call the gateway answered with 200 must land exactly once; calls it answered
503 are retried by MLflow's client (with backoff) and still land once. The broker is
the session's shared one (durable log on S3), down for about three seconds.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator

import pytest
from materializer_support import materializer, wait_for
from mlflow import MlflowClient
from mlflow.entities import Metric
from test_gateway_tracking import server
from test_query_helpers import per_test_settings

from runstream.config import Settings
from runstream.kafka.admin import ensure_topics
from runstream.stack import LocalStack

CLIENTS = 4
POINTS = 50
SLOW = os.environ.get("RUNSTREAM_SLOW_TESTS") == "1"
SECONDS = 40.0 if SLOW else 12.0


@pytest.fixture
def url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("gateway-faults"))
    settings = dataclasses.replace(settings, read_after_timeout_s=30.0)
    ensure_topics(settings)
    with materializer(settings), server(settings) as base, pytest.MonkeyPatch.context() as mp:
        # Retry 503s for longer than the outage, with short pauses.
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "8")
        mp.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        mp.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.2")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        yield base


def test_answered_points_land_exactly_once_across_a_broker_outage(
    url: str, stack: LocalStack
) -> None:
    client = MlflowClient(tracking_uri=url)
    exp = client.create_experiment("faults")
    run_ids = [client.create_run(exp).info.run_id for _ in range(CLIENTS)]
    answered: dict[str, list[int]] = {r: [] for r in run_ids}
    failed: dict[str, list[int]] = {r: [] for r in run_ids}
    stop = threading.Event()

    def stream(run_id: str) -> None:
        mine = MlflowClient(tracking_uri=url)
        batch = 0
        while not stop.is_set():
            now = int(time.time() * 1000)
            points = [Metric("m", float(batch), now, batch * POINTS + i) for i in range(POINTS)]
            try:
                mine.log_batch(run_id, metrics=points)
            except Exception:  # gave up after its retries: may or may not have landed
                failed[run_id].append(batch)
            else:
                answered[run_id].append(batch)
            batch += 1

    threads = [threading.Thread(target=stream, args=(r,), daemon=True) for r in run_ids]
    for t in threads:
        t.start()
    time.sleep(SECONDS / 3)
    stack.broker().stop()
    time.sleep(3.0)
    stack.start_broker()
    time.sleep(SECONDS / 3)
    stop.set()
    for t in threads:
        t.join(120)
    assert sum(len(b) for b in answered.values()) > CLIENTS * 5

    for run_id in run_ids:
        expected = len(answered[run_id]) * POINTS

        def history(run_id: str = run_id) -> list[Metric]:
            return client.get_metric_history(run_id, "m")

        def enough(h: list[Metric], expected: int = expected) -> bool:
            return len(h) >= expected

        got = wait_for(f"the points of {run_id}", history, enough, 120)
        steps = [m.step for m in got]
        assert len(steps) == len(set(steps)), "a point landed twice"
        landed = {s // POINTS for s in steps}
        assert set(answered[run_id]) <= landed, "an answered batch is missing"
        assert landed <= set(answered[run_id]) | set(failed[run_id])
