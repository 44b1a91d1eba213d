"""The body models of the experiment, run, artifact and model event types.

One frozen class per type (``registry.*`` bodies are in
:mod:`runstream.events.registry_bodies`). Field names, optionality and limits
match ``docs/contracts.md`` and the JSON Schema files. Fields documented "or
null" are optional and default to ``None``; ``tags`` objects are optional and
default to empty; everything else is required. Unknown fields are rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runstream.errors import LimitExceededError
from runstream.errors import ValidationError as RunstreamValidationError
from runstream.events.event_types import EventType
from runstream.events.fields import (
    CONTRACT_ERROR,
    INT64_MAX,
    INT64_MIN,
    LIMIT_ERROR,
    AnyJson,
    ArtifactPath,
    Description,
    ExperimentName,
    ExperimentTags,
    ExperimentTagValue,
    GitCommit,
    JsonObject,
    MediaType,
    Millis,
    ModelUuid,
    ParamKey,
    ParamValue,
    RunId,
    RunName,
    RunTags,
    RunTagValue,
    S3Uri,
    Sha256,
    SourceName,
    TagKey,
    Uri,
    UserId,
    as_pydantic_check,
    integral,
)
from runstream.events.floats import floats_from_wire
from runstream.events.limits import check_batch_size, check_key

__all__ = [
    "ArtifactLoggedBody",
    "EventBody",
    "ExperimentCreatedBody",
    "ExperimentDeletedBody",
    "ExperimentRenamedBody",
    "ExperimentRestoredBody",
    "ExperimentTagDeletedBody",
    "ExperimentTagSetBody",
    "ModelLoggedBody",
    "ModelStage",
    "ParamEntry",
    "RunDeletedBody",
    "RunEndStatus",
    "RunEndedBody",
    "RunMetricsBody",
    "RunParamsBody",
    "RunRestoredBody",
    "RunStartedBody",
    "RunTagDeletedBody",
    "RunTagsBody",
    "SourceType",
    "TagEntry",
]

class RunEndStatus(StrEnum):
    """The terminal statuses a ``run.ended`` event may carry (MLflow's names)."""

    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class ModelStage(StrEnum):
    """Model version stages, spelled as MLflow spells them (``None`` is a string)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class SourceType(StrEnum):
    """Where a run's code came from (MLflow's ``SourceType`` names)."""

    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    RECIPE = "RECIPE"
    UNKNOWN = "UNKNOWN"


# Lists are typed as read-only ``Sequence`` (so producers may pass lists) and stored
# as tuples, so a validated body cannot change under the code that checked it.
_FROZEN: Final = AfterValidator(tuple)


class _Frozen(BaseModel):
    """Base of every contract model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventBody(_Frozen):
    """Base of the body models; ``event_type`` names the type a body belongs to."""

    event_type: ClassVar[EventType]


def _batch(kind: Literal["params", "tags"]) -> AfterValidator:
    """Returns a validator requiring 1..limit items in a list field."""

    def run(items: Sequence[Any]) -> Sequence[Any]:
        if not items:
            raise RunstreamValidationError(f"{kind} must hold at least one item")
        check_batch_size(kind, len(items))
        return items

    return AfterValidator(as_pydantic_check(run))


class ParamEntry(_Frozen):
    """One param of a ``run.params`` event."""

    key: ParamKey
    value: ParamValue


class TagEntry(_Frozen):
    """One tag of a ``run.tags`` event."""

    key: TagKey
    value: RunTagValue


# --- experiment.* --------------------------------------------------------------


class ExperimentCreatedBody(EventBody):
    """``experiment.created``: a new experiment, with its initial tags."""

    event_type: ClassVar[EventType] = EventType.EXPERIMENT_CREATED
    name: ExperimentName
    artifact_location: Uri | None = None
    tags: ExperimentTags = Field(default_factory=dict)


class ExperimentRenamedBody(EventBody):
    """``experiment.renamed``: the experiment's new name."""

    event_type: ClassVar[EventType] = EventType.EXPERIMENT_RENAMED
    name: ExperimentName


class ExperimentTagSetBody(EventBody):
    """``experiment.tag_set``: sets one experiment tag (overwrites)."""

    event_type: ClassVar[EventType] = EventType.EXPERIMENT_TAG_SET
    key: TagKey
    value: ExperimentTagValue


class ExperimentTagDeletedBody(EventBody):
    """``experiment.tag_deleted``: removes one experiment tag."""

    event_type: ClassVar[EventType] = EventType.EXPERIMENT_TAG_DELETED
    key: TagKey


class ExperimentDeletedBody(EventBody):
    """``experiment.deleted``: moves the experiment to the deleted lifecycle stage."""

    event_type: ClassVar[EventType] = EventType.EXPERIMENT_DELETED


class ExperimentRestoredBody(EventBody):
    """``experiment.restored``: brings a deleted experiment back."""

    event_type: ClassVar[EventType] = EventType.EXPERIMENT_RESTORED


# --- run.* -----------------------------------------------------------------------


