"""Model folders written and read locally: MLmodel content, flavors, predict checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import runstream as mlflow
from runstream.errors import NotFoundError, ValidationError
from runstream.sdk.pyfunc import load_folder
from runstream.sdk.sklearn import SerializationFormat


def _data() -> tuple[list[str], Any, Any]:
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    wine = load_wine()
    return list(wine.feature_names), wine.data, wine.target


def _tree() -> tuple[list[str], Any, Any, Any]:
    from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped]

    names, x, y = _data()
    return names, x, y, DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle", "joblib"])
def test_sklearn_model_folder_round_trips(tmp_path: Path, fmt: SerializationFormat) -> None:
    names, x, _, model = _tree()
    example = {n: x[:2, i].tolist() for i, n in enumerate(names)}
    mlflow.sklearn.save_model(
        model, tmp_path / "m", input_example=example, serialization_format=fmt
    )
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == fmt
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
    }
    assert "scikit-learn==" in (tmp_path / "m" / "requirements.txt").read_text()
    loaded = load_folder(tmp_path / "m")
    assert loaded.signature is not None and loaded.signature.columns == names
    assert (loaded.predict(x) == model.predict(x)).all()
    assert (mlflow.sklearn.load_model(str(tmp_path / "m")).predict(x) == model.predict(x)).all()


def test_a_model_without_predict_or_a_bad_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no predict"):
        mlflow.sklearn.save_model(object(), tmp_path / "a")
    _, _, _, model = _tree()
    with pytest.raises(ValidationError, match="serialization_format"):
        mlflow.sklearn.save_model(model, tmp_path / "b", serialization_format="onnx")  # type: ignore[arg-type]


def test_a_plain_function_is_a_python_model(tmp_path: Path) -> None:
    mlflow.pyfunc.save_model(
        tmp_path / "f",
        python_model=lambda rows: np.asarray(rows) * 2,
        signature=mlflow.infer_signature(np.zeros((1, 2))),
    )
    loaded = load_folder(tmp_path / "f")
    assert loaded.predict([[1, 2]]).tolist() == [[2, 4]]
    with pytest.raises(ValidationError, match="expects"):
        loaded.predict([[1, 2, 3]])


def test_a_folder_without_mlmodel_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no MLmodel"):
        load_folder(tmp_path)


def test_mlflow_can_load_an_sklearn_model_runstream_saved(tmp_path: Path) -> None:
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")  # needs pandas, optional here
    _, x, _, model = _tree()
    mlflow.sklearn.save_model(model, tmp_path / "m", input_example=x[:2])
    assert (mlflow_sklearn.load_model(str(tmp_path / "m")).predict(x) == model.predict(x)).all()
