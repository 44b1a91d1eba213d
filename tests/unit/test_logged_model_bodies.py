"""The logged-model event bodies keep MLflow's rules: ids, names, statuses and sizes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from runstream.errors import EventDecodeError, LimitExceededError, ValidationError
from runstream.events import EventType, decode, make_event, new_event_id
from runstream.events.logged_model_bodies import check_logged_model_name, check_model_id

MODEL = "m-0190123456787abc8def0123456789ad"


def _created(**body: Any) -> dict[str, Any]:
    fields = {"model_id": MODEL, "name": "model", "artifact_location": "s3://b/0/models/x",
              "creation_time": 1}
    fields.update(body)
    return fields


def _reason(event_type: EventType, body: dict[str, Any], **routing: Any) -> str:
    wire = {"schema_version": 1, "event_id": new_event_id(), "type": event_type.value,
            "produced_at": 1, "experiment_id": "0", "body": body, **routing}
    try:
        decode(orjson.dumps(wire))
    except EventDecodeError as exc:
        return exc.reason
    return "ok"


def test_model_ids_are_mlflows_shape() -> None:
    assert check_model_id(MODEL) == MODEL
    for bad in ("", "m-", MODEL.upper(), MODEL + "0", MODEL[2:], 42, None):
        with pytest.raises(ValidationError, match="'m-' followed by 32"):
            check_model_id(bad)


def test_names_follow_mlflows_rule_and_the_name_limit() -> None:
    assert check_logged_model_name("my model-2_b") == "my model-2_b"
    for bad in ("", "a/b", "a:b", "a.b", "a%b", 'a"b', "a'b"):
        with pytest.raises(ValidationError, match="cannot contain"):
            check_logged_model_name(bad)
    with pytest.raises(LimitExceededError):
        check_logged_model_name("x" * 501)


def test_created_bodies_decode_and_bad_ones_say_why() -> None:
    t = EventType.LOGGED_MODEL_CREATED
    assert _reason(t, _created()) == "ok"
    assert _reason(t, _created(name="a.b")) == "schema"
    assert _reason(t, _created(model_id="m-1")) == "schema"
    assert _reason(t, _created(params={f"p{i}": "v" for i in range(101)})) == "limit"
    assert _reason(t, _created(tags={"k": "v" * 8001})) == "limit"
    assert _reason(t, _created(), run_id="0190123456787abc8def0123456789ab") == "schema"


def test_finalized_takes_ready_or_failed_only() -> None:
    t = EventType.LOGGED_MODEL_FINALIZED
    assert _reason(t, {"model_id": MODEL, "status": "READY"}) == "ok"
    assert _reason(t, {"model_id": MODEL, "status": "FAILED"}) == "ok"
    assert _reason(t, {"model_id": MODEL, "status": "PENDING"}) == "schema"


def test_run_outputs_hold_one_to_a_hundred_models() -> None:
    def outputs(n: int) -> Any:
        return make_event(EventType.RUN_OUTPUTS, {"models": [{"model_id": MODEL}] * n},
                          run_id="0190123456787abc8def0123456789ab")

    assert outputs(1).body.models[0].step == 0
    with pytest.raises(ValidationError):
        outputs(0)
    with pytest.raises(ValidationError):
        outputs(101)
