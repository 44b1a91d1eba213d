"""MLflow's own client writes through the gateway and reads back through Runstream.

One server built as ``runstream serve`` builds it (role ``all``), a real broker and
materializer; the client knows only the tracking URI.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
import uvicorn
from materializer_support import materializer
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from test_query_helpers import free_port

from runstream.config import Settings
from runstream.objectstore.client import PART_SIZE
from runstream.server import Role, build_app


@contextmanager
def server(settings: Settings, role: Role = "all") -> Iterator[str]:
    """The app of ``runstream serve --role <role>`` in a uvicorn thread."""
    port = free_port()
    config = uvicorn.Config(build_app(settings, role), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@contextmanager
def mlflow_pointed_at_gateway(stack_settings: Settings, home: Path) -> Iterator[str]:
    """A materializer and a server on fresh topics, and MLflow's client pointed at them."""
    from test_query_helpers import per_test_settings

    from runstream.kafka.admin import ensure_topics

    settings = per_test_settings(stack_settings, home)
    # A cold materializer takes seconds to join its group on a busy machine.
    settings = dataclasses.replace(settings, read_after_timeout_s=30.0)
    ensure_topics(settings)
    with materializer(settings), server(settings) as base, pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", base)
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        # Longer than the gateway's wait for a version number (30 s).
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
        mlflow.set_tracking_uri(base)
        yield base


@pytest.fixture(scope="module")
def url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_pointed_at_gateway(stack_settings, tmp_path_factory.mktemp("gateway")) as base:
        yield base


