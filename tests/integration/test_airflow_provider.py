"""The Airflow provider with a real Airflow 3 (its own venv, SQLite metadata DB) and a real stack.

Airflow's venv is made by ``benchmarks/peers.py`` (``peer_python("airflow")``): Airflow
3.3.2 from PyPI, then ``pip install '<this checkout>[airflow,models]' scikit-learn`` into
it, as the README tells a user (editable, so the code under test is this checkout's);
about 4 minutes the first time, cached under ``benchmarks/.venvs/``. The connection names
only the tracking URI: projects run with the ``runstream`` of Airflow's environment.

``airflow dags test`` runs each DAG in one process, tasks in order, as a worker would run
them (the same task runner, its SIGTERM handler included).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from runstream.config import Settings, settings_to_env
from runstream.stack import free_ports

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.peers import peer_python  # noqa: E402

WINE = ROOT / "examples" / "wine"
MLFLOW_API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def airflow_bin() -> Path:
    return peer_python("airflow").parent


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory, airflow_bin: Path) -> Path:
    """One Airflow home (metadata DB migrated once) for the module's DAG runs."""
    home = tmp_path_factory.mktemp("airflow")
    _airflow(airflow_bin, _airflow_env(None, home, WINE), "db", "migrate", timeout=300)
    return home


def _airflow_env(settings: Settings | None, home: Path, dags: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNSTREAM_", "MLFLOW_", "AWS_", "AIRFLOW", "PYTHON"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "MPLBACKEND": "Agg",
        }
    )
    if settings is not None:
        # What a user configures: the connection's host is the tracking URI, nothing else.
        env["AIRFLOW_CONN_RUNSTREAM_DEFAULT"] = json.dumps(
            {"conn_type": "runstream", "host": settings.api_url}
        )
    return env


