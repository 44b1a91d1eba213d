"""MLflow's own client reads Runstream: the REST read API, served by a real uvicorn."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from test_query_helpers import fill_lake, per_test_settings, rid, serve

from runstream.config import Settings


@pytest.fixture(scope="module")
def url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-mlflow"))
    fill_lake(settings)
    with serve(settings) as base, pytest.MonkeyPatch.context() as mp:
        # Fail fast instead of MLflow's default retries with backoff.
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        yield base


@pytest.fixture
def client(url: str) -> MlflowClient:
    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_experiments_through_mlflow_client(client: MlflowClient) -> None:
    exp = client.get_experiment_by_name("vision")
    assert exp is not None and exp.experiment_id == "1" and exp.tags == {"team": "cv"}
    assert client.get_experiment("2").name == "nlp"
    assert client.get_experiment_by_name("no such experiment") is None
    names = [e.name for e in client.search_experiments()]
    assert names == ["nlp", "vision", "Default"]
    assert [e.name for e in client.search_experiments(filter_string="name LIKE 'vis%'")] == [
        "vision"
    ]


def test_runs_through_mlflow_client(client: MlflowClient) -> None:
    run = client.get_run(rid(1))
    assert run.info.run_name == "alpha" and run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1", "model": "cnn"}
    assert run.data.metrics["acc"] == 0.91
    assert run.data.tags["team"] == "cv" and run.data.tags["mlflow.runName"] == "alpha"
    assert math.isnan(client.get_run(rid(3)).data.metrics["acc"])
    found = client.search_runs(
        ["1", "2"], "metrics.acc > 0.8", order_by=["metrics.acc DESC"], max_results=10
    )
    assert [r.info.run_name for r in found] == ["alpha", "beta"]
    paged = client.search_runs(["1", "2"], max_results=2)
    assert len(paged) == 2 and paged.token
    rest = client.search_runs(["1", "2"], max_results=10, page_token=paged.token)
    assert [r.info.run_name for r in [*paged, *rest]] == ["zeta", "delta", "gamma", "beta", "alpha"]


def test_fluent_search_runs_reads_runstream(url: str) -> None:
    mlflow.set_tracking_uri(url)
    try:
        runs = mlflow.search_runs(
            experiment_names=["vision"], filter_string="params.model = 'cnn'", output_format="list"
        )
    finally:
        mlflow.set_tracking_uri(None)
    assert [r.info.run_name for r in runs] == ["beta", "alpha"]


def test_metric_history_through_mlflow_client(client: MlflowClient) -> None:
    history = client.get_metric_history(rid(1), "train_loss")
    assert [m.step for m in history] == list(range(5000))
    assert history[1234].value == pytest.approx(5.0 + 1 / 1235)


def test_registry_through_mlflow_client(client: MlflowClient) -> None:
    assert [m.name for m in client.search_registered_models()] == ["classifier", "detector"]
    model = client.get_registered_model("classifier")
    assert model.aliases == {"champion": "2", "next": "3"}  # strings, as in MLflow's proto
    (prod,) = client.get_latest_versions("classifier", stages=["Production"])
    assert prod.version == "2" and prod.run_id == rid(2)
    assert client.get_model_version_by_alias("classifier", "champion").version == "2"
    assert client.get_model_version("classifier", "3").current_stage == "Staging"
    versions = client.search_model_versions("name = 'classifier'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    uri = client.get_model_version_download_uri("classifier", "2")
    assert uri.endswith(f"/1/{rid(2)}/artifacts/model")
    with pytest.raises(MlflowException, match=r"RESOURCE_DOES_NOT_EXIST|not found"):
        client.get_registered_model("gone")


def test_writes_are_refused_with_a_clear_message(client: MlflowClient) -> None:
    with pytest.raises(MlflowException, match="read-only") as info:
        client.create_experiment("new")
    assert "SDK" in str(info.value)
    with pytest.raises(MlflowException, match="read-only"):
        client.set_registered_model_alias("classifier", "x", "1")


def test_rest_envelope_paths_and_bulk_history(url: str) -> None:
    bad = httpx.post(
        f"{url}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": ["1"], "filter": "metrics.acc >>> 1"},
    )
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE" and bad.json()["message"]
    ajax = httpx.get(f"{url}/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "1"})
    assert ajax.json()["experiment"]["name"] == "vision"
    missing = httpx.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": rid(99)})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    files = httpx.get(f"{url}/api/2.0/mlflow/artifacts/list", params={"run_id": rid(1)}).json()
    assert {f["path"]: f["is_dir"] for f in files["files"]}["model"] is True
    bulk = httpx.get(
        f"{url}/api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={"run_ids": [rid(1), rid(2)], "metric_key": "train_loss", "max_results": 50},
    ).json()["metrics"]
    per_run = {r: [m["step"] for m in bulk if m["run_id"] == r] for r in (rid(1), rid(2))}
    assert per_run[rid(1)][0] == 0 and per_run[rid(1)][-1] == 4999 and len(per_run[rid(1)]) <= 50
    assert len(per_run[rid(2)]) <= 50
    one_sided = httpx.get(
        f"{url}/api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={"run_ids": rid(1), "metric_key": "train_loss", "start_step": 5},
    )
    assert one_sided.status_code == 400
    big = httpx.post(
        f"{url}/api/2.0/mlflow/runs/search", json={"experiment_ids": ["1"], "max_results": 10**9}
    )
    assert big.status_code == 400
