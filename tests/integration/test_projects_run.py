"""``runstream run`` of MLprojects against the real stack: parameters, outcomes, signals, SDK.

Each test runs the CLI as a user would (a subprocess) and reads the run back through
MLflow's own client on the query service.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow.entities import ViewType
from project_support import RUNSTREAM, cli_env, run_cli, run_id_of, wait_run, write_project

from runstream.config import Settings

TYPED = {
    "MLproject": """
        name: typed
        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.5}
              n: {type: int, default: 3}
              label: {type: string, default: "hello world"}
              data: path
              where: {type: uri, default: "s3://bucket/key"}
            command: "python echo.py {alpha} {n} {label} {data} {where}"
          fail:
            parameters:
              code: {type: int, default: 3}
            command: "exit {code}"
          sleep:
            command: "python sleeper.py"
          attach:
            command: "python attach.py"
          attach_mlflow:
            command: "python attach_mlflow.py"
    """,
    "echo.py": """
        import json, sys
        print("ARGV " + json.dumps(sys.argv[1:]))
    """,
    "sleeper.py": """
        import os, subprocess, sys, time
        grandchild = subprocess.Popen(["sleep", "300"])
        with open(os.environ["PIDS_FILE"], "w") as f:
            f.write(f"{os.getpid()} {grandchild.pid}")
        time.sleep(300)
    """,
    "attach.py": """
        import os
        import runstream
        with runstream.start_run() as run:
            print("ATTACHED " + run.info.run_id)
            runstream.log_metric("score", 0.75)
            runstream.log_param("from_sdk", "yes")
    """,
    "attach_mlflow.py": """
        import mlflow
        with mlflow.start_run() as run:
            print("ATTACHED " + run.info.run_id)
            mlflow.log_metric("score", 0.5)
            mlflow.log_param("from_mlflow", "yes")
    """,
    "data.csv": "a,b\n1,2\n",
}


@pytest.fixture(autouse=True)
def _mlflow_fails_fast() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "typed", TYPED)


def test_typed_parameters_defaults_overrides_and_tags(
    running_apps: Settings, project: Path
) -> None:
    done = run_cli(running_apps, str(project), "-P", "data=data.csv", "-P", "alpha=2.5",
                   "-P", "extra=x y", "--experiment-name", "projects", cwd=project)
    assert done.returncode == 0, done.stderr[-3000:]
    argv = json.loads(next(li for li in done.stdout.splitlines() if li.startswith("ARGV "))[5:])
    assert argv == ["2.5", "3", "hello world", str(project / "data.csv"), "s3://bucket/key",
                    "--extra", "x y"]
    run = wait_run(running_apps, run_id_of(done))
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "2.5", "n": "3", "label": "hello world",
                               "data": "data.csv", "where": "s3://bucket/key", "extra": "x y"}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(project)
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    assert tags["mlflow.project.name"] == "typed"
    assert tags["mlflow.project.backend"] == "local"
    assert "mlflow.source.git.commit" not in tags


def test_a_bad_type_fails_before_anything_runs(settings: Settings, project: Path) -> None:
    # `settings` has no query service: nothing may be needed before the error. The other
    # bad invocations are checked in tests/unit/test_projects_plan.py.
    done = run_cli(settings, str(project), "-P", "data=data.csv", "-P", "alpha=abc", cwd=project)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "parameter 'alpha' is a float, but got 'abc'" in done.stderr
    assert "runstream: run " not in done.stderr  # no run was created, no command started


def test_failing_command_ends_failed_with_its_exit_status(
    running_apps: Settings, project: Path
) -> None:
    done = run_cli(running_apps, str(project), "-e", "fail", "-P", "code=7")
    assert done.returncode == 7
    run = wait_run(running_apps, run_id_of(done))
    assert run.info.status == "FAILED"
    assert run.data.params == {"code": "7"}


def process_ends(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether ``pid`` is gone (or a zombie waiting for its reaper) within the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def test_sigterm_kills_the_process_group_and_ends_killed(
    running_apps: Settings, project: Path, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids"
    runner = subprocess.Popen(
        [str(RUNSTREAM), "run", str(project), "-e", "sleep"],
        env=cli_env(running_apps, PIDS_FILE=str(pids_file)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 90
    while not (pids_file.exists() and pids_file.read_text()) and time.monotonic() < deadline:
        assert runner.poll() is None, runner.communicate()
        time.sleep(0.2)
    child, grandchild = (int(p) for p in pids_file.read_text().split())
    runner.send_signal(signal.SIGTERM)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 128 + signal.SIGTERM, err[-2000:]
    for pid in (child, grandchild):
        assert process_ends(pid), f"process {pid} still runs after the runner ended"
    run = wait_run(running_apps, run_id_of(subprocess.CompletedProcess([], 0, out, err)))
    assert run.info.status == "KILLED"


def test_code_using_the_sdk_attaches_to_the_run(running_apps: Settings, project: Path) -> None:
    done = run_cli(running_apps, str(project), "-e", "attach")
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = run_id_of(done)
    assert f"ATTACHED {run_id}" in done.stdout
    run = wait_run(running_apps, run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"score": 0.75}
    assert run.data.params["from_sdk"] == "yes"
    assert run.data.tags["mlflow.project.entryPoint"] == "attach"


def test_unchanged_mlflow_code_attaches_through_the_gateway(
    running_apps: Settings, project: Path
) -> None:
    done = run_cli(running_apps, str(project), "-e", "attach_mlflow")
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = run_id_of(done)
    assert f"ATTACHED {run_id}" in done.stdout  # MLflow's start_run took MLFLOW_RUN_ID
    run = wait_run(running_apps, run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"score": 0.5}
    assert run.data.params["from_mlflow"] == "yes"


def test_detach_returns_the_run_id_and_logs_output_as_artifacts(
    running_apps: Settings, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "slow", {
        "MLproject": """
            name: slow
            entry_points:
              main:
                command: "sleep 15 && echo out-line && echo err-line >&2"
        """,
    })
    done = run_cli(running_apps, str(project), "--detach")
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stdout.strip().splitlines()[-1]
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=running_apps.api_url)
    # Returned while the command still runs (it sleeps 15 s before printing).
    assert client.get_run(run_id).info.status == "RUNNING"
    run = wait_run(running_apps, run_id, timeout_s=90)
    assert run.info.status == "FINISHED"
    deadline = time.monotonic() + 30
    paths: set[str] = set()
    while time.monotonic() < deadline and paths != {"stdout.txt", "stderr.txt"}:
        listed = httpx.get(f"{running_apps.api_url}/api/2.0/mlflow/artifacts/list",
                           params={"run_id": run_id}).json()
        paths = {f["path"] for f in listed.get("files", [])}
        time.sleep(0.3)
    assert paths == {"stdout.txt", "stderr.txt"}


CONDA_PROJECT = {
    "MLproject": """
        name: my-ml-project
        conda_env: conda.yaml
        entry_points:
          main:
            parameters:
              learning_rate: {type: float, default: 0.01}
            command: "python train.py --learning-rate {learning_rate}"
    """,
    "conda.yaml": "name: x\ndependencies:\n  - python=3.11\n",
}
DOCKER_PROJECT = {
    "MLproject": """
        name: boxed
        docker_env:
          image: python:3.11
        entry_points:
          main:
            command: "python -V"
    """,
}


def test_missing_conda_or_docker_is_named_and_nothing_starts(
    running_apps: Settings, project: Path, tmp_path: Path
) -> None:
    docker = shutil.which("docker")  # the machine's docker CLI; its engine is not used
    assert docker is not None, "the docker case runs the real docker CLI"
    git = shutil.which("git")  # MLflow's projects code imports GitPython, which needs it
    assert git is not None
    bare = tmp_path / "bare-bin"  # a PATH without conda or docker
    with_docker = tmp_path / "docker-bin"  # docker, with no engine behind DOCKER_HOST
    for folder in (bare, with_docker):
        folder.mkdir()
        (folder / "git").symlink_to(git)
    (with_docker / "docker").symlink_to(docker)
    conda = write_project(tmp_path / "conda", CONDA_PROJECT)
    boxed = write_project(tmp_path / "docker", DOCKER_PROJECT)
    data = f"data={project / 'data.csv'}"
    experiment = f"tools-{uuid.uuid4().hex[:8]}"
    cases = [
        ([str(conda)], bare, "this project needs conda ('conda' not found"),
        ([str(project), "-P", data, "--env-manager", "conda"], bare,
         "this project needs conda"),
        ([str(boxed)], bare, "docker is not installed"),
        ([str(project), "-P", data, "--build-image"], bare, "docker is not installed"),
        ([str(boxed)], with_docker, "the docker engine is not reachable"),
    ]
    for args, path, said in cases:
        env = cli_env(running_apps, PATH=str(path), DOCKER_HOST=f"unix://{tmp_path}/no.sock")
        env.pop("MLFLOW_CONDA_HOME", None)
        done = subprocess.run(
            [str(RUNSTREAM), "run", *args, "--experiment-name", experiment],
            env=env, capture_output=True, text=True, timeout=180,
        )
        assert done.returncode == 1 and said in done.stderr, (args, done.stderr)
        assert "runstream: run " not in done.stderr and done.stdout == ""

    # Nothing was half started: a run made after them is the experiment's only one.
    done = run_cli(running_apps, str(project), "-P", data, "--experiment-name",
                   experiment)
    assert done.returncode == 0, done.stderr[-3000:]
    after = wait_run(running_apps, run_id_of(done))
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=running_apps.api_url)
    runs = client.search_runs([after.info.experiment_id], run_view_type=ViewType.ALL)
    assert [r.info.run_id for r in runs] == [after.info.run_id]