def test_fluent_api_logs_and_reads_back(url: str) -> None:
    mlflow.set_experiment("gateway-fluent")
    with mlflow.start_run(run_name="outer") as outer:
        mlflow.log_param("lr", "0.1")
        mlflow.log_params({"layers": 3, "act": "relu"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("nan", math.nan)
        mlflow.set_tag("team", "gw")
        with mlflow.start_run(run_name="inner", nested=True) as inner:
            mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
    run = mlflow.get_run(outer.info.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "outer"
    assert run.data.params == {"lr": "0.1", "layers": "3", "act": "relu"}
    assert run.data.metrics["loss"] == 0.2 and math.isnan(run.data.metrics["nan"])
    assert run.data.tags["team"] == "gw"
    history = MlflowClient().get_metric_history(outer.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    child = mlflow.get_run(inner.info.run_id)
    assert child.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert child.data.metrics == {"acc": 0.9, "f1": 0.8}
    found = MlflowClient().search_runs(
        [run.info.experiment_id], order_by=["attributes.start_time"]
    )
    assert [r.info.run_name for r in found] == ["outer", "inner"]


def test_a_run_just_written_reads_back_at_once_and_the_lake_agrees(url: str) -> None:
    client = MlflowClient()
    exp = client.create_experiment(f"gateway-mirror-{time.time_ns()}")
    rid = client.create_run(exp, tags={"team": "a"}, run_name="fresh").info.run_id
    now = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric("acc", 0.5, now, 0), Metric("acc", 0.7, now, 1)],
                     params=[Param("lr", "0.1")], tags=[RunTag("k", "v")])
    client.set_terminated(rid, "FAILED")  # MLflow's client reads the run back here
    get = f"{url}/api/2.0/mlflow/runs/get"
    first = httpx.get(get, params={"run_id": rid})
    assert first.status_code == 200
    assert first.headers["x-runstream-freshness"] == "mirrored"  # not waited for the lake
    run = first.json()["run"]
    assert run["info"]["status"] == "FAILED" and run["info"]["run_name"] == "fresh"
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert {t["key"]: t["value"] for t in run["data"]["tags"]}["k"] == "v"
    assert [(m["key"], m["value"], m["step"]) for m in run["data"]["metrics"]] == [
        ("acc", 0.7, 1)
    ]
    deadline = time.monotonic() + 30
    while True:
        later = httpx.get(get, params={"run_id": rid})
        if later.headers["x-runstream-freshness"] == "held":
            break
        assert time.monotonic() < deadline, "the lake never held the run's writes"
        time.sleep(0.1)

    def ordered(body: dict[str, Any]) -> dict[str, Any]:
        data = body["run"]["data"]
        return {**body, "run": {**body["run"], "data": {
            k: sorted(v, key=lambda item: item["key"]) for k, v in data.items()}}}

    assert ordered(later.json()) == ordered(first.json())


def test_client_api_batch_limits_and_mlflow_errors(url: str) -> None:
    client = MlflowClient()
    exp = client.create_experiment("gateway-client", tags={"owner": "ana"})
    with pytest.raises(MlflowException) as taken:
        client.create_experiment("gateway-client")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    run = client.create_run(exp, run_name="batch")
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric("m", float(i), now, i) for i in range(1000)]
    client.log_batch(run_id, metrics=metrics, params=[Param("p", "1")], tags=[RunTag("t", "x")])
    # A retried request collapses (its event id is derived from it), as do identical
    # points inside one request.
    again = [{"key": "m", "value": 5000.0, "timestamp": now, "step": 5000}] * 2
    for _ in range(2):
        retried = httpx.post(
            f"{url}/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": again}
        )
        assert retried.status_code == 200, retried.text
    client.log_metric(run_id, "m2", 1.5, timestamp=now, step=3)
    client.log_metric(run_id, "m2", 1.5, timestamp=now, step=3)
    with pytest.raises(MlflowException) as changed:
        client.log_param(run_id, "p", "2")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    # MLflow's client splits large batches itself; the server's limit is for other clients.
    point = {"key": "m", "value": 1.0, "timestamp": now, "step": 0}
    too_many = httpx.post(
        f"{url}/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": [point] * 1001}
    )
    assert too_many.status_code == 400 and "at most 1000 metrics" in too_many.json()["message"]
    client.set_tag(run_id, "gone", "soon")
    client.delete_tag(run_id, "gone")
    client.set_terminated(run_id, "KILLED")
    got = client.get_run(run_id)
    assert got.info.status == "KILLED" and got.data.params == {"p": "1"}
    assert "gone" not in got.data.tags and got.data.tags["t"] == "x"
    assert len(client.get_metric_history(run_id, "m")) == 1001
    assert len(client.get_metric_history(run_id, "m2")) == 1
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as deleted:
        client.log_metric(run_id, "late", 1.0)
    assert deleted.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    client.rename_experiment(exp, "gateway-client-2")
    client.set_experiment_tag(exp, "stage", "dev")
    client.set_experiment_tag(exp, "scratch", "x")
    client.delete_experiment_tag(exp, "scratch")
    renamed = client.get_experiment(exp)
    assert renamed.name == "gateway-client-2" and renamed.tags["stage"] == "dev"
    assert "scratch" not in renamed.tags
    client.delete_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "deleted"
    client.restore_experiment(exp)
    with pytest.raises(MlflowException) as missing:
        client.log_metric("0" * 32, "x", 1.0)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    answer = httpx.post(f"{url}/api/2.0/mlflow/runs/log-metric", json={"run_id": run_id})
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_artifacts_go_through_the_proxy(url: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello proxy")
    folder = tmp_path / "plots"
    (folder / "deep").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "deep" / "b.json").write_text('{"b": 1}')
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(PART_SIZE + 1024 * 1024))  # more than one S3 part
    mlflow.set_experiment("gateway-artifacts")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_artifacts(str(folder), artifact_path="plots")
        mlflow.log_artifact(str(big), artifact_path="data")
        mlflow.log_text("inline", "texts/inline.txt")
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert mlflow.get_run(run_id).info.artifact_uri == run.info.artifact_uri
    client = MlflowClient()
    top = [(f.path, f.is_dir) for f in client.list_artifacts(run_id)]
    assert top == [("data", True), ("notes.txt", False), ("plots", True), ("texts", True)]
    assert [f.path for f in client.list_artifacts(run_id, "plots/deep")] == ["plots/deep/b.json"]
    sizes = {f.path: f.file_size for f in client.list_artifacts(run_id, "data")}
    assert sizes == {"data/big.bin": big.stat().st_size}
    out = Path(client.download_artifacts(run_id, "", str(tmp_path / "down")))
    assert (out / "notes.txt").read_text() == "hello proxy"
    assert (out / "plots" / "deep" / "b.json").read_text() == '{"b": 1}'
    assert (out / "data" / "big.bin").read_bytes() == big.read_bytes()
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/inline.txt") == "inline"
    # Runstream's own API lists what came through the proxy (artifact.logged events).
    native = httpx.get(f"{url}/api/v1/runs/{run_id}/artifacts", params={"path": "plots/deep"},
                       timeout=30)
    assert [f["path"] for f in native.json()["files"]] == ["plots/deep/b.json"]
    # Paths are checked before the store is touched.
    base = f"{url}/api/2.0/mlflow-artifacts/artifacts"
    for bad in ("../etc/passwd", "a/../../b", "%2e%2e/x"):
        answer = httpx.put(f"{base}/{bad}", content=b"x")
        assert answer.status_code in (400, 404), (bad, answer.status_code)
    escaped = httpx.get(base, params={"path": "../"})
    assert escaped.status_code == 400 and escaped.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert httpx.get(f"{base}/no/such/file").status_code == 404