class RunStartedBody(EventBody):
    """``run.started``: a new run in the envelope's experiment."""

    event_type: ClassVar[EventType] = EventType.RUN_STARTED
    run_name: RunName
    user_id: UserId
    source_name: SourceName
    source_type: SourceType
    start_time: Millis
    git_commit: GitCommit | None = None
    parent_run_id: RunId | None = None
    description: Description | None = None
    tags: RunTags = Field(default_factory=dict)


class RunParamsBody(EventBody):
    """``run.params``: 1 to ``LIMITS.params_per_batch`` params (immutable once logged)."""

    event_type: ClassVar[EventType] = EventType.RUN_PARAMS
    params: Annotated[Sequence[ParamEntry], _FROZEN, _batch("params")]


_FloatItem = Annotated[float, Strict()]
_StepItem = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
_TimeItem = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]


class RunMetricsBody(EventBody):
    """``run.metrics``: metric points as four equal-length columns, one point per index.

    A key may appear at the same step several times; values are floats, NaN and
    ±Inf included. Validation is per column, not per point, because an event
    holds up to ``LIMITS.metric_points_per_event`` points.
    """

    event_type: ClassVar[EventType] = EventType.RUN_METRICS
    keys: Annotated[Sequence[Annotated[str, Strict()]], _FROZEN]
    values: Annotated[Sequence[_FloatItem], _FROZEN]
    steps: Annotated[Sequence[_StepItem], _FROZEN]
    timestamps: Annotated[Sequence[_TimeItem], _FROZEN]

    @field_validator("values", mode="before")
    @classmethod
    def _values_from_wire(cls, values: Any) -> Any:
        """Turns the wire strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` into floats."""
        return floats_from_wire(values)

    @field_validator("steps", "timestamps", mode="before")
    @classmethod
    def _integral_items(cls, items: Any) -> Any:
        """Accepts integral floats, as JSON Schema's ``integer`` does (rare, so checked first)."""
        if isinstance(items, list | tuple) and not set(map(type, items)) <= {int}:
            return [integral(v) for v in items]
        return items

    @field_validator("keys")
    @classmethod
    def _check_keys(cls, keys: Sequence[str]) -> Sequence[str]:
        """Checks the point count and each distinct key once (keys repeat per point)."""
        if not keys:
            raise PydanticCustomError(
                CONTRACT_ERROR, "{detail}", {"detail": "a metrics event needs at least one point"}
            )
        try:
            check_batch_size("metric points", len(keys))
        except LimitExceededError as exc:
            raise PydanticCustomError(LIMIT_ERROR, "{detail}", {"detail": str(exc)}) from None
        for key in dict.fromkeys(keys):
            try:
                check_key("metric", key)
            except RunstreamValidationError as exc:
                kind = LIMIT_ERROR if isinstance(exc, LimitExceededError) else CONTRACT_ERROR
                # ``index`` lets the codec point at the first point with this key.
                raise PydanticCustomError(
                    kind, "{detail}", {"detail": str(exc), "index": keys.index(key)}
                ) from None
        return keys

    @model_validator(mode="after")
    def _equal_lengths(self) -> RunMetricsBody:
        """Requires the four columns to have the same length (not expressible in JSON Schema)."""
        lengths = (len(self.keys), len(self.values), len(self.steps), len(self.timestamps))
        if len(set(lengths)) != 1:
            raise PydanticCustomError(
                CONTRACT_ERROR,
                "{detail}",
                {
                    "detail": "metric columns must have equal lengths, got keys={}, "
                    "values={}, steps={}, timestamps={}".format(*lengths)
                },
            )
        return self


class RunTagsBody(EventBody):
    """``run.tags``: sets 1 to ``LIMITS.tags_per_batch`` run tags (overwrites)."""

    event_type: ClassVar[EventType] = EventType.RUN_TAGS
    tags: Annotated[Sequence[TagEntry], _FROZEN, _batch("tags")]


class RunTagDeletedBody(EventBody):
    """``run.tag_deleted``: removes one run tag."""

    event_type: ClassVar[EventType] = EventType.RUN_TAG_DELETED
    key: TagKey


class RunEndedBody(EventBody):
    """``run.ended``: the run's terminal status and end time."""

    event_type: ClassVar[EventType] = EventType.RUN_ENDED
    status: RunEndStatus
    end_time: Millis


class RunDeletedBody(EventBody):
    """``run.deleted``: moves the run to the deleted lifecycle stage."""

    event_type: ClassVar[EventType] = EventType.RUN_DELETED


class RunRestoredBody(EventBody):
    """``run.restored``: brings a deleted run back."""

    event_type: ClassVar[EventType] = EventType.RUN_RESTORED


# --- artifacts and logged models ------------------------------------------------------


class ArtifactLoggedBody(EventBody):
    """``artifact.logged``: an object already uploaded to the store, and its digest."""

    event_type: ClassVar[EventType] = EventType.ARTIFACT_LOGGED
    path: ArtifactPath
    uri: S3Uri
    size: Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]
    sha256: Sha256
    media_type: MediaType


class ModelLoggedBody(EventBody):
    """``model.logged``: an MLflow model saved under the run's artifacts."""

    event_type: ClassVar[EventType] = EventType.MODEL_LOGGED
    artifact_path: ArtifactPath
    flavors: JsonObject
    model_uuid: ModelUuid
    signature: JsonObject | None = None
    input_example: AnyJson = None
