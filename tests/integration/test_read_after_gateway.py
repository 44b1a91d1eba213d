"""Read-your-writes against the real broker, materializer and query server.

Writes go through the Kafka producer adapter (which reports each message's
position); reads go through the server that ``runstream serve`` builds, with and
without the ``X-Runstream-Read-After`` header.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import httpx
from materializer_support import materializer, wait_for
from test_gateway_tracking import server

from runstream.config import Settings
from runstream.core.positions import (
    READ_AFTER_HEADER,
    Position,
    format_read_after,
    partition_for_key,
)
from runstream.events import EventType, encode, event_key, make_event, new_run_id
from runstream.kafka.producer import KafkaEventProducer, OutgoingMessage, SendFailure

NOW = int(time.time() * 1000)
# Longer than any wait below (the materializer's first join takes seconds).
http = httpx.Client(timeout=30.0)




def run_events(experiment_id: str, run_id: str, loss: float) -> list[Any]:
    started = make_event(
        EventType.RUN_STARTED,
        {"run_name": f"r-{run_id[-4:]}", "user_id": "ana", "source_name": "t.py",
         "source_type": "LOCAL", "start_time": NOW},
        experiment_id=experiment_id,
        run_id=run_id,
    )
    metric = make_event(
        EventType.RUN_METRICS,
        {"keys": ["loss"], "values": [loss], "steps": [0], "timestamps": [NOW]},
        run_id=run_id,
    )
    return [started, metric]


def publish(settings: Settings, events: list[Any]) -> list[Position]:
    """Send through the producer adapter; return the acknowledged positions."""

    async def go() -> list[Position]:
        producer = KafkaEventProducer(settings.bootstrap)
        await producer.start()
        try:
            results = await producer.send_all(
                [OutgoingMessage(settings.topic_events, event_key(e), encode(e)) for e in events]
            )
        finally:
            await producer.stop()
        assert not [r for r in results if isinstance(r, SendFailure)]
        return [r for r in results if isinstance(r, Position)]

    return asyncio.run(go())


def experiment(settings: Settings) -> str:
    created = make_event(
        EventType.EXPERIMENT_CREATED,
        {"name": "ryw", "artifact_location": "s3://b/ryw"},
        experiment_id="77",
    )
    publish(settings, [created])
    return "77"


def test_reads_see_writes_answered_just_before(settings: Settings) -> None:
    # Long enough for a cold materializer to join its group on a loaded machine.
    settings = dataclasses.replace(settings, read_after_timeout_s=60.0)
    exp = experiment(settings)
    with materializer(settings), server(settings) as url:
        # The lake the materializer creates at start must exist before the first read
        # (an in-process reader attaching while the tables are being made answers 503).
        wait_for(
            "the materializer's lake",
            lambda: http.get(f"{url}/readyz").json().get("ready"),
            bool,
        )
        # Header: the SDK's way. The read waits for the lake, then sees the run.
        run_id = new_run_id()
        positions = publish(settings, run_events(exp, run_id, 0.5))
        assert [p.topic for p in positions] == [settings.topic_events] * 2
        assert positions[0].partition == positions[1].partition
        assert positions[1].offset > positions[0].offset
        answer = http.get(
            f"{url}/api/2.0/mlflow/runs/get",
            params={"run_id": run_id},
            headers={READ_AFTER_HEADER: format_read_after(positions)},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["run"]["data"]["metrics"][0]["value"] == 0.5
        assert answer.headers["x-runstream-freshness"] == "held"
        assert int(answer.headers["x-runstream-snapshot"]) > 0

        # No header, a write made elsewhere (the SDK's): an MLflow REST read does not wait.
        elsewhere = new_run_id()
        publish(settings, run_events(exp, elsewhere, 0.25))
        unwaited = http.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": elsewhere})
        assert unwaited.headers["x-runstream-freshness"] == "none"

        # No header: MLflow's client, writing through the gateway of the same server. The
        # read sees the gateway's own write: from its mirror of the run while the lake does
        # not hold the write yet, else from the lake.
        for i in range(5):
            created = http.post(f"{url}/api/2.0/mlflow/runs/create", json={"experiment_id": exp})
            assert created.status_code == 200, created.text
            other = created.json()["run"]["info"]["run_id"]
            logged = http.post(
                f"{url}/api/2.0/mlflow/runs/log-metric",
                json={"run_id": other, "key": "loss", "value": float(i), "timestamp": NOW},
            )
            assert logged.status_code == 200, logged.text
            got = http.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": other})
            assert got.status_code == 200, got.text
            assert got.json()["run"]["data"]["metrics"][0]["value"] == float(i)
            assert got.headers["x-runstream-freshness"] in ("mirrored", "held")
            # Searches wait for every partition of the topic, and skip a stale run index.
            found = http.post(
                f"{url}/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp]}
            ).json()
            assert other in {r["info"]["run_id"] for r in found["runs"]}

        # The native API honours the header too; a bad header is the caller's 400.
        native = http.get(
            f"{url}/api/v1/runs/{run_id}", headers={READ_AFTER_HEADER: str(positions[-1])}
        )
        assert native.status_code == 200 and native.headers["x-runstream-freshness"] == "held"
        bad = http.get(f"{url}/api/v1/runs/{run_id}", headers={READ_AFTER_HEADER: "nope"})
        assert bad.status_code == 400 and "X-Runstream-Read-After" in bad.json()["error"]["message"]


def test_a_wait_is_bounded_and_says_it_timed_out(settings: Settings) -> None:
    settings = dataclasses.replace(settings, read_after_timeout_s=0.5)
    exp = experiment(settings)
    with materializer(settings), server(settings) as url:
        run_id = new_run_id()
        publish(settings, run_events(exp, run_id, 1.0))
        wait_for(
            "the first run in the lake",
            lambda: http.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}),
            lambda r: r.status_code == 200,
        )
    # The materializer is stopped: what is written now cannot be held within the bound.
    # (Waiting for the broker's end offsets, as replicas behind one address need.)
    settings = dataclasses.replace(settings, read_after_broker=True)
    with server(settings) as url:
        late = new_run_id()
        positions = publish(settings, run_events(exp, late, 2.0))
        started = time.monotonic()
        answer = http.get(
            f"{url}/api/2.0/mlflow/runs/get",
            params={"run_id": late},
            headers={READ_AFTER_HEADER: format_read_after(positions)},
        )
        took = time.monotonic() - started
        assert answer.status_code == 404  # the lake does not have it, and the answer says why
        assert answer.headers["x-runstream-freshness"] == "timed-out"
        assert 0.5 <= took < 10.0  # the bound, plus the 404's own read on a loaded machine
        # A read of another partition's run does not wait for this backlog.
        if partition_for_key(run_id.encode(), settings.partitions) != positions[0].partition:
            other = http.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run_id})
            assert other.headers["x-runstream-freshness"] == "held"
