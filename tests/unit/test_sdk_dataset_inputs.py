"""MLflow's dataset objects become valid ``run.inputs`` bodies; anything else is refused."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.entities import Dataset as MlflowDatasetEntity
from mlflow.entities import DatasetInput as MlflowDatasetInput
from mlflow.entities import InputTag as MlflowInputTag

import runstream
from runstream.errors import LimitExceededError, ValidationError
from runstream.events import EventType, make_event, new_run_id
from runstream.sdk.datasets import as_dataset_input, dataset_input, inputs_wire


def _event(wire: list[dict[str, object]]) -> object:
    return make_event(EventType.RUN_INPUTS, {"datasets": wire}, run_id=new_run_id())


def test_a_pandas_dataset_keeps_mlflows_digest_schema_and_profile() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]})
    dataset = runstream.data.from_pandas(frame, source="/d.csv", targets="y", name="d")
    entity = dataset._to_mlflow_entity()
    wire = inputs_wire([dataset_input(dataset, context="training", tags={"fold": 1})])
    assert wire == [
        {
            "dataset": {
                "name": "d",
                "digest": entity.digest,
                "source_type": "local",
                "source": entity.source,
                "schema": entity.schema,
                "profile": entity.profile,
            },
            "tags": [
                {"key": "fold", "value": "1"},
                {"key": "mlflow.data.context", "value": "training"},
            ],
        }
    ]
    _event(wire)  # a valid event


def test_mlflows_dataset_input_entities_are_taken_as_they_are() -> None:
    entity = MlflowDatasetEntity("n", "abc", "code", "{}", None, None)
    item = as_dataset_input(MlflowDatasetInput(entity, [MlflowInputTag("k", "v")]))
    assert inputs_wire([item])[0]["tags"] == [{"key": "k", "value": "v"}]
    assert inputs_wire([item])[0]["dataset"]["schema"] is None


def test_what_is_not_a_dataset_is_refused_with_a_message() -> None:
    with pytest.raises(ValidationError, match="log_input takes a dataset"):
        dataset_input({"rows": 3})


def test_a_digest_longer_than_mlflows_limit_is_refused() -> None:
    entity = MlflowDatasetEntity("n", "d" * 37, "code", "{}", None, None)
    with pytest.raises(LimitExceededError, match="digest"):
        _event(inputs_wire([as_dataset_input(entity)]))
