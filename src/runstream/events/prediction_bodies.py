"""The body of ``predictions.logged``: requests a model server answered (the prediction log).

A model server (``runstream models serve --log-predictions``) batches what it answered
into one event: when, which model URI, name, version and A/B arm, the HTTP status,
the latency, and the request and response text (cut at
``LIMITS.prediction_payload_length`` characters, then marked ``truncated``). The
event has no routing field; its Kafka key is :data:`PREDICTIONS_KEY`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Final

from pydantic import AfterValidator, Field, Strict

from runstream.errors import ValidationError
from runstream.events.bodies import EventBody, _Frozen
from runstream.events.event_types import EventType
from runstream.events.fields import Millis, ModelName, RequestId, Uri, as_pydantic_check
from runstream.events.limits import LIMITS, check_batch_size, check_length

__all__ = ["PREDICTIONS_KEY", "PredictionRecord", "PredictionsLoggedBody"]

PREDICTIONS_KEY: Final = b"predictions"
"""The Kafka key of every ``predictions.logged`` event."""


def _text(field: str, limit: int) -> AfterValidator:
    return AfterValidator(as_pydantic_check(lambda v: check_length(field, v, limit)))


def _finite(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"latency_ms must be a finite number >= 0, not {value!r}")
    return value


ShortText = Annotated[str, Strict(), _text("text", LIMITS.text_length)]
Payload = Annotated[str, Strict(), _text("payload", LIMITS.prediction_payload_length)]


class PredictionRecord(_Frozen):
    """One answered request."""

    request_id: RequestId
    served_at: Millis
    model_uri: Uri
    model_name: ModelName | None = None
    model_version: ShortText
    arm: ShortText
    status: Annotated[int, Strict(), Field(ge=100, le=599)]
    latency_ms: Annotated[float, AfterValidator(as_pydantic_check(_finite))]
    request: Payload
    response: Payload
    truncated: Annotated[bool, Strict()] = False


@as_pydantic_check
def _records(items: Sequence[Any]) -> Sequence[Any]:
    if not items:
        raise ValidationError("records must hold at least one item")
    check_batch_size("predictions", len(items))
    return items


class PredictionsLoggedBody(EventBody):
    """``predictions.logged``: 1 to ``LIMITS.predictions_per_event`` answered requests."""

    event_type: ClassVar[EventType] = EventType.PREDICTIONS_LOGGED
    records: Annotated[Sequence[PredictionRecord], AfterValidator(tuple), AfterValidator(_records)]
