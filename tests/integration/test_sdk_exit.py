"""How a script's exit ends its run: normally, by an uncaught exception, or killed.

Each case runs a real script in a child process against the real broker; the run is
started without ``with`` so only the SDK's exit handling can end it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_sdk_helpers import metric_points, read_events

from runstream.config import Settings, settings_to_env
from runstream.events import EventType

SCRIPT = """
import os, sys
import runstream as mlflow

mode = sys.argv[1]
run = mlflow.start_run(run_name=mode)
print(run.info.run_id, flush=True)
for step in range(1000):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
if mode == "crash":
    raise RuntimeError("the training diverged")
if mode == "kill":
    mlflow.flush()
    os.kill(os.getpid(), 9)
"""


@pytest.mark.parametrize(
    ("mode", "status", "exit_code"),
    [("finish", "FINISHED", 0), ("crash", "FAILED", 1), ("kill", None, -9)],
)
def test_the_run_ends_as_the_process_did(
    settings: Settings, mode: str, status: str | None, exit_code: int
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNSTREAM_", "MLFLOW_"))}
    env.update(settings_to_env(settings))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == exit_code, done.stderr[-2000:]
    run_id = done.stdout.split()[0]
    if mode == "crash":
        assert "the training diverged" in done.stderr  # the traceback still shows

    events = [
        e for e in read_events(settings.bootstrap, settings.topic_events) if e.run_id == run_id
    ]
    ended = [e.body.status for e in events if e.type == EventType.RUN_ENDED]
    assert ended == ([status] if status else [])  # killed: the run stays RUNNING
    assert len(metric_points(events, run_id)) == 1000  # every point delivered all the same
