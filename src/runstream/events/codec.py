"""Bytes <-> events: the one encoder and the one decoder of the v1 wire format.

The wire format is JSON (orjson) of the envelope, with every routing field
written (null where unused). Non-finite metric values travel as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (:mod:`runstream.events.floats`).

:func:`decode` keeps one promise that the materializer relies on: whatever the
bytes, it returns a valid :class:`Envelope` or raises
:class:`~runstream.errors.EventDecodeError`, whose ``reason`` is one of
:data:`DECODE_REASONS` and whose ``path`` points at the offending field. It checks,
in this order:

1. ``too_large``: more than ``LIMITS.message_bytes`` bytes (checked before parsing).
2. ``not_json``: not UTF-8 JSON (orjson: no NaN literals, nesting depth <= 1024).
3. ``not_object``: JSON, but not an object.
4. ``schema_version``: ``schema_version`` missing or not ``1``.
5. ``unknown_type``: ``type`` not one of :class:`EventType` (``schema`` if missing).
6. ``schema`` / ``limit``: the envelope or body breaks the contract, or a limit.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeVar, overload

import orjson
import pydantic
from pydantic_core import ErrorDetails

from runstream.errors import EventDecodeError, LimitExceededError, ValidationError
from runstream.events.bodies import EventBody, RunMetricsBody
from runstream.events.event_types import EventType
from runstream.events.fields import LIMIT_ERROR
from runstream.events.floats import floats_to_wire
from runstream.events.ids import new_event_id
from runstream.events.limits import LIMITS, check_message_size
from runstream.events.models import Envelope, envelope_model

__all__ = ["DECODE_REASONS", "DecodeReason", "decode", "encode", "make_event", "to_wire"]

DecodeReason = Literal[
    "too_large", "not_json", "not_object", "schema_version", "unknown_type", "schema", "limit"
]
DECODE_REASONS: Final[tuple[DecodeReason, ...]] = (
    "too_large",
    "not_json",
    "not_object",
    "schema_version",
    "unknown_type",
    "schema",
    "limit",
)

_TYPES: Final = frozenset(t.value for t in EventType)
_BodyT = TypeVar("_BodyT", bound=EventBody)


def to_wire(envelope: Envelope[Any]) -> dict[str, Any]:
    """Returns the event as JSON-native values (dicts, lists, str, numbers), as encoded.

    This is what :func:`encode` serializes, and what :func:`validate_with_schema`
    and the lake's raw ``payload`` column expect.
    """
    body = envelope.body
    if isinstance(body, RunMetricsBody):
        # Built by hand: model_dump on 10,000 points is several times slower.
        body_wire: dict[str, Any] = {
            "keys": list(body.keys),
            "values": floats_to_wire(body.values),
            "steps": list(body.steps),
            "timestamps": list(body.timestamps),
        }
    else:
        body_wire = body.model_dump(mode="json")
    return {
        "schema_version": envelope.schema_version,
        "event_id": envelope.event_id,
        "type": envelope.type.value,
        "produced_at": envelope.produced_at,
        "experiment_id": envelope.experiment_id,
        "run_id": envelope.run_id,
        "model_name": envelope.model_name,
        "body": body_wire,
    }


def encode(envelope: Envelope[Any]) -> bytes:
    """Encodes an event as v1 JSON bytes.

    Raises:
        LimitExceededError: the encoded event is over ``LIMITS.message_bytes``.
        ValidationError: the body holds something JSON cannot carry (e.g. an
            integer over 64 bits inside ``input_example``).
    """
    try:
        data = orjson.dumps(to_wire(envelope))
    except orjson.JSONEncodeError as exc:
        raise ValidationError(f"{envelope.type} event cannot be encoded as JSON: {exc}") from exc
    check_message_size(len(data))
    return data


def decode(data: bytes | bytearray | memoryview) -> Envelope[Any]:
    """Decodes and validates one event; any input gives an Envelope or EventDecodeError.

    Args:
        data: the message value, as received.

    Returns:
        The event, its body an instance of the type's body model.

    Raises:
        EventDecodeError: the bytes are not a valid v1 event; ``reason``, ``path``
            and the message say what is wrong. No other exception escapes.
    """
    try:
        return _decode(data)
    except EventDecodeError:
        raise
    except RecursionError:
        raise EventDecodeError("event is nested too deeply to validate", reason="schema") from None
    except Exception as exc:  # the promise above: nothing else may reach the consumer loop
        raise EventDecodeError(
            f"event could not be decoded ({type(exc).__name__}: {exc})", reason="schema"
        ) from exc


def _decode(data: object) -> Envelope[Any]:
    """Does the work of :func:`decode`, raising EventDecodeError for expected problems."""
    if isinstance(data, memoryview):
        size = data.nbytes
    elif isinstance(data, bytes | bytearray):
        size = len(data)
    else:
        raise EventDecodeError(
            f"expected the message as bytes, got {type(data).__name__}", reason="not_json"
        )
    if size > LIMITS.message_bytes:
        raise EventDecodeError(
            f"event is {size} bytes; the limit is {LIMITS.message_bytes}", reason="too_large"
        )
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EventDecodeError(f"event is not valid JSON: {exc}", reason="not_json") from None
    if not isinstance(obj, dict):
        raise EventDecodeError(
            f"event must be a JSON object, not {_json_kind(obj)}", reason="not_object"
        )
    if "schema_version" not in obj:
        raise EventDecodeError(
            "event has no schema_version", reason="schema_version", path="schema_version"
        )
    version = obj["schema_version"]
    if type(version) is bool or version != 1:
        raise EventDecodeError(
            f"schema_version {str(version)[:40]} is not supported; this reader knows 1",
            reason="schema_version",
            path="schema_version",
        )
    if "type" not in obj:
        raise EventDecodeError("event has no type", reason="schema", path="type")
    event_type = obj["type"]
    if not isinstance(event_type, str) or event_type not in _TYPES:
        raise EventDecodeError(
            f"unknown event type {str(event_type)[:80]!r}", reason="unknown_type", path="type"
        )
    try:
        return envelope_model(EventType(event_type)).model_validate(obj)
    except pydantic.ValidationError as exc:
        message, reason, path = _describe(exc, f"{event_type} event")
        raise EventDecodeError(message, reason=reason, path=path) from None


@overload
def make_event(
    event_type: EventType,
    body: _BodyT,
    *,
    experiment_id: str | None = None,
    run_id: str | None = None,
    model_name: str | None = None,
    event_id: str | None = None,
    produced_at: int | None = None,
) -> Envelope[_BodyT]: ...


@overload
def make_event(
    event_type: EventType,
    body: Mapping[str, Any],
    *,
    experiment_id: str | None = None,
    run_id: str | None = None,
    model_name: str | None = None,
    event_id: str | None = None,
    produced_at: int | None = None,
) -> Envelope[Any]: ...


def make_event(
    event_type: EventType,
    body: EventBody | Mapping[str, Any],
    *,
    experiment_id: str | None = None,
    run_id: str | None = None,
    model_name: str | None = None,
    event_id: str | None = None,
    produced_at: int | None = None,
) -> Envelope[Any]:
    """Builds a validated event, filling ``event_id``, ``produced_at`` and the version.

    Args:
        event_type: the event type.
        body: the body model of that type, or a dict validated as one (wire form
            accepted, e.g. ``"NaN"`` metric values).
        experiment_id: set on ``experiment.*`` and ``run.started``.
        run_id: set on ``run.*``, ``artifact.logged`` and ``model.logged``.
        model_name: set on ``registry.*``.
        event_id: a UUIDv7 text; a new one by default.
        produced_at: ms since the epoch; now by default.

    Returns:
        The event.

    Raises:
        LimitExceededError: a value is over a limit from ``events.limits``.
        ValidationError: anything else breaks the contract; the message names the field.
    """
    try:
        model = envelope_model(EventType(event_type))
        return model(
            schema_version=1,
            event_id=new_event_id() if event_id is None else event_id,
            type=event_type,
            produced_at=time.time_ns() // 1_000_000 if produced_at is None else produced_at,
            experiment_id=experiment_id,
            run_id=run_id,
            model_name=model_name,
            body=body,
        )
    except pydantic.ValidationError as exc:
        message, reason, _ = _describe(exc, f"{event_type} event")
        raise (LimitExceededError if reason == "limit" else ValidationError)(message) from None
    except ValueError:
        raise ValidationError(f"unknown event type {event_type!r}") from None


def _describe(exc: pydantic.ValidationError, what: str) -> tuple[str, DecodeReason, str]:
    """Returns (message, reason, path) for the first error of a pydantic failure."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = _format_loc(first)
    reason: DecodeReason = "limit" if first["type"] == LIMIT_ERROR else "schema"
    detail = first["msg"]
    if first["type"] not in (LIMIT_ERROR, "missing") and "ctx" not in first:
        detail += f" (got {_json_kind(first['input'])})"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    where = f" at {path}" if path else ""
    return f"invalid {what}{where}: {detail}{more}", reason, path


def _format_loc(error: ErrorDetails) -> str:
    """Formats a pydantic error location as a JSON path: ``body.params[3].key``."""
    path = ""
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            continue  # pydantic's marker for "the dict key itself"; the key is in the path
        elif part.isidentifier():
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]"
    index = error.get("ctx", {}).get("index")
    if isinstance(index, int):
        path += f"[{index}]"
    return path


def _json_kind(value: object) -> str:
    """Names the JSON kind of a parsed value, for messages."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return kinds.get(type(value), type(value).__name__)
