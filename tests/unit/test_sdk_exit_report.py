"""At interpreter exit, what could not be delivered is reported loudly, with counts."""

from __future__ import annotations

import os
import subprocess
import sys

from runstream.stack import free_ports

SCRIPT = """
import runstream as mlflow
from runstream.sdk.client import RunstreamClient

mlflow.configure(client=RunstreamClient(end_run_timeout_s=0.5, exit_timeout_s=1.0))
mlflow.start_run()
for step in range(100):
    mlflow.log_metric("loss", 0.5, step=step)
print("logged", flush=True)
"""


def test_undelivered_events_are_counted_on_stderr_at_exit() -> None:
    port = free_ports(1)[0]  # nothing listens there: the broker is "down" for good
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNSTREAM_", "MLFLOW_"))}
    env.update(
        {
            "RUNSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
            "RUNSTREAM_PORT_API": str(free_ports(1)[0]),
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "logged"
    assert done.returncode == 0  # the script itself succeeded; the loss is reported
    assert (
        f"3 events (holding 100 metric points) were NOT delivered to the broker at "
        f"127.0.0.1:{port}" in done.stderr
    ), done.stderr