def test_registry_writes_through_mlflow_client(url: str) -> None:
    client = MlflowClient()
    mlflow.set_experiment("gateway-registry")
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/weights.txt")
    source = f"{run.info.artifact_uri}/model"
    # Files under a run's own artifacts register by their path; MLflow 3's logged models
    # register through test_gateway_logged_models.
    client.create_registered_model("gw-model")
    first = client.create_model_version("gw-model", source, run.info.run_id)
    assert first.version == "1" and first.name == "gw-model"
    second = client.create_model_version("gw-model", source, run.info.run_id,
                                         tags={"k": "v"}, description="second")
    assert second.version == "2" and second.status == "READY"
    with pytest.raises(MlflowException) as taken:
        client.create_registered_model("gw-model")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.transition_model_version_stage("gw-model", "1", "Production")
    moved = client.transition_model_version_stage(
        "gw-model", "2", "production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    assert client.get_model_version("gw-model", "1").current_stage == "Archived"
    client.set_registered_model_alias("gw-model", "champion", "2")
    assert client.get_model_version_by_alias("gw-model", "champion").version == "2"
    client.set_registered_model_tag("gw-model", "team", "gw")
    client.set_model_version_tag("gw-model", "1", "old", "yes")
    client.update_model_version("gw-model", "1", description="first one")
    client.update_registered_model("gw-model", description="the model")
    model = client.get_registered_model("gw-model")
    assert model.tags == {"team": "gw"} and model.description == "the model"
    assert model.aliases == {"champion": "2"}
    one = client.get_model_version("gw-model", "1")
    assert one.tags == {"old": "yes"} and one.description == "first one"
    latest = client.get_latest_versions("gw-model", stages=["Production"])
    assert [v.version for v in latest] == ["2"]
    assert client.get_model_version_download_uri("gw-model", "2").startswith("mlflow-artifacts:/")
    client.delete_registered_model_alias("gw-model", "champion")
    client.delete_model_version_tag("gw-model", "1", "old")
    client.delete_registered_model_tag("gw-model", "team")
    client.delete_model_version("gw-model", "1")
    assert [v.version for v in client.search_model_versions("name = 'gw-model'")] == ["2"]
    with pytest.raises(MlflowException) as bad_stage:
        client.transition_model_version_stage("gw-model", "2", "Shipped")
    assert bad_stage.value.error_code == "INVALID_PARAMETER_VALUE"
    client.delete_registered_model("gw-model")
    assert client.search_registered_models("name = 'gw-model'") == []
    assert httpx.get(f"{url}/health").text == "OK"
    info = httpx.get(f"{url}/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is False


def test_datasets_logged_by_mlflow_come_back_on_the_run(url: str) -> None:
    import pandas as pd

    frame = pd.DataFrame({"alcohol": [13.2, 12.4], "label": [0, 1]})
    dataset = mlflow.data.from_pandas(frame, source="/data/wine.csv", targets="label", name="wine")
    mlflow.set_experiment("gateway-datasets")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = MlflowClient().get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    got, expected = inputs[0].dataset, dataset._to_mlflow_entity()
    assert (got.name, got.digest, got.source_type, got.source, got.schema, got.profile) == (
        expected.name,
        expected.digest,
        expected.source_type,
        expected.source,
        expected.schema,
        expected.profile,
    )
    assert [(t.key, t.value) for t in inputs[0].tags] == [("mlflow.data.context", "training")]
    bad = httpx.post(
        f"{url}/api/2.0/mlflow/runs/log-inputs",
        json={"run_id": run.info.run_id, "datasets": [{"dataset": {"name": "x" * 501}}]},
    )
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
