"""What the prediction log keeps of one answered request: cut payloads, events that fit."""

from __future__ import annotations

from runstream.events import EventType, encode, make_event
from runstream.events.limits import LIMITS
from runstream.serving.prediction_log import batches, to_record

LIMIT = LIMITS.prediction_payload_length


def _offered(request: bytes, response: bytes) -> dict[str, object]:
    return {"uri": "runs:/" + "a" * 32 + "/model", "model_name": None, "version": "1",
            "arm": "model", "status": 200, "latency_ms": 1.5,
            "request": request, "response": response}


def test_long_payloads_are_cut_and_marked_and_short_ones_kept_whole() -> None:
    short = to_record(_offered(b'{"inputs": [1]}', b'{"predictions": [0]}'), 1)
    assert (short["request"], short["truncated"]) == ('{"inputs": [1]}', False)
    huge = to_record(_offered(b"x" * 8_000_000, "é".encode() * (LIMIT + 1)), 1)
    assert len(huge["request"]) == LIMIT and len(huge["response"]) == LIMIT
    assert huge["truncated"] is True
    make_event(EventType.PREDICTIONS_LOGGED, {"records": [short, huge]})  # valid


def test_batches_stay_under_the_message_size() -> None:
    records = [to_record(_offered(b"x" * 10 * LIMIT, b"y" * 10 * LIMIT), i) for i in range(60)]
    parts = batches(records)
    assert sum(len(p) for p in parts) == 60 and len(parts) > 1
    for part in parts:
        event = make_event(EventType.PREDICTIONS_LOGGED, {"records": part})
        assert len(encode(event)) <= LIMITS.message_bytes
