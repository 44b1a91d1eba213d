"""A broker that never answers: events go to the offline spool; what cannot go anywhere is
reported loudly at interpreter exit, with counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runstream.events import decode
from runstream.sdk.spool import EVENTS_FILE, read_spool
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


def _run(spool: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    port = free_ports(1)[0]  # nothing listens there: the broker is "down" for good
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNSTREAM_", "MLFLOW_"))}
    env.update(
        {
            "RUNSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
            "RUNSTREAM_PORT_API": str(free_ports(1)[0]),
            "RUNSTREAM_SPOOL_DIR": str(spool),
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "logged"
    assert done.returncode == 0  # the script itself succeeded
    return done, port


def test_events_for_a_broker_that_never_answers_go_to_the_spool(tmp_path: Path) -> None:
    done, _ = _run(tmp_path / "spool")
    assert "events now go to the offline spool" in done.stderr, done.stderr
    assert "NOT delivered" not in done.stderr
    (run_folder,) = [p for p in (tmp_path / "spool").iterdir() if p.name != "_artifacts"]
    records, torn = read_spool(run_folder / EVENTS_FILE)
    events = [decode(r.value) for r in records]
    assert torn == 0
    assert [e.type.value for e in events] == ["run.started", "run.metrics", "run.ended"]
    assert len(events[1].body.keys) == 100


def test_what_cannot_be_spooled_either_is_counted_on_stderr_at_exit(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the spool cannot be created under a file")
    done, port = _run(blocker / "spool")
    assert (
        f"3 events (holding 100 metric points) were NOT delivered to the broker at "
        f"127.0.0.1:{port}" in done.stderr
    ), done.stderr
