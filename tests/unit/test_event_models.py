"""The v1 models: catalog coverage, routing, topics and keys, immutability, exports."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pydantic
import pytest
from event_samples import MODEL_NAME, RUN_ID, VALID_SAMPLES

import runstream.events
from runstream.errors import LimitExceededError, ValidationError
from runstream.events import (
    BODY_MODELS,
    ROUTING_FIELDS,
    Envelope,
    EventType,
    ParamEntry,
    RunEndedBody,
    RunEndStatus,
    RunMetricsBody,
    RunParamsBody,
    decode,
    encode,
    event_key,
    is_uuid7,
    make_event,
    topic_kind,
)

CONTRACTS = Path(__file__).parents[2] / "docs" / "contracts.md"


def test_event_types_are_exactly_the_contract_catalog() -> None:
    catalog = {
        line.split("`")[1]
        for line in CONTRACTS.read_text().splitlines()
        if line.startswith("| `") and "." in line.split("`")[1]
    }
    assert {t.value for t in EventType} == catalog


def test_every_type_has_its_own_body_model() -> None:
    assert set(BODY_MODELS) == set(EventType)
    assert len(set(BODY_MODELS.values())) == len(EventType)
    for event_type, model in BODY_MODELS.items():
        assert model.event_type is event_type
        assert model.__name__.endswith("Body")


@pytest.mark.parametrize(
    ("event_type", "routing", "topic"),
    [
        (EventType.EXPERIMENT_CREATED, {"experiment_id"}, "events"),
        (EventType.EXPERIMENT_RESTORED, {"experiment_id"}, "events"),
        (EventType.RUN_STARTED, {"experiment_id", "run_id"}, "events"),
        (EventType.RUN_METRICS, {"run_id"}, "events"),
        (EventType.ARTIFACT_LOGGED, {"run_id"}, "events"),
        (EventType.MODEL_LOGGED, {"run_id"}, "events"),
        (EventType.REGISTRY_VERSION_REQUESTED, {"model_name"}, "registry"),
        (EventType.REGISTRY_VERSION_DELETED, {"model_name"}, "registry"),
    ],
)
def test_routing_and_topic_per_type(event_type: EventType, routing: set[str], topic: str) -> None:
    assert ROUTING_FIELDS[event_type] == routing
    assert topic_kind(event_type) == topic


def test_kafka_key_is_run_experiment_or_model() -> None:
    keys = {t: event_key(decode(encode_sample(t))) for t in EventType}
    assert keys[EventType.RUN_STARTED] == RUN_ID.encode()  # a run's events share a partition
    assert keys[EventType.RUN_METRICS] == RUN_ID.encode()
    assert keys[EventType.ARTIFACT_LOGGED] == RUN_ID.encode()
    assert keys[EventType.EXPERIMENT_RENAMED] == b"42"
    assert keys[EventType.REGISTRY_ALIAS_SET] == MODEL_NAME.encode()
    assert {topic_kind(t) for t in EventType if keys[t] == MODEL_NAME.encode()} == {"registry"}


def encode_sample(event_type: EventType) -> bytes:
    """Returns the valid sample of a type as bytes."""
    import orjson

    return orjson.dumps(VALID_SAMPLES[event_type])


def test_make_event_fills_id_time_and_version() -> None:
    before = time.time_ns() // 1_000_000
    first = make_event(
        EventType.RUN_ENDED, RunEndedBody(status=RunEndStatus.KILLED, end_time=5), run_id=RUN_ID
    )
    second = make_event(EventType.RUN_DELETED, {}, run_id=RUN_ID)
    assert first.schema_version == 1
    assert is_uuid7(first.event_id) and second.event_id > first.event_id
    assert before <= first.produced_at <= time.time_ns() // 1_000_000
    assert first.body.status is RunEndStatus.KILLED


def test_make_event_requires_the_types_routing_field() -> None:
    with pytest.raises(ValidationError, match=r"run.params events must set run_id"):
        make_event(EventType.RUN_PARAMS, {"params": [{"key": "a", "value": "1"}]})
    with pytest.raises(ValidationError, match="must leave model_name null"):
        make_event(EventType.RUN_DELETED, {}, run_id=RUN_ID, model_name="m")


def test_make_event_rejects_a_body_of_another_type() -> None:
    body = RunParamsBody(params=(ParamEntry(key="a", value="1"),))
    with pytest.raises(ValidationError, match="body"):
        make_event(EventType.RUN_TAGS, body, run_id=RUN_ID)
    # Built directly, the model raises pydantic's error; make_event translates it.
    with pytest.raises(pydantic.ValidationError, match="carry a RunMetricsBody, not a RunParams"):
        Envelope(
            schema_version=1,
            event_id=runstream.events.new_event_id(),
            type=EventType.RUN_METRICS,
            produced_at=1,
            run_id=RUN_ID,
            body=body,
        )


def test_make_event_raises_runstream_errors_with_the_field_path() -> None:
    with pytest.raises(LimitExceededError, match=r"body\.params\[1\]\.value: param value"):
        make_event(
            EventType.RUN_PARAMS,
            {"params": [{"key": "a", "value": "1"}, {"key": "b", "value": "x" * 6001}]},
            run_id=RUN_ID,
        )
    with pytest.raises(ValidationError, match="unknown event type"):
        make_event("run.nope", {}, run_id=RUN_ID)  # type: ignore[call-overload]


def test_models_are_frozen_and_hold_tuples() -> None:
    body = RunMetricsBody(keys=["a"], values=[1], steps=[0], timestamps=[0])
    assert isinstance(body.keys, tuple) and body.values == (1.0,)
    assert isinstance(body.values[0], float)
    with pytest.raises(Exception, match="frozen"):
        body.keys = ("b",)
    event = make_event(EventType.RUN_METRICS, body, run_id=RUN_ID)
    with pytest.raises(Exception, match="frozen"):
        event.run_id = "0" * 32


def test_metrics_body_takes_wire_strings_and_keeps_floats() -> None:
    body = RunMetricsBody(
        keys=["a"] * 4,
        values=["NaN", "Infinity", "-Infinity", 2],  # type: ignore[list-item]  # wire form
        steps=[1, 1, 1, 2.0],  # type: ignore[list-item]  # an integral float, as JSON allows
        timestamps=[0] * 4,
    )
    assert math.isnan(body.values[0])
    assert body.values[1:] == (math.inf, -math.inf, 2.0)
    assert body.steps == (1, 1, 1, 2) and all(type(s) is int for s in body.steps)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"values": [True]}, "valid number"),
        ({"values": ["inf"]}, "valid number"),
        ({"steps": [1.5]}, "valid integer"),
        ({"keys": ["a", "b"]}, "equal lengths"),
        ({"keys": [], "values": [], "steps": [], "timestamps": []}, "at least one point"),
    ],
)
def test_metrics_body_rejects(columns: dict[str, list[object]], message: str) -> None:
    fields: dict[str, list[object]] = {
        "keys": ["a"],
        "values": [1.0],
        "steps": [0],
        "timestamps": [0],
    }
    with pytest.raises(Exception, match=message):
        RunMetricsBody(**{**fields, **columns})  # type: ignore[arg-type]


def test_decoded_event_types_its_body() -> None:
    event = decode(encode_sample(EventType.RUN_PARAMS))
    assert isinstance(event, Envelope)
    assert isinstance(event.body, RunParamsBody)
    assert event.body.params[1] == ParamEntry(key="optimizer/name", value="adam")
    assert encode(event) == encode(decode(encode(event)))


def test_public_names_are_sorted_complete_and_importable() -> None:
    names = runstream.events.__all__
    assert len(names) == len(set(names))
    constants = [n for n in names if n.isupper()]
    classes = [n for n in names if n[0].isupper() and not n.isupper()]
    functions = [n for n in names if n[0].islower()]
    assert names == sorted(constants) + sorted(classes) + sorted(functions)
    for name in names:
        assert getattr(runstream.events, name) is not None
    public = {n for n in vars(runstream.events) if not n.startswith("_")}
    submodules = {
        "auth_bodies",
        "bodies",
        "dataset_bodies",
        "prediction_bodies",
        "codec",
        "event_types",
        "fields",
        "floats",
        "ids",
        "limits",
        "logged_model_bodies",
        "models",
        "records",
        "registry_bodies",
        "schema_files",
        "annotations",
    }
    assert public - submodules == set(names)


def test_events_and_limits_import_no_io_library() -> None:
    code = (
        "import sys, runstream.events, runstream.events.limits\n"
        "bad = [m for m in ('aiokafka', 'minio', 'duckdb', 'httpx', 'jsonschema') "
        "if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # jsonschema is loaded lazily, only when a schema is validated.
    assert out.stdout.strip() == ""
