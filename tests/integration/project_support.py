"""Helpers of the ``runstream run`` tests (no tests here): projects on disk, the CLI, reads.

Runs are read back through MLflow's own client on the query service's MLflow REST
API, as a user comparing with ``mlflow run`` would read them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run

from runstream.config import Settings, settings_to_env

RUNSTREAM = Path(sys.executable).parent / "runstream"
TERMINAL = ("FINISHED", "FAILED", "KILLED")


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``runstream`` command aimed at the test's stack."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RUNSTREAM_", "MLFLOW_", "AWS_"))
    }
    env.update(settings_to_env(settings))
    env["RUNSTREAM_TRACKING_URI"] = settings.api_url
    env["RUNSTREAM_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


def run_cli(
    settings: Settings, *args: str, timeout: float = 180, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``runstream run ARGS`` to the end."""
    return subprocess.run(
        [str(RUNSTREAM), "run", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def write_project(folder: Path, files: dict[str, str]) -> Path:
    """Writes ``files`` (name -> text, dedented) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def run_id_of(done: subprocess.CompletedProcess[str]) -> str:
    """The run id from the closing ``run <id> <STATUS> (exit N)`` line."""
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("run "):
            return line.split()[1]
    raise AssertionError(f"no run line in {done.stdout!r} / {done.stderr[-2000:]!r}")


def wait_run(settings: Settings, run_id: str, timeout_s: float = 60.0) -> Run:
    """The run once it has ended, read with MLflow's client."""
    client = MlflowClient(tracking_uri=settings.api_url)
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = client.get_run(run_id)
        except Exception:
            last = None
        if last is not None and last.info.status in TERMINAL:
            return last
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not end in {timeout_s}s: {last}")


def git(repo: Path, *args: str) -> str:
    """Runs git in ``repo``; its stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()
