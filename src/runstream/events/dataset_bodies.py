"""The body of ``run.inputs``: the datasets a run used (MLflow's ``DatasetInput``).

A dataset is identified within a run by its name and digest, as in MLflow; its
source, schema and profile are JSON text written by the library that built the
dataset (MLflow's ``mlflow.data``), kept verbatim. Limits are MLflow's
(:class:`~runstream.events.limits.Limits`, ``dataset_*`` and ``input_tag_*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Final

from pydantic import AfterValidator, ConfigDict, Field

from runstream.errors import ValidationError
from runstream.events.bodies import EventBody, _Frozen
from runstream.events.event_types import EventType
from runstream.events.fields import (
    DatasetDigest,
    DatasetName,
    DatasetProfile,
    DatasetSchema,
    DatasetSource,
    DatasetSourceType,
    InputTagKey,
    InputTagValue,
    as_pydantic_check,
)
from runstream.events.limits import check_batch_size

__all__ = [
    "DATASET_CONTEXT_TAG",
    "DatasetEntry",
    "DatasetInputEntry",
    "InputTagEntry",
    "RunInputsBody",
]

DATASET_CONTEXT_TAG: Final = "mlflow.data.context"
"""The input tag naming what the run used a dataset for (``training``, ``eval``...)."""


class InputTagEntry(_Frozen):
    """One tag of a dataset input."""

    key: InputTagKey
    value: InputTagValue


class DatasetEntry(_Frozen):
    """A dataset: its identity (name, digest) and the JSON text describing it.

    ``schema`` is spelled ``schema_`` in Python (pydantic models own ``schema``);
    the wire name is ``schema``.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=False,
    )

    name: DatasetName
    digest: DatasetDigest
    source_type: DatasetSourceType
    source: DatasetSource
    schema_: DatasetSchema | None = Field(default=None, alias="schema")
    profile: DatasetProfile | None = None


_FROZEN: Final = AfterValidator(tuple)


@as_pydantic_check
def _tags_at_most(items: Sequence[Any]) -> Sequence[Any]:
    check_batch_size("tags", len(items))
    return items


@as_pydantic_check
def _datasets(items: Sequence[Any]) -> Sequence[Any]:
    if not items:
        raise ValidationError("datasets must hold at least one item")
    check_batch_size("datasets", len(items))
    return items


class DatasetInputEntry(_Frozen):
    """A dataset a run used, and the tags of that use."""

    dataset: DatasetEntry
    tags: Annotated[
        Sequence[InputTagEntry],
        AfterValidator(tuple),
        AfterValidator(as_pydantic_check(_tags_at_most)),
    ] = ()


class RunInputsBody(EventBody):
    """``run.inputs``: 1 to ``LIMITS.datasets_per_event`` datasets the run used.

    Logging the same (name, digest) again replaces its tags; the dataset row is
    the last one logged.
    """

    event_type: ClassVar[EventType] = EventType.RUN_INPUTS
    datasets: Annotated[
        Sequence[DatasetInputEntry],
        AfterValidator(tuple),
        AfterValidator(as_pydantic_check(_datasets)),
    ]
