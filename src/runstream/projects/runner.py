"""One project run: plan it, create its run, run the command, end the run with its outcome.

:func:`plan` does everything that can fail before anything runs (fetch, MLproject,
entry point, parameter types, env tools); :func:`execute` then keeps this contract:

1. The run is created through the SDK with the project's params and MLflow's
   ``mlflow.*`` tags (source, entry point, git commit, project name, env manager,
   backend) plus the caller's tags, and delivered to the broker before step 2.
2. ``on_started(run_id)`` is called (``--detach`` prints the id and returns here).
3. The environment is built or reused; a failure ends the run FAILED.
4. The runner waits, bounded, until the query service shows the run, so code in the
   command that attaches to it (``MLFLOW_RUN_ID``) finds it.
5. The command runs under ``bash -c`` in the project folder, in a session of its own
   (its own process group), with ``MLFLOW_RUN_ID``, ``RUNSTREAM_RUN_ID``,
   ``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_ID`` and the broker settings set.
6. SIGINT or SIGTERM to the runner sends SIGTERM to the whole group, SIGKILL after a
   grace period; the run then ends KILLED. Otherwise exit status 0 ends it FINISHED,
   anything else FAILED, and the status is what :func:`execute` returns.
7. With ``capture``, the command's stdout and stderr went to files; they are logged
   as the run's artifacts ``stdout.txt`` / ``stderr.txt`` before the run ends.
8. The run ends (``run.ended``) and the events are flushed before returning. If the
   command's own code already ended the run, the first end wins (``core.runs``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from runstream.config import Settings, settings_to_env
from runstream.errors import ProjectError, RunstreamError, ServiceError
from runstream.projects import envs, spec
from runstream.projects.fetch import Fetched, fetch
from runstream.projects.tags import run_tags
from runstream.sdk.client import RunstreamClient
from runstream.sdk.query_client import QueryClient

GRACE_S = 10.0
VISIBLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunRequest:
    """What ``runstream run`` was asked to do."""

    uri: str
    entry_point: str = spec.DEFAULT_ENTRY_POINT
    parameters: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None
    env_manager: str | None = None
    experiment_name: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    build_image: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    capture: bool = False


@dataclass(frozen=True)
class Plan:
    """A request checked and resolved; nothing has run yet."""

    request: RunRequest
    fetched: Fetched
    project: spec.Project
    invocation: spec.Invocation
    manager: str
    scratch: Path


@dataclass(frozen=True)
class Outcome:
    """How a run ended."""

    run_id: str
    status: str
    exit_code: int


def plan(request: RunRequest, scratch: Path) -> Plan:
    """Fetches the project and checks everything that can be checked before running.

    Raises:
        ProjectError: bad URI, version, MLproject, entry point or parameter.
        ProjectEnvError: the environment's tool is not installed.
    """
    if request.experiment_name is not None and request.experiment_id is not None:
        raise ProjectError("give --experiment-name or --experiment-id, not both")
    (scratch / "src").mkdir(parents=True, exist_ok=True)
    (scratch / "storage").mkdir(exist_ok=True)
    fetched = fetch(request.uri, request.version, scratch / "src")
    project = spec.load_project(fetched.work_dir)
    invocation = spec.resolve(project, request.entry_point, request.parameters, scratch / "storage")
    manager = envs.choose_manager(project, request.env_manager)
    envs.check_tools(manager, project, request.build_image)
    return Plan(request, fetched, project, invocation, manager, scratch)


def execute(
    plan: Plan,
    client: RunstreamClient,
    settings: Settings | None,
    *,
    env_root: Path,
    on_started: Callable[[str], None] = lambda _run_id: None,
) -> Outcome:
    """Runs a planned project under a new run (the module docstring's steps).

    ``settings`` are handed to the command as ``RUNSTREAM_*`` variables when the client
    was built from them; None when the client found its service by tracking URI.
    """
    request = plan.request
    # 1. the run, its params and tags
    experiment_id = _experiment_id(client, request)
    tags = run_tags(plan.fetched, plan.project, plan.invocation, plan.manager, request.tags)
    run = client.create_run(experiment_id, tags=tags, run_name=request.run_name)
    run_id = run.info.run_id
    from runstream.sdk.entities import Param

    client.log_batch(run_id, params=[Param(k, v) for k, v in plan.invocation.params.items()])
    client.flush(timeout_s=60.0)
    # 2. the caller learns the id
    on_started(run_id)
    tracking_uri = client.tracking_uri
    # 3. the environment
    try:
        environment = envs.prepare(plan.manager, plan.project, env_root)
    except RunstreamError as exc:
        print(f"runstream: {exc}", file=sys.stderr, flush=True)
        client.set_terminated(run_id, "FAILED")
        return Outcome(run_id, "FAILED", 1)
    # 4. the run is visible before code attaches to it
    _wait_visible(tracking_uri, client.session.endpoints.api_token, run_id)
    # 5.-6. the command
    env = _child_env(settings, tracking_uri, run_id, experiment_id, environment)
    command = environment.prefix + plan.invocation.command
    print(f"runstream: run {run_id}: {command}", file=sys.stderr, flush=True)
    outputs = _outputs(plan.scratch) if request.capture else None
    exit_code, killed = _run_command(command, plan.fetched.work_dir, env, outputs)
    status = "KILLED" if killed else "FINISHED" if exit_code == 0 else "FAILED"
    # 7. captured output
    if outputs is not None:
        for stream in outputs:
            stream.close()
        for name in ("stdout", "stderr"):
            client.log_artifact(run_id, plan.scratch / f"{name}.txt")
    # 8. the end
    client.set_terminated(run_id, status)
    client.flush(timeout_s=60.0)
    return Outcome(run_id, status, exit_code)


def _experiment_id(client: RunstreamClient, request: RunRequest) -> str:
    if request.experiment_id is not None:
        return str(request.experiment_id)
    if request.experiment_name is not None:
        return client.resolve_experiment(request.experiment_name).experiment_id
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
    if os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        return client.resolve_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"]).experiment_id
    from runstream.sdk.experiments import DEFAULT_EXPERIMENT_ID

    return DEFAULT_EXPERIMENT_ID


def _wait_visible(tracking_uri: str, token: str, run_id: str) -> None:
    """Step 4: polls the query service; an absent service only warns (nothing to wait for)."""
    query = QueryClient(tracking_uri, token=token, timeout_s=5.0)
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if query.run(run_id) is not None:
                return
            time.sleep(0.1)
        print(f"runstream: run {run_id} not visible at {tracking_uri} after "
              f"{VISIBLE_TIMEOUT_S:.0f} s; starting anyway", file=sys.stderr)
    except ServiceError as exc:
        print(f"runstream: {exc}; starting anyway", file=sys.stderr)
    finally:
        query.close()


def _child_env(
    settings: Settings | None,
    tracking_uri: str,
    run_id: str,
    experiment_id: str,
    environment: envs.Environment,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_RUN_ID", "RUNSTREAM_RUN_ID")}
    if settings is not None:
        env.update(settings_to_env(settings))
    env.update(
        {
            "MLFLOW_RUN_ID": run_id,
            "RUNSTREAM_RUN_ID": run_id,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "RUNSTREAM_TRACKING_URI": tracking_uri,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
        }
    )
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    if settings is not None and settings.api_token:
        env["MLFLOW_TRACKING_TOKEN"] = settings.api_token
    env.update(environment.env)
    return env


def _outputs(scratch: Path) -> tuple[IO[bytes], IO[bytes]]:
    return (scratch / "stdout.txt").open("wb"), (scratch / "stderr.txt").open("wb")


def _run_command(
    command: str, cwd: Path, env: dict[str, str], outputs: tuple[IO[bytes], IO[bytes]] | None
) -> tuple[int, bool]:
    """Steps 5-6: returns (exit code, killed by a signal to the runner)."""
    child = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=outputs[0] if outputs else None,
        stderr=outputs[1] if outputs else None,
    )
    stopping = threading.Event()
    previous = _forward_signals(child, stopping)
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        _restore(previous)
    if stopping.is_set():
        _kill_group(child.pid, signal.SIGKILL)  # leftovers of a group that exited early
        return (128 + signal.SIGTERM if code >= 0 else 128 - code), True
    return (code if code >= 0 else 128 - code), False


def _forward_signals(child: subprocess.Popen[bytes], stopping: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        print(f"runstream: signal {signum}: stopping the command", file=sys.stderr, flush=True)
        _kill_group(child.pid, signal.SIGTERM)
        threading.Thread(target=_kill_later, args=(child,), daemon=True).start()

    return {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}


def _kill_later(child: subprocess.Popen[bytes]) -> None:
    try:
        child.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        _kill_group(child.pid, signal.SIGKILL)


def _kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


__all__ = ["Outcome", "Plan", "RunRequest", "execute", "plan"]
