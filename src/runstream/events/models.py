"""The v1 event models: the envelope, one frozen body model per event type, routing.

``docs/contracts.md`` is the catalog these models implement; the JSON Schema files
in ``schemas/v1/`` say the same thing for other languages and for validation in
tests. Bodies are frozen pydantic models (lists become tuples, so a body cannot
change after validation); ``Envelope`` is generic in its body so that
``Envelope[RunMetricsBody]`` types ``.body``.

Metric values are floats here, NaN and ±Inf included; the codec writes non-finite
values as ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, and the metrics body also
accepts those strings when validating, so decoded wire data validates directly.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runstream.errors import ValidationError
from runstream.events.auth_bodies import AuthChangedBody
from runstream.events.bodies import (
    ArtifactLoggedBody,
    EventBody,
    ExperimentCreatedBody,
    ExperimentDeletedBody,
    ExperimentRenamedBody,
    ExperimentRestoredBody,
    ExperimentTagDeletedBody,
    ExperimentTagSetBody,
    ModelLoggedBody,
    ModelStage,
    ParamEntry,
    RunDeletedBody,
    RunEndedBody,
    RunEndStatus,
    RunMetricsBody,
    RunParamsBody,
    RunRestoredBody,
    RunStartedBody,
    RunTagDeletedBody,
    RunTagsBody,
    SourceType,
    TagEntry,
)
from runstream.events.dataset_bodies import RunInputsBody
from runstream.events.event_types import EventType
from runstream.events.fields import CONTRACT_ERROR, EventId, ExperimentId, Millis, ModelName, RunId
from runstream.events.logged_model_bodies import (
    LoggedModelCreatedBody,
    LoggedModelDeletedBody,
    LoggedModelFinalizedBody,
    LoggedModelMetricsBody,
    LoggedModelParamsBody,
    LoggedModelTagDeletedBody,
    LoggedModelTagsSetBody,
    RunModelInputsBody,
    RunOutputsBody,
)
from runstream.events.prediction_bodies import PREDICTIONS_KEY, PredictionsLoggedBody
from runstream.events.registry_bodies import (
    RegistryAliasDeletedBody,
    RegistryAliasSetBody,
    RegistryDescriptionSetBody,
    RegistryModelCreatedBody,
    RegistryModelDeletedBody,
    RegistryModelRenamedBody,
    RegistryModelTagDeletedBody,
    RegistryModelTagSetBody,
    RegistryStageChangedBody,
    RegistryVersionDeletedBody,
    RegistryVersionRequestedBody,
    RegistryVersionTagDeletedBody,
    RegistryVersionTagSetBody,
)

__all__ = [
    "AUTH_KEY",
    "BODY_MODELS",
    "EXPERIMENT_KEYED",
    "ROUTING_FIELDS",
    "ArtifactLoggedBody",
    "Envelope",
    "EventBody",
    "EventType",
    "ExperimentCreatedBody",
    "ExperimentDeletedBody",
    "ExperimentRenamedBody",
    "ExperimentRestoredBody",
    "ExperimentTagDeletedBody",
    "ExperimentTagSetBody",
    "ModelLoggedBody",
    "ModelStage",
    "ParamEntry",
    "RegistryAliasDeletedBody",
    "RegistryAliasSetBody",
    "RegistryDescriptionSetBody",
    "RegistryModelCreatedBody",
    "RegistryModelDeletedBody",
    "RegistryModelRenamedBody",
    "RegistryModelTagDeletedBody",
    "RegistryModelTagSetBody",
    "RegistryStageChangedBody",
    "RegistryVersionDeletedBody",
    "RegistryVersionRequestedBody",
    "RegistryVersionTagDeletedBody",
    "RegistryVersionTagSetBody",
    "RoutingField",
    "RunDeletedBody",
    "RunEndStatus",
    "RunEndedBody",
    "RunInputsBody",
    "RunMetricsBody",
    "RunParamsBody",
    "RunRestoredBody",
    "RunStartedBody",
    "RunTagDeletedBody",
    "RunTagsBody",
    "SourceType",
    "TagEntry",
    "TopicKind",
    "envelope_model",
    "event_key",
    "topic_kind",
]

TopicKind = Literal["events", "registry"]
AUTH_KEY: Final = b"auth"
"""The Kafka key of every ``auth.changed`` event."""
RoutingField = Literal["experiment_id", "run_id", "model_name"]
EXPERIMENT_KEYED: Final = ("experiment.", "logged_model.")
"""Prefixes of the types keyed (and routed) by experiment id."""

BODY_MODELS: Final[dict[EventType, type[EventBody]]] = {
    model.event_type: model
    for model in (
        ExperimentCreatedBody,
        ExperimentRenamedBody,
        ExperimentTagSetBody,
        ExperimentTagDeletedBody,
        ExperimentDeletedBody,
        ExperimentRestoredBody,
        RunStartedBody,
        RunParamsBody,
        RunMetricsBody,
        RunTagsBody,
        RunTagDeletedBody,
        RunEndedBody,
        RunDeletedBody,
        RunRestoredBody,
        RunInputsBody,
        RunOutputsBody,
        RunModelInputsBody,
        ArtifactLoggedBody,
        ModelLoggedBody,
        LoggedModelCreatedBody,
        LoggedModelFinalizedBody,
        LoggedModelTagsSetBody,
        LoggedModelTagDeletedBody,
        LoggedModelParamsBody,
        LoggedModelMetricsBody,
        LoggedModelDeletedBody,
        RegistryModelCreatedBody,
        RegistryModelDeletedBody,
    RegistryModelRenamedBody,
        RegistryVersionRequestedBody,
        RegistryStageChangedBody,
        RegistryAliasSetBody,
        RegistryAliasDeletedBody,
        RegistryModelTagSetBody,
        RegistryModelTagDeletedBody,
        RegistryVersionTagSetBody,
        RegistryVersionTagDeletedBody,
        RegistryDescriptionSetBody,
        RegistryVersionDeletedBody,
        AuthChangedBody,
        PredictionsLoggedBody,
    )
}
"""The body model of each event type."""


def _routing_of(event_type: EventType) -> frozenset[RoutingField]:
    """Returns the envelope fields an event of ``event_type`` must set (the others are null)."""
    if event_type is EventType.RUN_STARTED:
        return frozenset({"experiment_id", "run_id"})
    if event_type.value.startswith(EXPERIMENT_KEYED):
        return frozenset({"experiment_id"})
    if event_type.value.startswith("registry."):
        return frozenset({"model_name"})
    if event_type in (EventType.AUTH_CHANGED, EventType.PREDICTIONS_LOGGED):
        return frozenset()
    return frozenset({"run_id"})


ROUTING_FIELDS: Final[dict[EventType, frozenset[RoutingField]]] = {
    t: _routing_of(t) for t in EventType
}
"""The envelope routing fields each type requires; the other routing fields must be null."""

BodyT = TypeVar("BodyT", bound=EventBody)


class Envelope(BaseModel, Generic[BodyT]):
    """One v1 event: routing and metadata around a type-specific body.

    Build one with :func:`runstream.events.make_event`, read one with
    :func:`runstream.events.decode`. The routing fields a type needs are in
    :data:`ROUTING_FIELDS`; the others must be null.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Annotated[int, Strict(), Field(ge=1, le=1)]
    event_id: EventId
    type: EventType
    produced_at: Millis
    # ``validate_default`` so the routing check also sees fields left out.
    experiment_id: ExperimentId | None = Field(default=None, validate_default=True)
    run_id: RunId | None = Field(default=None, validate_default=True)
    model_name: ModelName | None = Field(default=None, validate_default=True)
    body: BodyT

    @field_validator("schema_version", mode="before")
    @classmethod
    def _integral_version(cls, value: Any) -> Any:
        """Accepts ``1.0`` as JSON Schema's ``const: 1`` does; a bool stays rejected."""
        return 1 if type(value) is float and value == 1.0 else value

    @field_validator("experiment_id", "run_id", "model_name", mode="wrap")
    @classmethod
    def _routing(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> str | None:
        """Requires the routing fields of the event's type, and null for the others.

        A field that must be null is rejected before its format is checked, so the
        error says what the JSON Schema files say (``must be null``).
        """
        event_type = info.data.get("type")
        if not isinstance(event_type, EventType):
            return handler(value)  # type: ignore[no-any-return]  # the type's error wins
        needed = info.field_name in ROUTING_FIELDS[event_type]
        if not needed and value is not None:
            raise PydanticCustomError(
                CONTRACT_ERROR,
                "{detail}",
                {"detail": f"{event_type} events must leave {info.field_name} null"},
            )
        checked: str | None = handler(value)
        if needed and checked is None:
            raise PydanticCustomError(
                CONTRACT_ERROR,
                "{detail}",
                {"detail": f"{event_type} events must set {info.field_name}"},
            )
        return checked

    @model_validator(mode="after")
    def _body_matches_type(self) -> Envelope[BodyT]:
        """Rejects a body model that belongs to another event type."""
        expected = BODY_MODELS[self.type]
        if type(self.body) is not expected:
            raise PydanticCustomError(
                CONTRACT_ERROR,
                "{detail}",
                {
                    "detail": f"{self.type} events carry a {expected.__name__}, "
                    f"not a {type(self.body).__name__}"
                },
            )
        return self


def _parametrize(body_model: type[EventBody]) -> type[Envelope[Any]]:
    """Returns ``Envelope[body_model]``; pydantic builds and caches the subclass."""
    return Envelope[body_model]  # type: ignore[valid-type]  # a runtime type argument


_ENVELOPE_MODELS: Final[dict[EventType, type[Envelope[Any]]]] = {
    t: _parametrize(m) for t, m in BODY_MODELS.items()
}


def envelope_model(event_type: EventType) -> type[Envelope[Any]]:
    """Returns ``Envelope`` parametrized with the body model of ``event_type``.

    Validating a dict with it validates the body as that type's model, with error
    locations inside the body (``body.params.3.key``).
    """
    return _ENVELOPE_MODELS[event_type]


def topic_kind(event_type: EventType) -> TopicKind:
    """Returns which topic an event type goes to: ``"registry"`` or ``"events"``.

    Registry events share a topic keyed by model name, so one partition orders all
    the changes of one model (version numbers are assigned in that order).
    """
    return "registry" if event_type.value.startswith("registry.") else "events"


def event_key(envelope: Envelope[Any]) -> bytes:
    """Returns the Kafka message key of an event, UTF-8 encoded.

    The key is ``model_name`` for registry events, ``experiment_id`` for
    experiment and logged-model events, :data:`AUTH_KEY` for ``auth.changed`` (one partition orders
    every access-control change), ``PREDICTIONS_KEY`` for ``predictions.logged``, and
    ``run_id`` for every other event,
    ``run.started`` included, so all events of one run land in one partition, in order.

    Raises:
        ValidationError: the key field is null (an envelope built without validation).
    """
    if envelope.type is EventType.AUTH_CHANGED:
        return AUTH_KEY
    if envelope.type is EventType.PREDICTIONS_LOGGED:
        return PREDICTIONS_KEY
    if envelope.type.value.startswith("registry."):
        key = envelope.model_name
    elif envelope.type.value.startswith(EXPERIMENT_KEYED):
        key = envelope.experiment_id
    else:
        key = envelope.run_id
    if key is None:
        raise ValidationError(f"{envelope.type} event {envelope.event_id} has no key field set")
    return key.encode()
