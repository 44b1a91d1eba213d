"""Artifacts and models against the real object store, with their events read back."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_sdk_helpers import read_events

import runstream as mlflow
from runstream.config import Settings
from runstream.errors import ArtifactPathError, ValidationError
from runstream.events import EventType
from runstream.objectstore import ObjectStore
from runstream.sdk.client import RunstreamClient


@pytest.fixture
def client(settings: Settings) -> Iterator[RunstreamClient]:
    """A client on this test's topics, behind the fluent API."""
    client = RunstreamClient(settings=settings, environ={})
    mlflow.configure(client=client)
    yield client
    mlflow.configure()
    client.close(5.0)


def _artifact_events(settings: Settings, run_id: str) -> dict[str, Any]:
    return {
        e.body.path: e.body
        for e in read_events(settings.bootstrap, settings.topic_events)
        if e.type == EventType.ARTIFACT_LOGGED and e.run_id == run_id
    }


def test_artifacts_are_uploaded_with_digest_size_and_type(
    settings: Settings, client: RunstreamClient, tmp_path: Path
) -> None:
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(17 * 1024 * 1024 + 3))  # above one 16 MiB part: multipart
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.json").write_text('{"b": 1}')
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), "checkpoints")
        mlflow.log_artifacts(str(tree), "tree/")
        mlflow.log_dict({"lr": 0.1}, "config.yaml")
        with pytest.raises(ArtifactPathError):
            mlflow.log_artifact(str(big), "../escape")
        with pytest.raises(ArtifactPathError):
            mlflow.log_text("x", "/etc/passwd")
        with pytest.raises(ArtifactPathError):
            mlflow.log_text("x", "a\\..\\b.txt")
    client.flush(30)

    bodies = _artifact_events(settings, run.info.run_id)
    assert sorted(bodies) == [
        "checkpoints/weights.bin",
        "config.yaml",
        "tree/a.txt",
        "tree/sub/b.json",
    ]
    store = ObjectStore.from_settings(settings)
    for path, body in bodies.items():
        bucket, _, key = body.uri.removeprefix("s3://").partition("/")
        assert key == f"0/{run.info.run_id}/artifacts/{path}"  # the contract's layout
        data = store.get_bytes(bucket, key)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (body.size, body.sha256)
    assert bodies["checkpoints/weights.bin"].size == big.stat().st_size
    assert bodies["tree/sub/b.json"].media_type == "application/json"
    assert bodies["config.yaml"].media_type == "application/yaml"
    assert (
        run.info.artifact_uri == f"s3://{settings.artifacts_bucket}/0/{run.info.run_id}/artifacts"
    )


def test_a_figure_is_rendered_and_uploaded(settings: Settings, client: RunstreamClient) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    with mlflow.start_run() as run:
        mlflow.log_figure(figure, "plots/curve.png")
        with pytest.raises(ValidationError, match="matplotlib figure"):
            mlflow.log_figure("not a figure", "plots/x.png")
    plt.close(figure)
    client.flush(30)
    body = _artifact_events(settings, run.info.run_id)["plots/curve.png"]
    assert body.media_type == "image/png" and body.size > 1000


def _wine() -> tuple[list[str], Any, Any]:
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    wine = load_wine()
    return list(wine.feature_names), wine.data, wine.target


def test_an_sklearn_model_round_trips_through_runs_uri(
    settings: Settings, client: RunstreamClient
) -> None:
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped]

    names, x, y = _wine()
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y)
    example = pd.DataFrame(x[:2], columns=names)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            input_example=example,
            serialization_format="cloudpickle",
            pip_requirements=["scikit-learn"],
        )
    client.flush(30)
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert info.run_id == run.info.run_id and info.signature is not None

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    table = pd.DataFrame(x, columns=names)
    assert (loaded.predict(table) == model.predict(x)).all()
    with pytest.raises(Exception, match="alcohol"):
        loaded.predict(table.drop(columns=["alcohol"]))
    raw = mlflow.sklearn.load_model(info.model_uri)
    assert (raw.predict(x) == model.predict(x)).all()

    events = [
        e
        for e in read_events(settings.bootstrap, settings.topic_events)
        if e.run_id == run.info.run_id
    ]
    logged = [e.body for e in events if e.type == EventType.MODEL_LOGGED]
    assert len(logged) == 1 and logged[0].artifact_path == "model"
    assert set(logged[0].flavors) == {"python_function", "sklearn"}
    assert logged[0].model_uuid == info.model_uuid
    assert [c["name"] for c in logged[0].signature["inputs"]] == names
    assert logged[0].input_example["columns"] == names
    paths = {e.body.path for e in events if e.type == EventType.ARTIFACT_LOGGED}
    assert {
        "model/MLmodel",
        "model/model.pkl",
        "model/requirements.txt",
        "model/conda.yaml",
        "model/python_env.yaml",
        "model/input_example.json",
        "model/serving_input_example.json",
    } <= paths
    # The model.logged event comes after every file of the model.
    kinds = [e.type for e in events]
    assert kinds.index(EventType.MODEL_LOGGED) > max(
        i for i, k in enumerate(kinds) if k == EventType.ARTIFACT_LOGGED
    )


class AddN(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """A custom model: adds a constant to every input."""

    def __init__(self, n: float) -> None:
        self.n = n

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return np.asarray(model_input) + self.n


def test_a_custom_python_model_round_trips(settings: Settings, client: RunstreamClient) -> None:
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            "adder",
            python_model=AddN(2.0),
            input_example=np.zeros((2, 3)),
            pip_requirements=["numpy"],
        )
    client.flush(30)
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/adder")
    assert loaded.predict(np.ones((1, 3))).tolist() == [[3.0, 3.0, 3.0]]
    with pytest.raises(Exception, match="shape"):
        loaded.predict(np.ones((1, 4)))
    assert info.signature is not None
    assert loaded.metadata.model_uuid == info.model_uuid
