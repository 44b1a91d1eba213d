"""Properties of the codec over generated input (hypothesis).

1. ``decode`` turns any bytes, any JSON value and any mutation of a valid event
   into an Envelope or an EventDecodeError, never another exception.
2. On JSON objects, ``decode`` and the JSON Schema files give the same verdict,
   except for the faults only the decoder can see (documented in event_samples).
3. Metric batches survive encode/decode exactly: NaN, ±Inf, -0.0, duplicate steps.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import orjson
from event_samples import EVENT_ID, RUN_ID, valid_sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runstream.errors import EventDecodeError
from runstream.events import (
    DECODE_REASONS,
    Envelope,
    EventType,
    RunMetricsBody,
    decode,
    encode,
    make_event,
    validate_with_schema,
)
from runstream.events.fields import INT64_MAX, INT64_MIN

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Values near the edges of the contract, more likely to find a disagreement.
tricky = st.sampled_from(
    [
        "",
        "NaN",
        "Infinity",
        "nan",
        "a/../b",
        "/a",
        "a//b",
        "latest",
        "v1",
        "k" * 251,
        "x" * 8001,
        EVENT_ID,
        RUN_ID,
        RUN_ID.upper(),
        -1,
        0,
        1,
        1.0,
        1.5,
        2**31,
        2**63,
        True,
        False,
        None,
        [],
        {},
        ["a"],
        {"a": "b"},
        "Production",
        "FINISHED",
        "LOCAL",
        "RUNNING",
        "Deleted",
        "local",
        "a" * 256,
        "image/png",
        "s3://b/k",
    ]
)


def _verdict(check: Any) -> str:
    """Returns ``ok`` or the decode reason of a check; any other exception fails the test."""
    try:
        result = check()
    except EventDecodeError as exc:
        assert exc.reason in DECODE_REASONS
        assert str(exc)
        return exc.reason
    if result is not None:
        assert isinstance(result, Envelope)
    return "ok"


def _decoder_only_fault(event: Any, reason: str) -> bool:
    """Tells whether a decode rejection is one JSON Schema cannot express."""
    body = event.get("body") if isinstance(event, dict) else None
    if not isinstance(body, dict):
        return False
    if event.get("type") == "run.metrics":
        columns = [body.get(c) for c in ("keys", "values", "steps", "timestamps")]
        if all(isinstance(c, list) for c in columns):
            return len({len(c) for c in columns if isinstance(c, list)}) > 1
    return event.get("type") == "model.logged" and reason == "limit"


def _assert_same_verdict(event: Any) -> None:
    """Decode and the schema files agree on ``event`` (see the module docstring)."""
    by_decode = _verdict(lambda: decode(orjson.dumps(event)))
    by_schema = _verdict(lambda: validate_with_schema(event))
    if by_decode != "ok" and by_schema == "ok":
        assert _decoder_only_fault(event, by_decode), (by_decode, event)
        return
    assert (by_decode == "ok") == (by_schema == "ok"), (by_decode, by_schema, event)
    early = {"not_object", "schema_version", "unknown_type"}
    if by_decode in early or by_schema in early:
        assert by_decode == by_schema


@FAST
@given(st.binary(max_size=600))
def test_decode_only_raises_decode_errors_on_any_bytes(data: bytes) -> None:
    _verdict(lambda: decode(data))


@FAST
@given(json_values)
def test_decode_agrees_with_the_schema_on_any_json_value(value: Any) -> None:
    _assert_same_verdict(value)


envelopes = st.fixed_dictionaries(
    {
        "schema_version": st.sampled_from([1, 1.0]) | tricky,
        "event_id": st.just(EVENT_ID) | tricky,
        "type": st.sampled_from([t.value for t in EventType]) | tricky,
        "produced_at": st.integers(min_value=-2, max_value=2**64 - 1) | tricky,
        "body": st.sampled_from(list(EventType)).map(lambda t: valid_sample(t)["body"])
        | json_values,
    },
    optional={
        name: st.just(value) | tricky
        for name, value in (("experiment_id", "42"), ("run_id", RUN_ID), ("model_name", "m"))
    },
)


@FAST
@given(envelopes)
def test_decode_agrees_with_the_schema_on_envelope_shaped_objects(event: dict[str, Any]) -> None:
    _assert_same_verdict(event)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Collects every (container, key or index) pair of a JSON value."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((node, index))
            _slots(value, out)
    return out


_LENGTHS = [0, 1, 100, 101, 250, 251, 255, 256, 500, 501, 1024, 1025, 5000, 5001, 8001, 20_001]


def _stretch(value: Any, length: int) -> Any:
    """Returns ``value`` grown or cut to ``length``: strings and lists near the limits."""
    if isinstance(value, str):
        return (value or "a") * (length // max(len(value), 1) + 1) if length else ""
    if isinstance(value, list):
        return (value * (length // max(len(value), 1) + 1))[: min(length, 101)] if value else []
    return value


@st.composite
def mutated_samples(draw: st.DrawFn) -> dict[str, Any]:
    """A valid sample with one to three random changes, mostly inside the body."""
    event = valid_sample(draw(st.sampled_from(list(EventType))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        in_body = draw(st.integers(0, 9)) > 1 and isinstance(event.get("body"), dict | list)
        slots = _slots(event["body"], []) if in_body else []
        container, slot = draw(st.sampled_from(slots or _slots(event, [])))
        action = draw(st.sampled_from(["replace", "delete", "add", "stretch", "stretch"]))
        value = copy.deepcopy(draw(tricky | json_values))  # tricky shares its lists
        if action == "replace":
            container[slot] = value
        elif action == "delete":
            del container[slot]
        elif action == "stretch":
            container[slot] = _stretch(container[slot], draw(st.sampled_from(_LENGTHS)))
        elif isinstance(container, dict):
            container[draw(st.text(max_size=8) | st.sampled_from(["key", "value", "tags"]))] = value
        else:
            container.append(value)
    return event


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_samples())
def test_decode_agrees_with_the_schema_on_mutated_samples(event: dict[str, Any]) -> None:
    _assert_same_verdict(event)


metric_keys = st.sampled_from(["loss", "acc", "val/loss", "gpu:0 util", "précision"]) | (
    st.from_regex(r"[a-z][a-z0-9_./-]{0,12}", fullmatch=True).filter(
        lambda k: "//" not in k and "/." not in k and not k.endswith("/")
    )
)
points = st.lists(
    st.tuples(
        metric_keys,
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-2, max_value=3)
        | st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
        st.integers(min_value=0, max_value=INT64_MAX),
    ),
    min_size=1,
    max_size=120,
)


def _same_float(a: float, b: float) -> bool:
    """Equal as doubles, NaN equal to NaN and -0.0 different from 0.0."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@FAST
@given(points)
def test_metric_batches_round_trip_exactly(batch: list[tuple[str, float, int, int]]) -> None:
    keys, values, steps, stamps = (list(column) for column in zip(*batch, strict=True))
    body = RunMetricsBody(keys=keys, values=values, steps=steps, timestamps=stamps)
    encoded = encode(make_event(EventType.RUN_METRICS, body, run_id=RUN_ID))
    decoded = decode(encoded)
    assert isinstance(decoded.body, RunMetricsBody)
    assert list(decoded.body.keys) == keys
    assert list(decoded.body.steps) == steps
    assert list(decoded.body.timestamps) == stamps
    assert all(_same_float(a, b) for a, b in zip(decoded.body.values, values, strict=True))
    assert encode(decoded) == encoded
    validate_with_schema(orjson.loads(encoded))
