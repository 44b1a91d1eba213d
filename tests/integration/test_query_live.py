"""Live tail: a run's new points reach an SSE client straight from the log.

Real broker, real materializer, the query service with the Kafka live tail, runs
logged through the SDK. What a dashboard relies on: points arrive within about a
second of the log call, a reconnect with ``Last-Event-ID`` resumes exactly after
the last event seen, and history read at a snapshot plus the stream started at
that snapshot hold every point once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from materializer_support import materializer, wait_for
from test_query_helpers import per_test_settings, serve

import runstream as rs
from runstream.config import Settings
from runstream.kafka.admin import ensure_topics
from runstream.sdk.client import RunstreamClient


@dataclass
class Frame:
    """One Server-Sent Event."""

    event: str
    id: str
    data: dict[str, Any]
    at: float


def frames(response: httpx.Response) -> Iterator[Frame]:
    """Parse an SSE body as it arrives."""
    event, ident, data = "message", "", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and data:
            yield Frame(event, ident, orjson.loads(data), time.monotonic())
            event, ident, data = "message", "", ""


def collect(url: str, until: int, *, headers: dict[str, str] | None = None,
            timeout_s: float = 30.0) -> list[Frame]:
    """Frames of one connection until ``until`` metric points arrived (or the timeout)."""
    got: list[Frame] = []
    points = 0
    deadline = time.monotonic() + timeout_s
    with httpx.stream("GET", url, headers=headers, timeout=timeout_s) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for f in frames(response):
            got.append(f)
            if f.event == "metrics":
                points += len(f.data["steps"])
            if points >= until or time.monotonic() > deadline:
                break
    return got


def streamed_steps(got: list[Frame]) -> list[int]:
    return [s for f in got if f.event == "metrics" for s in f.data["steps"]]


def lake_ready(url: str) -> bool:
    """Whether the query service reads a lake (the materializer has created it)."""
    try:
        return bool(httpx.get(f"{url}/readyz", timeout=30).json().get("ready"))
    except (httpx.HTTPError, ValueError):
        return False


@pytest.fixture(scope="module")
def live_service(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RunstreamClient]]:
    """A materializer, the query service with its live tail, and an SDK client."""
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-live"))
    ensure_topics(settings)
    with materializer(settings), serve(settings, live=True) as url:
        client = RunstreamClient(tracking_uri=url, environ={})
        rs.configure(client=client)
        try:
            # The materializer creates the lake; on a busy machine that can take a while.
            wait_for("the lake", lambda: lake_ready(url), bool, 120)
            rs.set_experiment("live")
            yield url, client
        finally:
            rs.configure()
            client.close(5.0)


def history(url: str, run_id: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/api/v1/runs/{run_id}/metric-history",
                  params={"key": "loss", "max_points": 100_000}, timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_history_at_a_snapshot_and_the_stream_from_it_hold_every_point_once(
    live_service: tuple[str, RunstreamClient],
) -> None:
    url, client = live_service
    with rs.start_run(run_name="watched") as run:
        run_id = run.info.run_id
        for step in range(100):
            rs.log_metric("loss", 1.0 / (step + 1), step=step)
        client.flush(30)
        first = wait_for("the first points in the lake", lambda: history(url, run_id),
                         lambda h: bool(h["series"]) and h["series"][0]["total_points"] == 100)
        snapshot = first["snapshot_id"]
        for step in range(100, 200):
            rs.log_metric("loss", 1.0 / (step + 1), step=step)
        client.flush(30)
        # The stream from the history's snapshot has the points the history lacks.
        got = collect(f"{url}/api/v1/runs/{run_id}/live?snapshot={snapshot}", until=100)
        hello = got[0]
        assert hello.event == "hello" and hello.data["lake_snapshot"] == snapshot
        assert hello.data["starts"] == hello.data["lake_offsets"]
        assert sorted(streamed_steps(got)) == list(range(100, 200))
        position = httpx.get(f"{url}/api/v1/runs/{run_id}/live/position",
                             params={"snapshot": snapshot}, timeout=30).json()
        partition = hello.data["partitions"][run_id]
        assert position["partition"] == partition
        assert position["lake_offset"] == hello.data["lake_offsets"][str(partition)]

        # Points logged while a dashboard watches arrive within about a second.
        wait_for("the lake to catch up", lambda: history(url, run_id),
                 lambda h: h["series"][0]["total_points"] == 200)
        watched: list[Frame] = []
        watcher = threading.Thread(
            target=lambda: watched.extend(collect(f"{url}/api/v1/runs/{run_id}/live", until=100))
        )
        watcher.start()
        time.sleep(1.0)  # the dashboard is connected
        logged_at: dict[int, float] = {}  # last step of each group of 10 -> its first log call
        for step in range(200, 300):
            if step % 10 == 0:
                group_started = time.monotonic()
            rs.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 10 == 9:
                logged_at[step] = group_started
                client.flush(10)
                time.sleep(0.05)
        watcher.join(40)
        arrived = {s: f.at for f in watched if f.event == "metrics" for s in f.data["steps"]}
        assert sorted(arrived) == list(range(200, 300))
        delays = sorted(arrived[s] - t for s, t in logged_at.items())
        assert delays[-1] < 1.0, f"live points arrived {delays[-1]:.2f} s after the log call"

        # A reconnect with the last id seen resumes right after that event.
        metrics = [f for f in watched if f.event == "metrics"]
        assert len(metrics) >= 2
        resumed = collect(f"{url}/api/v1/runs/{run_id}/live", until=1,
                          headers={"Last-Event-ID": metrics[0].id})
        assert resumed[0].data["resumed"] is True
        again = [f for f in resumed if f.event == "metrics"]
        assert again[0].data["event_id"] == metrics[1].data["event_id"]


def test_a_bad_cursor_is_a_clear_400(live_service: tuple[str, RunstreamClient]) -> None:
    url, _ = live_service
    r = httpx.get(f"{url}/api/v1/runs/{'a' * 32}/live", headers={"Last-Event-ID": "nonsense"},
                  timeout=30)
    assert r.status_code == 400
    assert "not a live cursor" in r.json()["error"]["message"]
