"""A run logged end to end against the real broker, read back and checked event by event."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from test_sdk_helpers import metric_points, read_events, read_topic

import runstream as mlflow
from runstream.config import Settings
from runstream.events import EventType
from runstream.sdk.client import RunstreamClient
from runstream.sdk.experiments import experiment_id_for


@pytest.fixture
def client(settings: Settings) -> Iterator[RunstreamClient]:
    """A client on this test's topics, behind the fluent API."""
    client = RunstreamClient(settings=settings, environ={})
    mlflow.configure(client=client)
    yield client
    mlflow.configure()
    client.close(5.0)


def test_a_logged_run_arrives_complete_valid_and_in_order(
    settings: Settings, client: RunstreamClient
) -> None:
    mlflow.set_experiment("e2e")
    specials = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, 5e-324]
    with mlflow.start_run(run_name="e2e-run", description="end to end") as run:
        mlflow.log_params({f"p{i}": i for i in range(150)})  # more than one params event
        for step in range(12_000):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 100 == 0:
                mlflow.log_metrics({"acc": step / 12_000, "lr": 0.1}, step=step)
        for value in specials:
            mlflow.log_metric("special", value, step=7)  # several values at one step
        mlflow.set_tags({"stage": "e2e", "owner": "tests"})
        mlflow.log_text("hello", "notes/hello.txt")
    run_id = run.info.run_id
    client.flush(30)

    events = read_events(settings.bootstrap, settings.topic_events)
    by_type = Counter(e.type for e in events if e.run_id == run_id)
    assert by_type[EventType.RUN_STARTED] == 1
    assert by_type[EventType.RUN_PARAMS] == 2
    assert by_type[EventType.RUN_TAGS] == 1
    assert by_type[EventType.ARTIFACT_LOGGED] == 1
    assert by_type[EventType.RUN_ENDED] == 1
    assert by_type[EventType.RUN_METRICS] < 20  # coalesced, not one event per point

    run_events = [e for e in events if e.run_id == run_id]
    assert run_events[0].type == EventType.RUN_STARTED  # one partition, in logged order
    assert run_events[-1].type == EventType.RUN_ENDED
    assert run_events[-1].body.status == "FINISHED"
    assert len({e.event_id for e in run_events}) == len(run_events)

    points = metric_points(events, run_id)
    loss = [(v, s) for k, v, s, _ in points if k == "loss"]
    assert loss == [(1.0 / (s + 1), s) for s in range(12_000)]
    assert Counter(k for k, *_ in points) == {
        "loss": 12_000,
        "acc": 120,
        "lr": 120,
        "special": len(specials),
    }
    special = [v for k, v, s, _ in points if k == "special"]
    assert math.isnan(special[0]) and special[1:3] == [math.inf, -math.inf]
    assert special[3:] == specials[3:] and math.copysign(1, special[4]) == -1

    params = {
        p.key: p.value for e in run_events if e.type == EventType.RUN_PARAMS for p in e.body.params
    }
    assert params == {f"p{i}": str(i) for i in range(150)}
    created = [e for e in events if e.type == EventType.EXPERIMENT_CREATED]
    assert [(e.experiment_id, e.body.name) for e in created] == [(experiment_id_for("e2e"), "e2e")]
    assert run_events[0].experiment_id == experiment_id_for("e2e")


def test_non_finite_values_travel_as_the_contract_strings(
    settings: Settings, client: RunstreamClient
) -> None:
    with mlflow.start_run() as run:
        mlflow.log_metrics({"a": math.nan, "b": math.inf, "c": -math.inf, "d": 1.5})
    client.flush(30)
    raw = [
        v
        for k, v in read_topic(settings.bootstrap, settings.topic_events)
        if k == run.info.run_id.encode() and b'"run.metrics"' in v
    ]
    assert len(raw) == 1
    assert b'"values":["NaN","Infinity","-Infinity",1.5]' in raw[0]


def test_a_run_that_raises_is_delivered_as_failed(
    settings: Settings, client: RunstreamClient
) -> None:
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as run:
        mlflow.log_metric("before", 1.0)
        _ = 1 / 0
    client.flush(30)
    ended = [
        e
        for e in read_events(settings.bootstrap, settings.topic_events)
        if e.type == EventType.RUN_ENDED and e.run_id == run.info.run_id
    ]
    assert [e.body.status for e in ended] == ["FAILED"]


def test_registry_events_are_keyed_by_model_name(
    settings: Settings, client: RunstreamClient
) -> None:
    client.create_registered_model("wine", description="sweep winner")
    client.create_model_version("wine", "s3://bucket/key", await_creation_for=0)
    client.transition_model_version_stage("wine", 1, "Production", True)
    client.set_registered_model_alias("wine", "champion", 1)
    client.flush(30)
    records = read_topic(settings.bootstrap, settings.topic_registry)
    assert {key for key, _ in records} == {b"wine"}
    kinds = [e.type for e in read_events(settings.bootstrap, settings.topic_registry)]
    assert kinds == [
        EventType.REGISTRY_MODEL_CREATED,
        EventType.REGISTRY_VERSION_REQUESTED,
        EventType.REGISTRY_STAGE_CHANGED,
        EventType.REGISTRY_ALIAS_SET,
    ]


def test_log_metric_does_not_wait_for_the_broker(
    settings: Settings, client: RunstreamClient
) -> None:
    with mlflow.start_run():
        started = time.perf_counter()
        for step in range(50_000):
            mlflow.log_metric("fast", 0.5, step=step)
        elapsed = time.perf_counter() - started
    # Generous bound (the benchmark measures the real cost): no network round trip
    # per call, which would be at least tens of microseconds each.
    assert elapsed / 50_000 < 50e-6
