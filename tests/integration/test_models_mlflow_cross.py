"""A model logged by Runstream loads with MLflow's own ``mlflow.pyfunc.load_model``, and back.

MLflow's side runs in MLflow's own venv (``benchmarks/peers.py``, full ``mlflow``
3.17.2, installed on first use), so nothing of Runstream is on its path.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.peers import peer_python
from models_helpers import sklearn_model, wine

import runstream as mlflow
from runstream.config import Settings
from runstream.sdk.client import RunstreamClient

PREDICT = """
import json, sys
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
frame = pd.read_json(sys.argv[2], orient="split").astype("float64")
print(json.dumps([int(v) for v in model.predict(frame)]))
"""
SAVE = """
import sys
import mlflow.sklearn, pandas as pd
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
wine = load_wine()
x = pd.DataFrame(wine.data, columns=[n.replace("/", "_") for n in wine.feature_names])
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x, wine.target)
mlflow.sklearn.save_model(model, sys.argv[1], input_example=x.head(2),
                          pip_requirements=["scikit-learn", "skops"])
x.to_json(sys.argv[2], orient="split")
model_predictions = [int(v) for v in model.predict(x)]
import json; open(sys.argv[3], "w").write(json.dumps(model_predictions))
"""


@pytest.fixture
def client(settings: Settings) -> Iterator[RunstreamClient]:
    client = RunstreamClient(settings=settings, environ={})
    mlflow.configure(client=client)
    yield client
    mlflow.configure()
    client.close(5.0)


def _mlflow(code: str, *args: str) -> str:
    done = subprocess.run(
        [str(peer_python("mlflow")), "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_mlflow_loads_what_runstream_logged(client: RunstreamClient, tmp_path: Path) -> None:
    x, y = wine()
    model = sklearn_model(x, y)
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(
            model, name="model", input_example=x.head(2), pip_requirements=["scikit-learn", "skops"]
        )
    client.flush(30)
    folder = mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/model")
    data = tmp_path / "x.json"
    x.to_json(data, orient="split")
    got = json.loads(_mlflow(PREDICT, folder, str(data)))
    assert got == [int(v) for v in model.predict(x)]


def test_runstream_loads_what_mlflow_saved(client: RunstreamClient, tmp_path: Path) -> None:
    import pandas as pd

    folder, data, want = tmp_path / "m", tmp_path / "x.json", tmp_path / "want.txt"
    _mlflow(SAVE, str(folder), str(data), str(want))
    x = pd.read_json(data, orient="split").astype("float64")
    expected = json.loads(want.read_text())
    local = mlflow.pyfunc.load_model(str(folder))
    assert [int(v) for v in local.predict(x)] == expected
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), "mlflow-model")
    client.flush(30)
    remote = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/mlflow-model")
    assert [int(v) for v in remote.predict(x)] == expected
    assert mlflow.sklearn.load_model(str(folder)).__class__.__name__ == "Pipeline"
