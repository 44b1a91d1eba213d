"""Signatures: inference from examples, the predict-time column check, MLmodel form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runstream.errors import ValidationError
from runstream.sdk.models import example_from_json, example_to_json
from runstream.sdk.signature import ColSpec, Signature, TensorSpec, infer_signature, prepare_input

EXAMPLE = {"alcohol": [13.2, 12.1], "ash": [2.1, 2.4], "proline": [1050, 880]}


def test_columns_are_inferred_from_a_dict_of_columns() -> None:
    signature = infer_signature(EXAMPLE, np.array([0, 1]))
    assert signature.inputs == (
        ColSpec("alcohol", "double"),
        ColSpec("ash", "double"),
        ColSpec("proline", "long"),
    )
    assert signature.outputs == (ColSpec(None, "long"),)
    assert signature.columns == ["alcohol", "ash", "proline"]


def test_rows_as_dicts_and_arrays_are_inferred() -> None:
    rows = [{"a": 1.0, "b": "x"}, {"a": 2.0, "b": "y"}]
    assert infer_signature(rows).inputs == (ColSpec("a", "double"), ColSpec("b", "string"))
    tensor = infer_signature(np.zeros((5, 3), dtype=np.float32))
    assert tensor.inputs == (TensorSpec("float32", (-1, 3)),)


def test_predict_input_is_reordered_and_missing_columns_are_named() -> None:
    signature = infer_signature(EXAMPLE)
    shuffled = {"proline": [1.0], "ash": [2.0], "alcohol": [3.0], "extra": [9.0]}
    assert prepare_input(signature, shuffled).tolist() == [[3.0, 2.0, 1.0]]
    with pytest.raises(ValidationError, match=r"missing column\(s\) \['ash'\]"):
        prepare_input(signature, {"alcohol": [1.0], "proline": [2.0]})
    with pytest.raises(ValidationError, match="rows of 3 columns"):
        prepare_input(signature, np.zeros((2, 4)))
    assert prepare_input(signature, np.zeros((2, 3))).shape == (2, 3)


def test_tensor_shapes_are_checked() -> None:
    signature = Signature((TensorSpec("float64", (-1, 3)),))
    assert prepare_input(signature, [[1, 2, 3]]).shape == (1, 3)
    with pytest.raises(ValidationError, match="expects"):
        prepare_input(signature, [[1, 2]])


def test_mlmodel_form_round_trips_and_matches_mlflow_layout() -> None:
    signature = infer_signature(EXAMPLE, [1, 0])
    block = signature.to_mlmodel()
    assert isinstance(block["inputs"], str)
    assert json.loads(block["inputs"])[0] == {"type": "double", "required": True, "name": "alcohol"}
    assert Signature.from_mlmodel(block) == signature
    assert signature.to_event()["inputs"][2]["name"] == "proline"


def test_examples_round_trip_through_json() -> None:
    data, kind = example_to_json(EXAMPLE)
    assert kind == "dataframe" and data["columns"] == ["alcohol", "ash", "proline"]
    assert example_from_json(json.loads(json.dumps(data)))["ash"] == [2.1, 2.4]
    array, kind = example_to_json(np.ones((2, 2)))
    assert kind == "ndarray" and example_from_json(array).shape == (2, 2)
