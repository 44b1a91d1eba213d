"""Datasets through the SDK: ``log_input`` with MLflow's ``mlflow.data`` objects, read back.

Against the real stack (broker, S3, materializer, query service): what the SDK logs
with ``runstream.log_input`` comes back in ``get_run(...).inputs`` with MLflow's
digest, schema and profile, and in the lake's ``dataset_inputs`` table for SQL.
"""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest

import runstream as mlflow
from runstream.config import Settings
from runstream.errors import ValidationError
from runstream.sdk.client import RunstreamClient


@pytest.fixture
def client(sdk_client: RunstreamClient) -> RunstreamClient:
    """A client of the test's query service, behind the fluent API."""
    return sdk_client


def test_log_input_is_read_back_with_mlflows_digest_and_context(
    client: RunstreamClient,
) -> None:
    frame = pd.DataFrame({"alcohol": [13.2, 12.4, 14.1], "label": [0, 1, 1]})
    train = mlflow.data.from_pandas(frame, source="/data/wine.csv", targets="label", name="wine")
    features = mlflow.data.from_numpy(np.zeros((4, 2)), name="eval-features")
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training", tags={"split": "a"})
        mlflow.log_input(features, context="eval")
        with pytest.raises(ValidationError, match="dataset"):
            mlflow.log_input({"rows": 3})
    got = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    by_name = {d.dataset.name: d for d in got}
    assert set(by_name) == {"wine", "eval-features"}
    wine = by_name["wine"]
    expected = train._to_mlflow_entity()
    assert (wine.dataset.digest, wine.dataset.source, wine.dataset.schema) == (
        expected.digest,
        expected.source,
        expected.schema,
    )
    assert wine.dataset.profile == expected.profile
    assert {(t.key, t.value) for t in wine.tags} == {
        ("mlflow.data.context", "training"),
        ("split", "a"),
    }
    assert [(t.key, t.value) for t in by_name["eval-features"].tags] == [
        ("mlflow.data.context", "eval")
    ]


def test_dataset_inputs_are_a_lake_table_for_sql(
    running_apps: Settings, client: RunstreamClient
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, name="tiny"), context="training")
    mlflow.get_run(run.info.run_id)  # waits until the lake holds the run's events
    url = f"http://127.0.0.1:{running_apps.ports.api}/api/v1/sql"
    sql = (
        "SELECT dataset_name, context FROM dataset_inputs "
        f"WHERE run_id = '{run.info.run_id}'"
    )
    answer = httpx.post(url, json={"sql": sql}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [["tiny", "training"]]
