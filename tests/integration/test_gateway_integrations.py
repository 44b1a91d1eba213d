"""MLflow's integrations, unchanged, with only ``MLFLOW_TRACKING_URI`` pointed at Runstream.

Autologging, nested runs, a custom pyfunc model through the registry, ``search_runs``'
DataFrame, async logging, system metrics, ``mlflow run`` and ``mlflow models serve``:
each writes through the gateway and is read back through MLflow's client and through
Runstream's own API. One server, materializer and topic set serve the whole module.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from test_gateway_tracking import mlflow_pointed_at_gateway

from runstream.config import Settings
from runstream.stack import free_ports

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("integrations")
    with mlflow_pointed_at_gateway(stack_settings, home) as base:
        yield base


def native(
    url: str, path: str, shows: Callable[[Any], bool], *, body: Any = None, params: Any = None
) -> Any:
    """Runstream's own answer to ``GET`` (or, with ``body``, ``POST``) ``/api/v1/<path>``.

    Native reads answer from the newest lake snapshot without waiting for the
    materializer (docs/gateway.md), while MLflow's reads may answer from the gateway's
    own record of a run: what MLflow's client has just read shows here a batch or two
    later. So the read is repeated until ``shows(answer)`` holds (30 s at most).
    """
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.request(
            "POST" if body is not None else "GET",
            f"{url}/api/v1/{path}",
            json=body,
            params=params,
            timeout=60,
        )
        try:
            if answer.status_code == 200 and shows(answer.json()):
                return answer.json()
        except (KeyError, IndexError, TypeError):
            pass
        assert time.monotonic() < deadline, f"/api/v1/{path} answered {answer.text[:3000]}"
        time.sleep(0.25)


def cli_env(url: str) -> dict[str, str]:
    """The environment of an MLflow CLI process: the venv first on PATH, the tracking URI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RUNSTREAM_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = url
    return env