def _airflow(bin_dir: Path, env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(bin_dir / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    said = f"{done.stdout[-12000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"airflow {' '.join(args)}:\n{said}"
    return done.stdout


def _json_list(out: str) -> list[dict[str, object]]:
    """The JSON list an ``airflow ... -o json`` command printed among its log lines."""
    for line in reversed(out.splitlines()):
        if line.startswith("[{") or line.strip() == "[]":
            value: list[dict[str, object]] = json.loads(line)
            return value
    raise AssertionError(f"no JSON list in {out[-3000:]!r}")


def _task_states(bin_dir: Path, env: dict[str, str], dag_id: str, run_id: str) -> dict[str, str]:
    out = _airflow(bin_dir, env, "tasks", "states-for-dag-run", dag_id, run_id, "-o", "json")
    return {str(t["task_id"]): str(t["state"]) for t in _json_list(out)}


def _dag_runs(bin_dir: Path, env: dict[str, str], dag_id: str) -> list[dict[str, object]]:
    """The DAG's runs, oldest first."""
    runs = _json_list(_airflow(bin_dir, env, "dags", "list-runs", dag_id, "-o", "json"))
    return sorted(runs, key=lambda r: str(r["start_date"]))


class _Running:
    """A running ``airflow dags test``, its output collected by a thread."""

    def __init__(self, bin_dir: Path, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [str(bin_dir / "airflow"), "dags", "test", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, seen: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while not seen():
            assert self.process.poll() is None, f"airflow exited before {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} in {timeout_s} s:\n{self.output}"
            time.sleep(0.2)

    def finish(self, timeout_s: float = 600) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def running(airflow_bin: Path) -> Iterator[list[_Running]]:
    """``airflow dags test`` processes a test started; killed if still running at its end."""
    started: list[_Running] = []
    yield started
    for one in started:
        if one.process.poll() is None:
            one.process.kill()
            one.process.wait()


def _runs_of_dag_run(bin_dir: Path, env: dict[str, str], dag_id: str, run_id: str) -> list[dict]:
    """The runs of a DAG run, found by the provider's hook in Airflow's interpreter."""
    code = (
        "import json; from runstream.airflow.hooks import RunstreamHook; "
        f"print(json.dumps(RunstreamHook().runs_of_dag_run({dag_id!r}, {run_id!r})))"
    )
    found = subprocess.run(
        [str(bin_dir / "python"), "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr[-3000:]
    runs: list[dict] = json.loads(found.stdout.strip().splitlines()[-1])
    return runs


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"]["tags"]}


def test_runstream_airflow_installs_into_airflows_environment_and_serves_there(
    running_apps: Settings, sdk_client: object, airflow_bin: Path, tmp_path: Path
) -> None:
    from runstream.sdk.client import RunstreamClient

    assert isinstance(sdk_client, RunstreamClient)
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    # pip resolved runstream's requirements beside Airflow's: nothing is broken, and
    # Airflow's fastapi (<0.137) is the one runstream got there.
    check = subprocess.run(
        [str(airflow_bin / "python"), "-m", "pip", "check"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    code = (
        "import importlib.metadata as m; "
        "print(m.version('fastapi'), m.version('runstream'), m.version('apache-airflow'))"
    )
    versions = subprocess.run(
        [str(airflow_bin / "python"), "-c", code],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert versions.returncode == 0, versions.stderr[-3000:]
    fastapi, runstream, airflow = versions.stdout.split()
    assert fastapi.startswith("0.136.") and runstream == "0.1.0" and airflow == "3.3.2"
    env = _airflow_env(None, tmp_path / "airflow", WINE)
    providers = _airflow(airflow_bin, env, "providers", "list", "-o", "json")
    assert any(p.get("package_name") == "runstream" for p in _json_list(providers))

    # The query service of that environment (on fastapi 0.136) answers MLflow's REST API.
    run = sdk_client.create_run("0", run_name="beside-airflow")
    sdk_client.log_metric(run.info.run_id, "loss", 0.25, step=3)
    sdk_client.set_terminated(run.info.run_id, "FINISHED")
    sdk_client.flush(30)
    (port,) = free_ports(1)
    served = dataclasses.replace(
        running_apps,
        ports=dataclasses.replace(running_apps.ports, api=port),
        home=tmp_path / "home",
    )
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(airflow_bin / "runstream"), "serve"],
        env={**clean, **settings_to_env(served), "RUNSTREAM_HOME": str(served.home)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        body: dict = {}
        while body.get("run", {}).get("info", {}).get("status") != "FINISHED":
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.5)
            try:
                body = httpx.get(
                    f"{url}{MLFLOW_API}/runs/get", params={"run_id": run.info.run_id}
                ).json()
            except httpx.HTTPError:
                body = {}
        metrics = body["run"]["data"]["metrics"]
        assert [(m["key"], m["value"], m["step"]) for m in metrics] == [("loss", 0.25, 3)]
        # The same answer as the query service of the test's environment (fastapi 0.165).
        reference = f"{running_apps.api_url}{MLFLOW_API}/runs/get"
        assert body == httpx.get(reference, params={"run_id": run.info.run_id}).json()
        found = httpx.post(
            f"{url}{MLFLOW_API}/runs/search",
            json={"experiment_ids": ["0"], "filter": "attributes.run_name = 'beside-airflow'"},
        ).json()
        assert [r["info"]["run_id"] for r in found["runs"]] == [run.info.run_id]
        assert (
            httpx.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": "nope"}).status_code
            == 404
        )
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@pytest.mark.timeout(1800)
def test_the_wine_dag_registers_a_better_model_and_skips_one_that_is_not(
    running_apps: Settings, airflow_home: Path, airflow_bin: Path
) -> None:
    env = _airflow_env(running_apps, airflow_home, WINE)
    conf = json.dumps({"epochs": 3, "experiment": f"wine-{uuid.uuid4().hex[:8]}"})
    first_out = _airflow(
        airflow_bin, env, "dags", "test", "wine_pipeline", "-c", conf, timeout=1200
    )
    (first,) = _dag_runs(airflow_bin, env, "wine_pipeline")
    assert first["state"] == "success", first_out[-6000:]

    # The runs of that DAG run, found by the provider's hook in Airflow's interpreter.
    by_task = {}
    for run in _runs_of_dag_run(airflow_bin, env, "wine_pipeline", str(first["run_id"])):
        tags = _tags(run)
        assert tags["airflow.dag_id"] == "wine_pipeline"
        assert tags["airflow.run_id"] == first["run_id"]
        assert tags["airflow.try_number"] == "1"
        assert run["info"]["status"] == "FINISHED"
        by_task[tags["airflow.task_id"]] = (run, tags)
    assert set(by_task) == {"train", "evaluate", "register"}
    train_run, train_tags = by_task["train"]
    assert train_tags["mlflow.project.entryPoint"] == "main"
    assert train_tags["mlflow.project.name"] == "wine"
    params = {p["key"]: p["value"] for p in train_run["data"]["params"]}
    assert params["epochs"] == "3"
    assert {m["key"] for m in train_run["data"]["metrics"]} >= {"val_f1", "val_loss"}
    assert by_task["evaluate"][1]["evaluated_run_id"] == train_run["info"]["run_id"]

    # The registered version is in Staging and came from the training run.
    def staging() -> list[dict]:
        latest = httpx.get(
            f"{running_apps.api_url}{MLFLOW_API}/registered-models/get-latest-versions",
            params={"name": "wine-classifier", "stages": "Staging"},
        ).json()
        versions: list[dict] = latest["model_versions"]
        return versions

    (version,) = staging()
    assert version["run_id"] == train_run["info"]["run_id"]
    assert version["version"] == "1"

    # The same parameters and seed train the same model: its test F1 equals the one in
    # Staging, which is not better, so the DAG stops before registering.
    second_out = _airflow(
        airflow_bin, env, "dags", "test", "wine_pipeline", "-c", conf, timeout=1200
    )
    runs = _dag_runs(airflow_bin, env, "wine_pipeline")
    assert len(runs) == 2 and runs[0]["run_id"] == first["run_id"]
    second = runs[1]
    assert second["state"] == "success", second_out[-6000:]
    states = _task_states(airflow_bin, env, "wine_pipeline", str(second["run_id"]))
    assert states == {
        "train": "success",
        "evaluate": "success",
        "better_than_staging": "success",
        "register": "skipped",
        "wait_for_staging": "skipped",
    }, second_out[-6000:]
    assert "test F1" in second_out and "(version 1)" in second_out
    found = _runs_of_dag_run(airflow_bin, env, "wine_pipeline", str(second["run_id"]))
    assert sorted(_tags(r)["airflow.task_id"] for r in found) == ["evaluate", "train"]
    evaluated = next(r for r in found if _tags(r)["airflow.task_id"] == "evaluate")
    metrics = {m["key"]: float(m["value"]) for m in evaluated["data"]["metrics"]}
    first_metrics = {m["key"]: float(m["value"]) for m in by_task["evaluate"][0]["data"]["metrics"]}
    assert metrics["test_f1"] == first_metrics["test_f1"]
    (still,) = staging()
    assert still["version"] == "1"
    listed = httpx.get(
        f"{running_apps.api_url}{MLFLOW_API}/model-versions/search",
        params={"filter": "name='wine-classifier'"},
    ).json()
    assert [v["version"] for v in listed["model_versions"]] == ["1"]


SENSORS_DAG = """
from airflow.sdk import dag
from runstream.airflow.sensors import RunstreamModelVersionSensor


@dag(dag_id="champion_sensors", schedule=None, params={"model": "m"})
def champion_sensors():
    RunstreamModelVersionSensor(
        task_id="wait_for_champion", model_name="{{ params.model }}", alias="champion",
        deferrable=False, poll_interval=0.5, timeout=300,
    )
    RunstreamModelVersionSensor(
        task_id="wait_for_nobody", model_name="{{ params.model }}", alias="nobody",
        deferrable=False, poll_interval=0.5, timeout=2,
    )


champion_sensors()
"""


@pytest.mark.timeout(900)
def test_the_sensor_pokes_until_an_alias_moves_and_times_out_naming_what_it_waited_for(
    running_apps: Settings,
    airflow_home: Path,
    airflow_bin: Path,
    tmp_path: Path,
    sdk_client: object,
    running: list[_Running],
) -> None:
    from runstream.sdk.client import RunstreamClient

    assert isinstance(sdk_client, RunstreamClient)
    model = f"m-{uuid.uuid4().hex[:8]}"
    sdk_client.create_registered_model(model)
    for _ in range(2):
        sdk_client.create_model_version(model, "s3://bucket/model")
    sdk_client.set_registered_model_alias(model, "champion", 1)
    sdk_client.flush(30)
    mlflow = MlflowClient(tracking_uri=running_apps.api_url)
    deadline = time.monotonic() + 60
    while _alias_version(mlflow, model, "champion") != "1":
        assert time.monotonic() < deadline, "the alias did not show in the lake"
        time.sleep(0.3)

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "sensors.py").write_text(SENSORS_DAG)
    env = _airflow_env(running_apps, airflow_home, dags)
    dag_test = _Running(airflow_bin, env, "champion_sensors", "-c", json.dumps({"model": model}))
    running.append(dag_test)
    waiting = f"waiting for a version above 1 of {model} under alias champion"
    dag_test.wait_for(lambda: waiting in dag_test.output, "poking of the champion sensor")
    time.sleep(2)  # a few pokes see version 1, which is not new
    assert f"{model} version" not in dag_test.output
    sdk_client.set_registered_model_alias(model, "champion", 2)
    sdk_client.flush(30)
    dag_test.finish()
    out = dag_test.output

    assert f"{model} version 2 is under alias champion" in out, out[-6000:]
    timed_out = (
        f"wait_for_nobody: no version above 0 of {model} under alias nobody "
        "within 2 s (the sensor's timeout)"
    )
    assert timed_out in out, out[-6000:]
    (dag_run,) = _dag_runs(airflow_bin, env, "champion_sensors")
    assert dag_run["state"] == "failed"
    states = _task_states(airflow_bin, env, "champion_sensors", str(dag_run["run_id"]))
    assert states == {"wait_for_champion": "success", "wait_for_nobody": "failed"}

    # Deferred, the timeout is the triggerer's: the task comes back with the "__fail__"
    # method and a trigger-timeout error (what the scheduler sets), and says the same.
    done = subprocess.run(
        [str(airflow_bin / "python"), "-c", DEFERRED_TIMEOUT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == (
        "AirflowSensorTimeout: wait_for_prod: no new version of m in stage Production "
        "within 60 s (the sensor's timeout)"
    )


DEFERRED_TIMEOUT = """
from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason
from airflow.sdk.exceptions import AirflowSensorTimeout
from runstream.airflow.sensors import RunstreamModelVersionSensor

sensor = RunstreamModelVersionSensor(
    task_id="wait_for_prod", model_name="m", stage="Production", timeout=60
)
try:
    sensor.resume_execution(TRIGGER_FAIL_REPR, {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, {})
except AirflowSensorTimeout as exc:
    print(f"{type(exc).__name__}: {exc}")
"""


def _alias_version(client: MlflowClient, model: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(model, alias).version)
    except Exception:
        return None


KILL_DAG = """
from airflow.sdk import dag
from runstream.airflow.operators import RunstreamProjectOperator


@dag(dag_id="project_kill", schedule=None)
def project_kill():
    RunstreamProjectOperator(task_id="sleepy", uri={project!r}, env_manager="local",
                             experiment_name={experiment!r})


project_kill()
"""

SLEEPER = """
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "300"])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
"""


@pytest.mark.timeout(900)
def test_killing_the_task_stops_the_projects_process_group_and_ends_the_run_killed(
    running_apps: Settings,
    airflow_home: Path,
    airflow_bin: Path,
    tmp_path: Path,
    running: list[_Running],
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    pids_file = tmp_path / "pids"
    (project / "MLproject").write_text(
        textwrap.dedent(f"""
        name: sleepy
        entry_points:
          main:
            command: "python sleeper.py {pids_file}"
    """)
    )
    (project / "sleeper.py").write_text(SLEEPER)
    experiment = f"kill-{uuid.uuid4().hex[:8]}"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "kill.py").write_text(KILL_DAG.format(project=str(project), experiment=experiment))
    env = _airflow_env(running_apps, airflow_home, dags)
    dag_test = _Running(airflow_bin, env, "project_kill")
    running.append(dag_test)
    dag_test.wait_for(pids_file.exists, "project command", timeout_s=300)
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(_alive(pid) for pid in pids)

    # What a worker's supervisor sends a task it kills (also `airflow dags test`'s own).
    dag_test.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {pids}\n{dag_test.output}"
        time.sleep(0.2)
    dag_test.finish(timeout_s=300)
    out = dag_test.output

    mlflow = MlflowClient(tracking_uri=running_apps.api_url)
    found = mlflow.search_runs(
        [mlflow.get_experiment_by_name(experiment).experiment_id],
        "tags.`airflow.dag_id` = 'project_kill'",
    )
    (run,) = found
    assert run.info.status == "KILLED", out[-6000:]
    assert f"run {run.info.run_id} ended KILLED" in out, out[-6000:]
    (dag_run,) = _dag_runs(airflow_bin, env, "project_kill")
    states = _task_states(airflow_bin, env, "project_kill", str(dag_run["run_id"]))
    assert states == {"sleepy": "failed"}, out[-6000:]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
