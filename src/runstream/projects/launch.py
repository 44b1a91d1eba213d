"""Running a project from start to end, in this process or detached from it.

:func:`run_project` plans, creates the run and waits for the command. :func:`detach`
starts the same thing in a process of its own session (``python -m
runstream.projects.launch``) and returns as soon as that process says which run it
created: the contract, in order:

1. The launcher writes the request as JSON to the supervisor's stdin and closes it.
2. The supervisor plans the run; a planning error (bad parameter, missing tool) is
   written to the report pipe as ``error <message>`` and nothing runs.
3. Once the run exists, the supervisor writes ``run <id>`` to the pipe and closes it;
   the launcher returns that id. The command's stdout and stderr go to files, logged
   as the run's artifacts when it ends.
4. The supervisor's own messages go to ``<home>/logs/project-runs/<time>-<pid>.log``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runstream.config import Settings, load_settings
from runstream.errors import ProjectError, RunstreamError
from runstream.projects.runner import Outcome, RunRequest, execute, plan


def run_project(
    request: RunRequest,
    settings: Settings,
    *,
    on_started: Callable[[str], None] = lambda _run_id: None,
) -> Outcome:
    """Runs a project under a new run and returns how it ended.

    Raises:
        ProjectError, ProjectEnvError: the project cannot run (nothing was started).
    """
    from runstream.sdk.client import RunstreamClient

    with tempfile.TemporaryDirectory(prefix="runstream-project-") as scratch:
        planned = plan(request, Path(scratch))
        # With a tracking URI the SDK learns broker and bucket from the service (as the
        # command's own SDK will); without one, the settings name the local stack.
        remote = any(os.environ.get(v) for v in ("RUNSTREAM_TRACKING_URI", "MLFLOW_TRACKING_URI"))
        client = RunstreamClient() if remote else RunstreamClient(settings=settings)
        try:
            return execute(
                planned,
                client,
                None if remote else settings,
                env_root=settings.home.resolve() / "envs",
                on_started=on_started,
            )
        finally:
            client.close(timeout_s=30.0)


def detach(request: RunRequest, settings: Settings, timeout_s: float = 300.0) -> str:
    """Starts the run in a process of its own and returns its run id (module steps 1-4).

    Raises:
        ProjectError: the project cannot run, or the supervisor died before saying so.
    """
    logs = settings.home.resolve() / "logs" / "project-runs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    read_end, write_end = os.pipe()
    with log_file.open("ab") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "runstream.projects.launch", str(write_end)],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            start_new_session=True,
            pass_fds=(write_end,),
        )
    os.close(write_end)
    assert supervisor.stdin is not None
    # 1. the request
    supervisor.stdin.write(json.dumps(dataclasses.asdict(request)).encode())
    supervisor.stdin.close()
    # 2.-3. the report
    with os.fdopen(read_end, "rb") as report:
        answer = report.read().decode(errors="replace").strip()
    if answer.startswith("run "):
        return answer.split(" ", 1)[1]
    if answer.startswith("error "):
        raise ProjectError(answer.split(" ", 1)[1])
    raise ProjectError(f"the detached run did not start; see {log_file}")


def _supervise(report_fd: int) -> int:
    """The detached side: read the request, run it, report the id once it exists."""
    report = os.fdopen(report_fd, "w")
    fields = json.loads(sys.stdin.read())
    request = RunRequest(**{**fields, "capture": True})

    def started(run_id: str) -> None:
        report.write(f"run {run_id}\n")
        report.close()

    try:
        outcome = run_project(request, load_settings(os.environ), on_started=started)
    except RunstreamError as exc:
        if not report.closed:
            report.write(f"error {exc}\n")
            report.close()
        print(f"runstream: {exc}", file=sys.stderr)
        return 2
    print(f"runstream: run {outcome.run_id} ended {outcome.status} (exit {outcome.exit_code})")
    return outcome.exit_code


__all__ = ["detach", "run_project"]

if __name__ == "__main__":
    sys.exit(_supervise(int(sys.argv[1])))
