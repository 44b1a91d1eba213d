"""The wire codec: round trips, non-finite values, decode reasons, paths and messages."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from event_samples import (
    EXTRA_VALID_SAMPLES,
    INVALID_BYTES,
    INVALID_SAMPLES,
    RUN_ID,
    VALID_SAMPLES,
    InvalidSample,
    valid_sample,
)

from runstream.errors import EventDecodeError, LimitExceededError, ValidationError
from runstream.events import (
    DECODE_REASONS,
    EventType,
    ModelLoggedBody,
    RunMetricsBody,
    decode,
    encode,
    make_event,
    to_wire,
)
from runstream.events.limits import LIMITS


def _with_defaults(sample: dict[str, Any]) -> dict[str, Any]:
    """Returns what the encoder writes for a sample: every routing field, every body field."""
    expected = {"experiment_id": None, "run_id": None, "model_name": None, **sample}
    model = decode(orjson.dumps(sample)).body
    expected["body"] = {**model.model_dump(mode="json"), **sample["body"]}
    return expected


@pytest.mark.parametrize("event_type", list(EventType))
def test_valid_sample_round_trips_byte_for_byte(event_type: EventType) -> None:
    sample = VALID_SAMPLES[event_type]
    event = decode(orjson.dumps(sample))
    assert event.type is event_type
    encoded = encode(event)
    assert orjson.loads(encoded) == _with_defaults(sample)
    assert encode(decode(encoded)) == encoded


@pytest.mark.parametrize(
    ("name", "sample"), EXTRA_VALID_SAMPLES, ids=[n for n, _ in EXTRA_VALID_SAMPLES]
)
def test_edge_case_samples_decode_and_reencode(name: str, sample: dict[str, Any]) -> None:
    event = decode(orjson.dumps(sample))
    assert decode(encode(event)) == event or event.type is EventType.RUN_METRICS  # NaN != NaN
    assert encode(decode(encode(event))) == encode(event)


@pytest.mark.parametrize("bad", INVALID_SAMPLES, ids=[s.name for s in INVALID_SAMPLES])
def test_invalid_sample_is_rejected_with_its_reason(bad: InvalidSample) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode(orjson.dumps(bad.event))
    assert info.value.reason == bad.reason, str(info.value)
    assert str(info.value)


@pytest.mark.parametrize(
    ("name", "data", "reason"), INVALID_BYTES, ids=[n for n, _, _ in INVALID_BYTES]
)
def test_bad_bytes_are_rejected_with_their_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode(data)
    assert info.value.reason == reason
    assert info.value.reason in DECODE_REASONS


def test_non_finite_values_travel_as_strings_and_come_back() -> None:
    body = RunMetricsBody(
        keys=["a"] * 5,
        values=[math.nan, math.inf, -math.inf, 0.0, -1e308],
        steps=[0] * 5,
        timestamps=[1] * 5,
    )
    encoded = encode(make_event(EventType.RUN_METRICS, body, run_id=RUN_ID))
    assert orjson.loads(encoded)["body"]["values"] == ["NaN", "Infinity", "-Infinity", 0.0, -1e308]
    assert b"null" not in encoded.split(b'"body"')[1]
    values = decode(encoded).body.values
    assert math.isnan(values[0]) and values[1:] == (math.inf, -math.inf, 0.0, -1e308)


def test_finite_values_that_overflow_their_sum_stay_numbers() -> None:
    """The fast path sums the column; an overflowing sum must not turn values into strings."""
    body = RunMetricsBody(keys=["a", "a"], values=[1e308, 1e308], steps=[0, 1], timestamps=[1, 1])
    wire = to_wire(make_event(EventType.RUN_METRICS, body, run_id=RUN_ID))
    assert wire["body"]["values"] == [1e308, 1e308]


def test_metrics_fast_path_matches_generic_serialization() -> None:
    body = RunMetricsBody(keys=["a", "b"], values=[1.5, math.inf], steps=[3, 3], timestamps=[7, 8])
    wire = to_wire(make_event(EventType.RUN_METRICS, body, run_id=RUN_ID))["body"]
    generic = body.model_dump(mode="python")
    assert wire == {
        "keys": list(generic["keys"]),
        "values": [1.5, "Infinity"],
        "steps": list(generic["steps"]),
        "timestamps": list(generic["timestamps"]),
    }


def test_decode_reports_path_and_message() -> None:
    sample = valid_sample(EventType.RUN_PARAMS)
    sample["body"]["params"][1]["key"] = "k" * 300
    with pytest.raises(EventDecodeError) as info:
        decode(orjson.dumps(sample))
    assert info.value.reason == "limit"
    assert info.value.path == "body.params[1].key"
    assert "invalid run.params event at body.params[1].key" in str(info.value)
    assert "300 characters long; the limit is 250" in str(info.value)


def test_decode_points_at_the_first_point_with_a_bad_metric_key() -> None:
    sample = valid_sample(EventType.RUN_METRICS)
    sample["body"]["keys"][2] = "a//b"
    with pytest.raises(EventDecodeError) as info:
        decode(orjson.dumps(sample))
    assert info.value.path == "body.keys[2]"
    assert "metric key 'a//b'" in str(info.value)


def test_decode_counts_the_other_problems() -> None:
    sample = valid_sample(EventType.RUN_ENDED)
    sample["body"] = {"status": "RUNNING", "end_time": "later"}
    with pytest.raises(EventDecodeError, match=r"and 1 more problems"):
        decode(orjson.dumps(sample))


def test_decode_says_what_the_wrong_value_was() -> None:
    sample = valid_sample(EventType.RUN_TAG_DELETED)
    sample["body"]["key"] = ["stage"]
    with pytest.raises(EventDecodeError, match=r"at body.key: .*string \(got an array\)"):
        decode(orjson.dumps(sample))


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_decode_accepts_every_bytes_like(kind: type) -> None:
    data = orjson.dumps(VALID_SAMPLES[EventType.RUN_ENDED])
    assert decode(kind(data)).type is EventType.RUN_ENDED


@pytest.mark.parametrize("value", ["{}", None, 12, ["x"]])
def test_decode_rejects_non_bytes_without_other_errors(value: object) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode(value)  # type: ignore[arg-type]
    assert info.value.reason == "not_json"


def test_size_limit_is_checked_before_parsing() -> None:
    padded = orjson.dumps(VALID_SAMPLES[EventType.RUN_ENDED])
    at_limit = padded + b" " * (LIMITS.message_bytes - len(padded))
    assert decode(at_limit).type is EventType.RUN_ENDED
    with pytest.raises(EventDecodeError) as info:
        decode(at_limit + b" ")
    assert info.value.reason == "too_large"


def test_decode_turns_unexpected_failures_into_decode_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(_: object) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("runstream.events.codec.orjson.loads", explode)
    with pytest.raises(EventDecodeError, match="nested too deeply"):
        decode(b"{}")
    monkeypatch.setattr("runstream.events.codec.orjson.loads", lambda _: 1 / 0)
    with pytest.raises(EventDecodeError, match="ZeroDivisionError") as info:
        decode(b"{}")
    assert info.value.reason == "schema"


def test_encode_refuses_an_event_over_the_size_limit() -> None:
    n = LIMITS.metric_points_per_event
    body = RunMetricsBody(
        keys=["k" * 200] * n, values=[0.1] * n, steps=list(range(n)), timestamps=[1] * n
    )
    with pytest.raises(LimitExceededError, match="limit is 1048576 bytes"):
        encode(make_event(EventType.RUN_METRICS, body, run_id=RUN_ID))


def test_encode_refuses_values_json_cannot_carry() -> None:
    body = ModelLoggedBody.model_construct(  # bypasses validation, as a careless producer might
        artifact_path="m",
        flavors={"x": 2**70},
        model_uuid="a" * 32,
        signature=None,
        input_example=None,
    )
    event = make_event(
        EventType.MODEL_LOGGED,
        {"artifact_path": "m", "flavors": {}, "model_uuid": "a" * 32},
        run_id=RUN_ID,
    )
    with pytest.raises(ValidationError, match="cannot be encoded"):
        encode(event.model_copy(update={"body": body}))


def test_make_event_accepts_wire_form_dicts() -> None:
    event = make_event(
        EventType.RUN_METRICS,
        VALID_SAMPLES[EventType.RUN_METRICS]["body"],
        run_id=RUN_ID,
        event_id="01901234-5678-7abc-8def-0123456789ab",
        produced_at=5,
    )
    assert event.produced_at == 5
    assert math.isnan(event.body.values[1])
    assert orjson.loads(encode(event))["body"] == VALID_SAMPLES[EventType.RUN_METRICS]["body"]
