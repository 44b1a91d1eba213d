"""The body models of MLflow 3's logged models (``logged_model.*``) and ``run.outputs``.

A logged model is MLflow 3's first-class model: it has its own id (``m-`` and 32
hex digits, as MLflow's), belongs to an experiment, may name the run that
produced it, and keeps its files under its own artifact location. Its events are
routed by the envelope's ``experiment_id`` (Kafka key: the experiment id), so one
partition orders every change of one model; the body names the model. The
run-to-model link MLflow's ``log_model`` records (``runs/outputs``) is a run event,
``run.outputs``, keyed by the run.

Names follow MLflow's rule (``_validate_logged_model_name``): non-empty, none of
``/ : . % " '``; params and tags use the run limits (``events.limits``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from functools import partial
from typing import Annotated, Any, ClassVar, Final

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    field_serializer,
    field_validator,
)

from runstream.errors import LimitExceededError, ValidationError
from runstream.events.bodies import EventBody, _Frozen
from runstream.events.event_types import EventType
from runstream.events.fields import (
    INT64_MAX,
    INT64_MIN,
    DatasetDigest,
    DatasetName,
    Millis,
    ParamKey,
    ParamValue,
    RunId,
    RunTags,
    TagKey,
    Uri,
    _length,
    _matches,
    as_pydantic_check,
    integral,
)
from runstream.events.floats import floats_from_wire, floats_to_wire
from runstream.events.limits import LIMITS, check_batch_size, check_key, check_length

__all__ = [
    "LOGGED_MODEL_NAME_PATTERN",
    "MODEL_ID_PATTERN",
    "LoggedModelCreatedBody",
    "LoggedModelDeletedBody",
    "LoggedModelFinalizedBody",
    "LoggedModelMetricsBody",
    "LoggedModelParamsBody",
    "LoggedModelStatus",
    "LoggedModelTagDeletedBody",
    "LoggedModelTagsSetBody",
    "ModelInput",
    "ModelMetric",
    "ModelOutput",
    "RunModelInputsBody",
    "RunOutputsBody",
    "check_logged_model_name",
    "check_model_id",
]

MODEL_ID_PATTERN: Final = r"^m-[0-9a-f]{32}$(?!\n)"
LOGGED_MODEL_NAME_PATTERN: Final = r"""^[^/:.%"']+$(?!\n)"""
_MODEL_ID_RE: Final = re.compile(MODEL_ID_PATTERN)
_NAME_RE: Final = re.compile(LOGGED_MODEL_NAME_PATTERN)
_BAD_NAME_CHARS: Final = ("/", ":", ".", "%", '"', "'")


def check_model_id(value: object) -> str:
    """Checks a logged model id: ``m-`` and 32 lowercase hex digits.

    Raises:
        ValidationError: anything else, with the value in the message.
    """
    if not isinstance(value, str) or _MODEL_ID_RE.search(value) is None:
        raise ValidationError(
            f"Invalid model id {str(value)[:80]!r}: a logged model id is 'm-' followed by "
            "32 lowercase hex digits"
        )
    return value


def check_logged_model_name(value: object) -> str:
    """Checks a logged model name as MLflow does, and its length (``LIMITS.name_length``).

    Raises:
        ValidationError: not a string, empty, or holding a forbidden character.
        LimitExceededError: longer than the limit.
    """
    text = check_length("logged model name", value, LIMITS.name_length)
    if _NAME_RE.search(text) is None:
        raise ValidationError(
            f"Invalid model name ({text[:80]!r}) provided. Model name must be a non-empty "
            f"string and cannot contain the following characters: {_BAD_NAME_CHARS}"
        )
    return text


def _param_count(value: dict[str, str]) -> dict[str, str]:
    check_batch_size("params", len(value))
    return value


def _at_least_one(items: Sequence[object]) -> Sequence[object]:
    if not items:
        raise ValidationError("models must hold at least one item")
    if len(items) > LIMITS.params_per_batch:
        raise LimitExceededError(
            f"models: {len(items)} in one event, at most {LIMITS.params_per_batch}"
        )
    return items


ModelId = Annotated[str, Strict(), _matches("a logged model id (m- and 32 hex)", MODEL_ID_PATTERN)]
LoggedModelName = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(check_logged_model_name))
]
ModelType = Annotated[str, Strict(), _length("model type", LIMITS.text_length)]
ModelParams = Annotated[
    dict[ParamKey, ParamValue], AfterValidator(as_pydantic_check(_param_count))
]
Step = Annotated[int, BeforeValidator(integral), Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
MetricKey = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(partial(check_key, "metric")))
]
MetricValue = Annotated[float, Strict()]


