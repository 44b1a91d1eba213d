"""MLflow 3's logged models through the gateway, with MLflow's own client, unchanged.

A real broker, object store and materializer, and the server ``runstream serve``
builds: ``mlflow.sklearn.log_model`` creates a logged model, uploads it through the
artifact proxy and finalizes it; ``models:/m-<id>``, ``register_model("runs:/...")``
and ``models:/<name>/<version>`` load it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelInput, LoggedModelOutput, LoggedModelStatus
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression
from test_gateway_tracking import mlflow_pointed_at_gateway

import runstream
from runstream.config import Settings
from runstream.sdk.client import RunstreamClient

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.2]])
Y = np.array([0, 1, 0, 1])


@pytest.fixture(scope="module")
def url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("logged-models")
    with mlflow_pointed_at_gateway(stack_settings, home) as base:
        yield base


def test_log_model_loads_registers_and_loads_by_version(url: str) -> None:
    model = LogisticRegression().fit(X, Y)
    experiment_id = mlflow.set_experiment("gateway-logged-models").experiment_id
    with mlflow.start_run() as run:
        mlflow.log_param("C", "1.0")
        mlflow.log_metric("acc", 0.75)  # log_model sends it again, linked to the model
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
    run_id = run.info.run_id
    assert info.model_id.startswith("m-") and len(info.model_id) == 34
    assert info.model_uri == f"models:/{info.model_id}"
    assert mlflow.last_logged_model().model_id == info.model_id
    listed = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert [m.model_id for m in listed] == [info.model_id]
    loaded = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    assert list(loaded.predict(X)) == list(model.predict(X))
    runstream.configure(client=RunstreamClient(tracking_uri=url, environ={}))
    try:  # Runstream's SDK loads MLflow 3's models:/m-<id> too
        by_sdk = runstream.pyfunc.load_model(f"models:/{info.model_id}")
        assert list(by_sdk.predict(X)) == list(model.predict(X))
    finally:
        runstream.configure()

    version = mlflow.register_model(f"runs:/{run_id}/model", "gw-logged")
    assert version.version == "1" and version.run_id == run_id
    by_version = mlflow.pyfunc.load_model("models:/gw-logged/1")
    assert list(by_version.predict(X)) == list(model.predict(X))

    client = MlflowClient()
    got = client.get_logged_model(info.model_id)
    assert (got.name, got.status, got.source_run_id) == ("model", LoggedModelStatus.READY, run_id)
    assert got.experiment_id == experiment_id and got.params["C"] == "1.0"
    assert got.artifact_location.startswith("mlflow-artifacts:/")
    assert got.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    assert json.loads(got.tags["mlflow.modelVersions"]) == [{"name": "gw-logged", "version": "1"}]
    by_run = f"source_run_id = '{run_id}'"
    found = client.search_logged_models([experiment_id], filter_string=by_run)
    assert [m.model_id for m in found] == [info.model_id]
    ran = mlflow.get_run(run_id)
    assert ran.data.params == {"C": "1.0"}
    assert [o.model_id for o in ran.outputs.model_outputs] == [info.model_id]
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "acc")] == [(0, 0.75)]


def test_register_model_picks_the_latest_step_of_a_runs_same_named_models(url: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("gateway-logged-models-twins")
    run_id = client.create_run(experiment_id).info.run_id
    early, late = (
        client.create_logged_model(experiment_id, name="twin", source_run_id=run_id)
        for _ in range(2)
    )
    client.log_outputs(run_id, [LoggedModelOutput(early.model_id, step=1),
                                LoggedModelOutput(late.model_id, step=5)])
    steps = {o.model_id: o.step for o in client.get_run(run_id).outputs.model_outputs}
    assert steps == {early.model_id: 1, late.model_id: 5}
    version = mlflow.register_model(f"runs:/{run_id}/twin", "gw-twin")
    assert version.version == "1"
    assert client.get_model_version_download_uri("gw-twin", "1") == late.artifact_location
    assert "mlflow.modelVersions" in client.get_logged_model(late.model_id).tags
    assert "mlflow.modelVersions" not in client.get_logged_model(early.model_id).tags


def test_client_calls_behave_as_against_mlflows_server(url: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("gateway-logged-models-client")
    params = {f"p{i:03d}": str(i) for i in range(150)}  # past one request's 100
    first = client.create_logged_model(experiment_id, name="first", params=params,
                                       tags={"team": "a"}, model_type="demo")
    assert first.status == LoggedModelStatus.PENDING and first.params == params
    second = client.create_logged_model(experiment_id, name="second")
    client.finalize_logged_model(second.model_id, LoggedModelStatus.FAILED)
    finalized = client.finalize_logged_model(first.model_id, LoggedModelStatus.READY)
    assert finalized.status == LoggedModelStatus.READY
    client.set_logged_model_tags(first.model_id, {"stage": "dev", "gone": "soon"})
    client.delete_logged_model_tag(first.model_id, "gone")
    got = client.get_logged_model(first.model_id)
    assert got.tags == {"team": "a", "stage": "dev"} and got.model_type == "demo"

    newest = client.search_logged_models([experiment_id], max_results=1)
    assert [m.name for m in newest] == ["second"] and newest.token
    rest = client.search_logged_models([experiment_id], max_results=1, page_token=newest.token)
    assert [m.name for m in rest] == ["first"] and not rest.token
    ready = client.search_logged_models([experiment_id], filter_string="status = 'READY'")
    assert [m.name for m in ready] == ["first"]
    by_name = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": True}]
    )
    assert [m.name for m in by_name] == ["first", "second"]
    tagged = client.search_logged_models([experiment_id], filter_string="tags.stage = 'dev'")
    assert [m.name for m in tagged] == ["first"]
    by_param = client.search_logged_models([experiment_id], filter_string="params.p001 = '1'")
    assert [m.name for m in by_param] == ["first"]

    client.delete_logged_model(second.model_id)
    with pytest.raises(MlflowException) as gone:
        client.get_logged_model(second.model_id)
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [m.name for m in client.search_logged_models([experiment_id])] == ["first"]
    kept = httpx.get(f"{url}/api/2.0/mlflow/logged-models/{second.model_id}",
                     params={"allow_deleted": "true"}, timeout=30)
    assert kept.status_code == 200 and kept.json()["model"]["info"]["name"] == "second"


def test_bad_and_unknown_ids_answer_mlflows_errors(url: str) -> None:
    base = f"{url}/api/2.0/mlflow/logged-models"
    bad = httpx.get(f"{base}/not-a-model", timeout=30)
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = httpx.get(f"{base}/m-{'0' * 32}", timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_experiment = httpx.post(base, json={"experiment_id": "no-such-experiment"}, timeout=30)
    assert no_experiment.status_code == 404
    bad_name = httpx.post(base, json={"experiment_id": "0", "name": "a/b"}, timeout=30)
    assert bad_name.status_code == 400 and "cannot contain" in bad_name.json()["message"]
    no_ids = httpx.post(f"{base}/search", json={}, timeout=30)
    assert no_ids.status_code == 400
    bad_filter = httpx.post(f"{base}/search", json={"experiment_ids": ["0"], "filter": "name ="},
                            timeout=30)
    assert bad_filter.status_code == 400
    bad_status = httpx.patch(f"{base}/m-{'0' * 32}", json={"status": "LOGGED_MODEL_PENDING"},
                             timeout=30)
    assert bad_status.status_code == 400


def test_metrics_logged_for_a_model_show_on_it_and_find_and_order_it(url: str) -> None:
    experiment_id = mlflow.set_experiment("gateway-model-metrics").experiment_id
    client = MlflowClient()
    evaluation = mlflow.data.from_numpy(X, name="eval")
    with mlflow.start_run() as run:
        good = mlflow.initialize_logged_model(name="good")
        weak = mlflow.initialize_logged_model(name="weak")
        plain = mlflow.initialize_logged_model(name="plain")
        mlflow.log_metric("acc", 0.7, step=1, model_id=good.model_id)
        mlflow.log_metric("acc", 0.95, step=2, model_id=good.model_id, dataset=evaluation)
        mlflow.log_metrics({"acc": 0.6, "loss": 0.4}, step=1, model_id=weak.model_id)
    got = client.get_logged_model(good.model_id)
    points = sorted((m.step, m.value, m.dataset_name, m.run_id) for m in got.metrics)
    assert points == [(1, 0.7, None, run.info.run_id), (2, 0.95, "eval", run.info.run_id)]
    assert {m.dataset_digest for m in got.metrics if m.dataset_name} == {evaluation.digest}
    # The run keeps every point as well.
    history = client.get_metric_history(run.info.run_id, "acc")
    assert sorted(m.value for m in history) == [0.6, 0.7, 0.95]

    def names(**kwargs: object) -> list[str]:
        found = client.search_logged_models([experiment_id], **kwargs)  # type: ignore[arg-type]
        return [m.name for m in found]

    # A metric test holds when any point passes it, as in MLflow's store.
    assert names(filter_string="metrics.acc > 0.9") == ["good"]
    assert sorted(names(filter_string="metrics.acc >= 0.6 AND name != 'x'")) == ["good", "weak"]
    assert names(filter_string="metrics.loss < 0.5") == ["weak"]
    # Ordered by the newest point; models without the metric come last.
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": False}]) == [
        "good", "weak", "plain"]
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": True}]) == [
        "weak", "good", "plain"]
    assert plain.model_id not in {m.model_id for m in client.search_logged_models(
        [experiment_id], filter_string="metrics.acc != 0")}

    unknown = httpx.post(f"{url}/api/2.0/mlflow/runs/log-metric", json={
        "run_id": run.info.run_id, "key": "acc", "value": 1.0, "timestamp": 1, "step": 9,
        "model_id": f"m-{'0' * 32}"}, timeout=30)
    assert unknown.status_code == 404
    assert [m.step for m in client.get_metric_history(run.info.run_id, "acc")].count(9) == 0


def test_a_run_keeps_the_logged_models_it_used(url: str) -> None:
    mlflow.set_experiment("gateway-model-inputs")
    client = MlflowClient()
    with mlflow.start_run() as trained:
        model = mlflow.initialize_logged_model(name="base")
    with mlflow.start_run() as evaluated:
        client.log_inputs(evaluated.info.run_id, models=[LoggedModelInput(model.model_id)])
    used = client.get_run(evaluated.info.run_id).inputs.model_inputs
    assert [m.model_id for m in used] == [model.model_id]
    assert client.get_run(trained.info.run_id).inputs.model_inputs == []
    bad = httpx.post(f"{url}/api/2.0/mlflow/runs/log-inputs", json={
        "run_id": evaluated.info.run_id, "models": [{"model_id": "nope"}]}, timeout=30)
    assert bad.status_code == 400
