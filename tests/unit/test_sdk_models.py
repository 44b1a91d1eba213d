"""Model folders are MLflow's: saved and loaded through ``runstream.<flavor>`` without services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import runstream as mlflow
from runstream.errors import NotFoundError

REQS = ["scikit-learn", "numpy"]  # given, so MLflow skips its slow requirement inference


def _data() -> tuple[list[str], Any, Any]:
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    wine = load_wine()
    return list(wine.feature_names), wine.data, wine.target


def _tree() -> tuple[list[str], Any, Any, Any]:
    from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped]

    names, x, y = _data()
    return names, x, y, DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)


def _linear() -> tuple[list[str], Any, Any, Any]:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    names, x, y = _data()
    return names, x, y, LogisticRegression(max_iter=50).fit(x / 100, y)


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_an_sklearn_folder_is_mlflows_and_round_trips(tmp_path: Path, fmt: str) -> None:
    import pandas as pd

    names, x, _, model = _tree()
    example = pd.DataFrame(x[:2], columns=names)
    mlflow.sklearn.save_model(
        model,
        tmp_path / "m",
        input_example=example,
        serialization_format=fmt,
        pip_requirements=REQS,
    )
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == fmt
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["mlflow_version"] == "3.17.2"
    assert (tmp_path / "m" / "requirements.txt").read_text().split() == ["mlflow==3.17.2", *REQS]
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    assert loaded.metadata.get_input_schema().input_names() == names
    frame = pd.DataFrame(x, columns=names)
    assert (loaded.predict(frame) == model.predict(x)).all()
    raw = mlflow.sklearn.load_model(f"file://{tmp_path / 'm'}")
    assert (raw.predict(x) == model.predict(x)).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_signature_is_enforced_by_mlflow(tmp_path: Path) -> None:
    import pandas as pd

    names, x, _, model = _linear()  # saved as skops, MLflow's default format
    signature = mlflow.models.infer_signature(pd.DataFrame(x, columns=names), model.predict(x))
    mlflow.sklearn.save_model(model, tmp_path / "m", signature=signature, pip_requirements=REQS)
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    short = pd.DataFrame(x, columns=names).drop(columns=["alcohol"])
    with pytest.raises(Exception, match="alcohol"):
        loaded.predict(short)


def test_a_plain_function_is_a_python_model(tmp_path: Path) -> None:
    def double(model_input: list[list[float]]) -> list[list[float]]:
        return (np.asarray(model_input) * 2).tolist()

    mlflow.pyfunc.save_model(tmp_path / "f", python_model=double, pip_requirements=["numpy"])
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "f"))
    assert loaded.predict([[1.0, 2.0]]) == [[2.0, 4.0]]


def test_a_folder_without_mlmodel_is_not_a_model(tmp_path: Path) -> None:
    from runstream.sdk.mlflow_models import read_model

    with pytest.raises(NotFoundError, match="no MLmodel"):
        read_model(tmp_path)


def test_without_the_extra_the_error_names_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mlflow'] = None\n"
        "import runstream\n"
        "from runstream.errors import ExtraMissingError\n"
        "try:\n"
        f"    runstream.sklearn.save_model(object(), {str(tmp_path / 'x')!r})\n"
        "except ExtraMissingError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'runstream[models]'" in out.stdout, out.stderr[-2000:]


def test_the_mlflow_names_users_type_are_there() -> None:
    from runstream.sdk.client import RunstreamClient

    assert mlflow.tracking.MlflowClient is RunstreamClient
    assert mlflow.models.Model.__module__ == "mlflow.models.model"
    assert mlflow.models.ModelSignature.__name__ == "ModelSignature"
    assert mlflow.infer_signature is mlflow.models.infer_signature
    assert mlflow.pyfunc.PythonModel.__module__ == "mlflow.pyfunc.model"
    assert callable(mlflow.artifacts.download_artifacts)