class LoggedModelStatus(StrEnum):
    """The final statuses of a logged model (MLflow's ``READY`` and ``FAILED``)."""

    READY = "READY"
    FAILED = "FAILED"


class LoggedModelCreatedBody(EventBody):
    """``logged_model.created``: a new logged model, PENDING until finalized."""

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_CREATED
    model_id: ModelId
    name: LoggedModelName
    artifact_location: Uri
    creation_time: Millis
    source_run_id: RunId | None = None
    model_type: ModelType | None = None
    params: ModelParams = Field(default_factory=dict)
    tags: RunTags = Field(default_factory=dict)


class LoggedModelFinalizedBody(EventBody):
    """``logged_model.finalized``: the model's upload ended (READY) or failed (FAILED)."""

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_FINALIZED
    model_id: ModelId
    status: LoggedModelStatus


class LoggedModelTagsSetBody(EventBody):
    """``logged_model.tags_set``: sets tags of a logged model (overwrites)."""

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_TAGS_SET
    model_id: ModelId
    tags: RunTags


class LoggedModelTagDeletedBody(EventBody):
    """``logged_model.tag_deleted``: removes one tag of a logged model."""

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_TAG_DELETED
    model_id: ModelId
    key: TagKey


class LoggedModelParamsBody(EventBody):
    """``logged_model.params``: params of a logged model beyond those given at creation."""

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_PARAMS
    model_id: ModelId
    params: ModelParams


class ModelMetric(_Frozen):
    """One metric point linked to a logged model (MLflow's ``Metric`` with ``model_id``).

    ``dataset_name`` and ``dataset_digest`` name the dataset it was computed on, when
    the client gave one (MLflow's ``mlflow.evaluate`` and ``log_metric(dataset=...)``).
    """

    key: MetricKey
    value: MetricValue
    timestamp: Millis
    step: Step = 0
    dataset_name: DatasetName | None = None
    dataset_digest: DatasetDigest | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _value_from_wire(cls, value: Any) -> Any:
        """Turns the wire strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` into floats."""
        return floats_from_wire([value])[0]

    @field_serializer("value")
    def _value_to_wire(self, value: float) -> float | str:
        """NaN and ±Inf as the wire strings (JSON has no spelling of its own for them)."""
        return floats_to_wire([value])[0]


def _metric_count(items: Sequence[object]) -> Sequence[object]:
    if not items:
        raise ValidationError("metrics must hold at least one point")
    check_batch_size("metrics", len(items))
    return items


class LoggedModelMetricsBody(EventBody):
    """``logged_model.metrics``: points a run logged for a logged model (``model_id``).

    The run keeps the same points in ``run.metrics``; this event links them to the
    model, so the model's page and ``search_logged_models`` see them.
    """

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_METRICS
    model_id: ModelId
    run_id: RunId
    metrics: Annotated[Sequence[ModelMetric], AfterValidator(as_pydantic_check(_metric_count)),
                       AfterValidator(tuple)]


class LoggedModelDeletedBody(EventBody):
    """``logged_model.deleted``: moves the logged model to the deleted lifecycle stage."""

    event_type: ClassVar[EventType] = EventType.LOGGED_MODEL_DELETED
    model_id: ModelId


class ModelOutput(_Frozen):
    """One logged model a run produced, at a step (MLflow's ``LoggedModelOutput``)."""

    model_id: ModelId
    step: Step = 0


class RunOutputsBody(EventBody):
    """``run.outputs``: the logged models a run produced (the envelope's run id)."""

    event_type: ClassVar[EventType] = EventType.RUN_OUTPUTS
    models: Annotated[Sequence[ModelOutput], AfterValidator(as_pydantic_check(_at_least_one)),
                      AfterValidator(tuple)]


class ModelInput(_Frozen):
    """One logged model a run used (MLflow's ``LoggedModelInput``)."""

    model_id: ModelId


class RunModelInputsBody(EventBody):
    """``run.model_inputs``: the logged models a run used (the envelope's run id)."""

    event_type: ClassVar[EventType] = EventType.RUN_MODEL_INPUTS
    models: Annotated[Sequence[ModelInput], AfterValidator(as_pydantic_check(_at_least_one)),
                      AfterValidator(tuple)]