def test_sklearn_autolog_logs_params_metrics_and_the_model(url: str) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    mlflow.set_experiment("integrations-autolog")
    mlflow.sklearn.autolog(silent=True)
    try:
        with mlflow.start_run() as run:
            fitted = LogisticRegression(C=0.5, max_iter=300).fit(x, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run_id = run.info.run_id
    got = mlflow.get_run(run_id)
    assert got.data.params["C"] == "0.5" and got.data.params["max_iter"] == "300"
    accuracy = got.data.metrics["training_accuracy_score"]
    assert accuracy == pytest.approx(fitted.score(x, y))
    assert got.data.tags["estimator_class"].endswith("LogisticRegression")
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["dataset"]
    logged = mlflow.last_logged_model()
    assert logged is not None and logged.source_run_id == run_id
    assert logged.params["C"] == "0.5" and logged.status == "READY"
    loaded = mlflow.sklearn.load_model(f"models:/{logged.model_id}")
    assert list(loaded.predict(x.head(5))) == list(fitted.predict(x.head(5)))
    native(
        url,
        f"runs/{run_id}",
        lambda r: (
            r["data"]["params"]["C"] == "0.5"
            and r["data"]["metrics"]["training_accuracy_score"]["value"] == accuracy
        ),
    )


def test_nested_runs_carry_the_parent_both_ways(url: str) -> None:
    mlflow.set_experiment("integrations-nested")
    with mlflow.start_run(run_name="sweep") as parent:
        children = []
        for lr in ("0.1", "0.01"):
            with mlflow.start_run(run_name=f"lr-{lr}", nested=True) as child:
                mlflow.log_param("lr", lr)
                children.append(child.info.run_id)
    parent_id = parent.info.run_id
    for child_id in children:
        assert mlflow.get_run(child_id).data.tags["mlflow.parentRunId"] == parent_id
        native(
            url, f"runs/{child_id}", lambda r: r["data"]["tags"]["mlflow.parentRunId"] == parent_id
        )
    assert "mlflow.parentRunId" not in mlflow.get_run(parent_id).data.tags
    found = MlflowClient().search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert sorted(r.info.run_id for r in found) == sorted(children)
    search = {
        "experiment_ids": [parent.info.experiment_id],
        "filter": f"tags.mlflow.parentRunId = '{parent_id}'",
    }
    native(
        url,
        "runs/search",
        body=search,
        shows=lambda p: sorted(r["info"]["run_id"] for r in p["runs"]) == sorted(children),
    )


def test_search_runs_answers_a_dataframe_of_params_and_metrics(url: str) -> None:
    exp = mlflow.set_experiment("integrations-search").experiment_id
    for lr, loss in (("0.1", 0.5), ("0.2", 0.25), ("0.3", 0.125)):
        with mlflow.start_run(run_name=f"lr-{lr}"):
            mlflow.log_param("lr", lr)
            mlflow.log_metric("loss", loss)
            mlflow.set_tag("team", "search")
    frame = mlflow.search_runs([exp], "metrics.loss < 0.4", order_by=["metrics.loss ASC"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["params.lr"]) == ["0.3", "0.2"]
    assert list(frame["metrics.loss"]) == [0.125, 0.25]
    assert set(frame["tags.team"]) == {"search"} and set(frame["status"]) == {"FINISHED"}
    by_name = mlflow.search_runs(experiment_names=["integrations-search"])
    assert len(by_name) == 3 and {"run_id", "start_time", "end_time"} <= set(by_name.columns)
    runs = mlflow.search_runs([exp], output_format="list")
    assert sorted(r.data.params["lr"] for r in runs) == ["0.1", "0.2", "0.3"]
    search = {"experiment_ids": [exp], "filter": "metrics.loss < 0.4"}
    native(
        url,
        "runs/search",
        body=search,
        shows=lambda p: sorted(r["data"]["params"]["lr"] for r in p["runs"]) == ["0.2", "0.3"],
    )


def test_async_logging_lands_every_point(url: str) -> None:
    mlflow.set_experiment("integrations-async")
    with mlflow.start_run() as run:
        for step in range(300):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
        mlflow.config.enable_async_logging(True)
        try:
            mlflow.log_params({"batch": 32, "opt": "adam"})
            for step in range(300):
                mlflow.log_metrics({"acc": step / 300, "f1": step / 600}, step=step)
            mlflow.set_tag("mode", "async")
        finally:
            mlflow.config.enable_async_logging(False)
    run_id = run.info.run_id
    client = MlflowClient()
    for key, expected in (
        ("loss", [1.0 / (s + 1) for s in range(300)]),
        ("acc", [s / 300 for s in range(300)]),
    ):
        history = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
        assert [m.value for m in history] == expected
    got = mlflow.get_run(run_id)
    assert got.data.params == {"batch": "32", "opt": "adam"} and got.data.tags["mode"] == "async"
    assert got.data.metrics == {"loss": 1.0 / 300, "acc": 299 / 300, "f1": 299 / 600}
    every_step = {"loss": list(range(300)), "f1": list(range(300))}
    native(
        url,
        f"runs/{run_id}/metric-history",
        params={"key": ["loss", "f1"], "max_points": 1000},
        shows=lambda h: {s["key"]: s["steps"] for s in h["series"]} == every_step,
    )


def test_system_metrics_come_back_under_system(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
    mlflow.set_experiment("integrations-system")
    memory = "system/system_memory_usage_megabytes"
    with mlflow.start_run(log_system_metrics=True) as run:
        # The monitor logs from its own thread; on a busy machine its samples come late.
        deadline = time.monotonic() + 60
        while len(MlflowClient().get_metric_history(run.info.run_id, memory)) < 2:
            assert time.monotonic() < deadline, "fewer than 2 system metric samples in 60 s"
            time.sleep(0.5)
    run_id = run.info.run_id
    metrics = mlflow.get_run(run_id).data.metrics
    system = {k for k in metrics if k.startswith("system/")}
    assert {"system/cpu_utilization_percentage", memory} <= system
    assert 0 <= metrics["system/cpu_utilization_percentage"] <= 100
    assert all(m.value > 0 for m in MlflowClient().get_metric_history(run_id, memory))
    native(url, f"runs/{run_id}", lambda r: system <= set(r["data"]["metrics"]))


class AddOffset(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Adds the number in the ``offset`` artifact to column ``x``."""

    def load_context(self, context: Any) -> None:
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return model_input["x"] + self.offset


def test_custom_pyfunc_through_registry_stage_and_alias(url: str, tmp_path: Path) -> None:
    offset = tmp_path / "offset.txt"
    offset.write_text("10")
    client = MlflowClient()
    mlflow.set_experiment("integrations-pyfunc")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="adder",
            python_model=AddOffset(),
            artifacts={"offset": str(offset)},
            input_example=pd.DataFrame({"x": [1.0, 2.0]}),
            pip_requirements=["pandas"],
        )
    registered = mlflow.register_model(info.model_uri, "integrations-adder")
    assert registered.version == "1" and registered.run_id == run.info.run_id
    client.transition_model_version_stage("integrations-adder", "1", "Production")
    client.set_registered_model_alias("integrations-adder", "champion", "1")
    frame = pd.DataFrame({"x": [1.0, 2.5]})
    for uri in (
        "models:/integrations-adder/Production",
        "models:/integrations-adder@champion",
        "models:/integrations-adder/1",
    ):
        model = mlflow.pyfunc.load_model(uri)
        assert list(model.predict(frame)) == [11.0, 12.5], uri
    native(
        url,
        "registry/resolve",
        params={"uri": "models:/integrations-adder@champion"},
        shows=lambda m: (
            (m["version"], m["current_stage"], m["run_id"]) == (1, "Production", run.info.run_id)
        ),
    )


def test_renaming_a_registered_model_keeps_its_versions_tags_and_aliases(url: str) -> None:
    client = MlflowClient()
    mlflow.set_experiment("integrations-rename")
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/weights.txt")
    source = f"{run.info.artifact_uri}/model"
    client.create_registered_model("churn", tags={"team": "growth"}, description="first")
    for _ in range(2):
        client.create_model_version("churn", source, run.info.run_id)
    client.set_model_version_tag("churn", "1", "validated", "yes")
    client.transition_model_version_stage("churn", "2", "Production")
    client.set_registered_model_alias("churn", "champion", "2")
    client.create_registered_model("taken")

    client.rename_registered_model("churn", "churn-v2")
    model = client.get_registered_model("churn-v2")
    assert (model.description, model.tags, model.aliases) == (
        "first",
        {"team": "growth"},
        {"champion": "2"},
    )
    assert [(v.version, v.current_stage) for v in model.latest_versions] == [
        ("1", "None"),
        ("2", "Production"),
    ]
    assert client.get_model_version("churn-v2", "1").tags == {"validated": "yes"}
    assert client.get_model_version_by_alias("churn-v2", "champion").version == "2"
    assert client.get_model_version("churn-v2", "2").run_id == run.info.run_id
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model("churn")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    names = {m.name for m in client.search_registered_models("name LIKE 'churn%'")}
    assert names == {"churn-v2"}
    # Numbering goes on under the new name; the old name is free again.
    assert client.create_model_version("churn-v2", source, run.info.run_id).version == "3"
    client.create_registered_model("churn")
    assert client.create_model_version("churn", source, run.info.run_id).version == "1"

    with pytest.raises(MlflowException) as taken:
        client.rename_registered_model("churn-v2", "taken")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as missing:
        client.rename_registered_model("no-such-model", "other")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    native(
        url,
        "registry/resolve",
        params={"uri": "models:/churn-v2@champion"},
        shows=lambda m: (m["name"], m["version"]) == ("churn-v2", 2),
    )
    native(
        url,
        "registered-models/churn-v2/versions/2/stage-history",
        lambda h: [t["to_stage"] for t in h["transitions"]] == ["Production"],
    )


TRAIN = """\
import sys

import mlflow

with mlflow.start_run():
    mlflow.log_metric("score", float(sys.argv[1]) * 2)
"""


def test_mlflow_run_of_a_local_project(url: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: doubler\n"
        "entry_points:\n"
        "  main:\n"
        "    parameters:\n"
        "      alpha: {type: float, default: 0.1}\n"
        "      label: {type: string, default: none}\n"
        "    command: python train.py {alpha}\n"
    )
    (project / "train.py").write_text(TRAIN)
    done = subprocess.run(
        [
            str(BIN / "mlflow"),
            "run",
            str(project),
            "--env-manager",
            "local",
            "--experiment-name",
            "integrations-project",
            "-P",
            "alpha=0.25",
            "-P",
            "label=x",
        ],
        env=cli_env(url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"Run \(ID '([0-9a-f]{32})'\) succeeded", done.stderr)
    assert found is not None, done.stderr[-3000:]
    run = mlflow.get_run(found.group(1))
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.25", "label": "x"}
    assert run.data.metrics == {"score": 0.5}
    assert run.data.tags["mlflow.project.entryPoint"] == "main"
    native(
        url,
        f"runs/{run.info.run_id}",
        lambda r: (
            r["info"]["status"] == "FINISHED"
            and r["data"]["params"] == {"alpha": "0.25", "label": "x"}
        ),
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_serving(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        if _answers(f"{base}/ping"):
            return
        time.sleep(0.5)
    raise AssertionError(f"mlflow models serve did not answer in 120 s: {log.read_text()[-3000:]}")


def test_mlflow_models_serve_answers_invocations(url: str, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    fitted = LinearRegression().fit(x, 2 * x["a"] + x["b"])
    mlflow.set_experiment("integrations-serve")
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            fitted,
            name="model",
            input_example=x.head(2),
            registered_model_name="integrations-served",
            pip_requirements=["scikit-learn"],
        )
    (port,) = free_ports(1)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                "models:/integrations-served/1",
                "--env-manager",
                "local",
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
            ],
            env=cli_env(url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(process, base, log)
        answer = httpx.post(
            f"{base}/invocations",
            json={"dataframe_split": {"columns": ["a", "b"], "data": [[4.0, 1.0], [5.0, 0.0]]}},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == pytest.approx([9.0, 10.0])
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    # The scoring server (a child of the CLI, sent SIGTERM when its parent dies) is gone too.
    deadline = time.monotonic() + 15
    while _answers(f"{base}/ping"):
        assert time.monotonic() < deadline, "the scoring server outlived mlflow models serve"
        time.sleep(0.25)
