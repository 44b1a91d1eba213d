"""Datasets a run used: MLflow's dataset objects turned into ``run.inputs`` bodies.

Datasets are built by MLflow's own ``mlflow.data`` (``runstream.data`` names it):
it computes the digest, the schema and the profile exactly as MLflow does, so a
dataset logged through Runstream and one logged through MLflow compare equal.
This module only reads what those objects carry; it accepts, by shape:

- a dataset (``mlflow.data.from_pandas(...)``): it has ``_to_mlflow_entity()``;
- a dataset entity (``mlflow.entities.Dataset``, :class:`DatasetEntity`);
- a dataset input (``mlflow.entities.DatasetInput``, :class:`DatasetInput`), which
  adds the tags of one use, e.g. ``mlflow.data.context``.

Pure: no I/O, no import of MLflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runstream.errors import ValidationError
from runstream.events import DATASET_CONTEXT_TAG
from runstream.sdk.entities import DatasetEntity, DatasetInput, InputTag

_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


def dataset_entity(dataset: Any) -> DatasetEntity:
    """The name, digest, source and schema of a dataset or dataset entity.

    Raises:
        ValidationError: ``dataset`` is neither (the message says what is expected).
    """
    if isinstance(dataset, DatasetEntity):
        return dataset
    to_entity = getattr(dataset, "_to_mlflow_entity", None)
    entity = to_entity() if callable(to_entity) else dataset
    missing = [f for f in _FIELDS[:4] if not isinstance(getattr(entity, f, None), str)]
    if missing:
        raise ValidationError(
            f"log_input takes a dataset (runstream.data.from_pandas, from_numpy, ...) or "
            f"a dataset entity; {type(dataset).__name__} has no {', '.join(missing)}"
        )
    schema, profile = getattr(entity, "schema", None), getattr(entity, "profile", None)
    return DatasetEntity(
        name=entity.name,
        digest=entity.digest,
        source_type=entity.source_type,
        source=entity.source,
        schema=schema if isinstance(schema, str) else None,
        profile=profile if isinstance(profile, str) else None,
    )


def dataset_input(
    dataset: Any, context: str | None = None, tags: Mapping[str, Any] | None = None
) -> DatasetInput:
    """One use of a dataset: the dataset and its input tags (``context`` among them)."""
    pairs = {str(k): str(v) for k, v in (tags or {}).items()}
    if context is not None:
        pairs[DATASET_CONTEXT_TAG] = str(context)
    return DatasetInput(dataset_entity(dataset), [InputTag(k, v) for k, v in pairs.items()])


def as_dataset_input(item: Any) -> DatasetInput:
    """A :class:`DatasetInput` from ours, MLflow's ``DatasetInput``, or a bare dataset."""
    if isinstance(item, DatasetInput):
        return item
    if hasattr(item, "dataset") and hasattr(item, "tags"):
        tags = {str(t.key): str(t.value) for t in item.tags or ()}
        return dataset_input(item.dataset, tags=tags)
    return dataset_input(item)


def inputs_wire(inputs: Iterable[DatasetInput]) -> list[dict[str, Any]]:
    """The ``datasets`` of a ``run.inputs`` body (validated when the event is made)."""
    out = []
    for item in inputs:
        d = item.dataset
        out.append(
            {
                "dataset": {f: getattr(d, f) for f in _FIELDS},
                "tags": [{"key": t.key, "value": t.value} for t in item.tags],
            }
        )
    return out


__all__ = ["as_dataset_input", "dataset_entity", "dataset_input", "inputs_wire"]
