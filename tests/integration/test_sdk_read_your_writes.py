"""Read-your-writes through the SDK, with no sleep: each read sees the writes before it.

The query service (``runstream serve``, as ``make up`` starts it) waits, bounded, until
the lake holds the positions the SDK sends in ``X-Runstream-Read-After``.
"""

from __future__ import annotations

import pytest

import runstream as mlflow
from runstream.sdk.client import RunstreamClient


@pytest.fixture
def client(sdk_client: RunstreamClient) -> RunstreamClient:
    """A client of the test's query service, behind the fluent API."""
    return sdk_client


def test_set_experiment_then_get_experiment_by_name(client: RunstreamClient) -> None:
    created = mlflow.set_experiment("ryw-experiment")
    found = client.get_experiment_by_name("ryw-experiment")
    assert found is not None and found.experiment_id == created.experiment_id


def test_a_loop_of_runs_then_search_runs(client: RunstreamClient) -> None:
    mlflow.set_experiment("ryw-runs")
    ids = []
    for i in range(20):
        with mlflow.start_run() as run:
            mlflow.log_param("i", i)
            mlflow.log_metric("acc", i / 20)
        ids.append(run.info.run_id)
    found = mlflow.search_runs(experiment_names=["ryw-runs"], output_format="list")
    assert sorted(r.info.run_id for r in found) == sorted(ids)
    assert all(r.info.status == "FINISHED" and "acc" in r.data.metrics for r in found)


def test_log_metric_then_get_metric_history(client: RunstreamClient) -> None:
    mlflow.set_experiment("ryw-history")
    with mlflow.start_run() as run:
        for step in range(500):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in history] == list(range(500))
