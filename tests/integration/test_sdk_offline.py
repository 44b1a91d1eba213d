"""Offline: broker and S3 unreachable, the process SIGKILLed mid-run, then ``runstream sync``.

The child process logs to a broker and an object store that do not answer: its
events fall back to the spool and its artifacts stay on local disk. It is killed
outright while logging. A torn last record is added (a crash mid-write). Then
``runstream sync`` runs once interrupted (after one chunk), and twice in full: every
complete event must land in the lake exactly once, the artifacts must be in S3, and
the run must be searchable like any other.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from materializer_support import materializer, wait_for
from test_query_helpers import per_test_settings, serve

from runstream.config import Settings
from runstream.events import decode
from runstream.kafka.admin import ensure_topics
from runstream.objectstore import ObjectStore
from runstream.sdk.client import RunstreamClient
from runstream.sdk.spool import EVENTS_FILE, encode_record, read_spool
from runstream.stack import free_ports

CHILD = r"""
import sys, time
import runstream as mlflow

mlflow.set_experiment("offline")
with mlflow.start_run(run_name="cut-off") as run:
    mlflow.log_params({"lr": 0.1, "layers": 4})
    mlflow.log_text("kept on disk", "notes/hello.txt")
    for step in range(3000):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.flush(120)
    print("READY", run.info.run_id, flush=True)
    step = 3000
    while True:
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
        if step % 200 == 0:
            mlflow.flush(120)
            time.sleep(0.01)
"""


def _sync(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from runstream.cli.main import main; raise SystemExit(main())",
         "sync", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _spooled_points(spool: Path, run_id: str) -> int:
    records, _ = read_spool(spool / run_id / EVENTS_FILE)
    events = [decode(r.value) for r in records]
    return sum(len(e.body.keys) for e in events if e.type.value == "run.metrics")


def test_a_run_logged_offline_and_killed_syncs_exactly_once(
    stack_settings: Settings, tmp_path: Path
) -> None:
    settings = per_test_settings(stack_settings, tmp_path)
    ensure_topics(settings)
    spool = tmp_path / "spool"
    dead_broker, dead_s3 = free_ports(2)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RUNSTREAM_"))}
    child_env = {
        **base,
        "RUNSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{dead_broker}",
        "RUNSTREAM_S3_ENDPOINT": f"http://127.0.0.1:{dead_s3}",
        "RUNSTREAM_ARTIFACTS_BUCKET": settings.artifacts_bucket,
        "RUNSTREAM_SPOOL_DIR": str(spool),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=child_env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("READY"), f"child said {line!r}"
        run_id = line.split()[1]
        time.sleep(1.0)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    events_file = spool / run_id / EVENTS_FILE
    torn = encode_record(False, run_id.encode(), b'{"half": "an event"}')[:-7]
    with events_file.open("ab") as handle:
        handle.write(torn)
    expected = _spooled_points(spool, run_id)
    assert expected >= 3000

    sync_env = {
        **base,
        "RUNSTREAM_KAFKA_BOOTSTRAP": settings.bootstrap,
        "RUNSTREAM_S3_ENDPOINT": settings.s3_url,
        "RUNSTREAM_TOPIC_PREFIX": settings.topic_prefix,
        "RUNSTREAM_ARTIFACTS_BUCKET": settings.artifacts_bucket,
    }
    status = _sync(sync_env, str(spool), "--status")
    assert "1 artifact files waiting" in status and str(len(torn)) in status
    _sync(sync_env, str(spool), "--stop-after", "1")  # interrupted after one chunk
    first = _sync(sync_env, str(spool))
    assert "torn record" in first
    again = _sync(sync_env, str(spool))
    assert "0 artifact files uploaded, 0 events published" in again

    with materializer(settings), serve(settings) as url:
        wait_for(
            "the lake's tables",
            lambda: httpx.get(f"{url}/api/v1/experiments").status_code,
            lambda code: code == 200,
        )
        client = RunstreamClient(tracking_uri=url, environ={})
        try:

            def history() -> Any:
                try:
                    return len(client.get_metric_history(run_id, "loss"))
                except Exception as exc:  # not in the lake yet
                    return repr(exc)

            wait_for("every spooled point", history, lambda n: n == expected, timeout_s=120)
            time.sleep(2.0)  # a duplicate would arrive with the same batches; none may
            assert len(client.get_metric_history(run_id, "loss")) == expected
            experiment = client.get_experiment_by_name("offline")
            assert experiment is not None
            found = client.search_runs([experiment.experiment_id], "params.lr = '0.1'")
            assert [r.info.run_id for r in found] == [run_id]
            assert found[0].info.status == "RUNNING"  # killed: never ended
            assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
        finally:
            client.close(5.0)
    store = ObjectStore.from_settings(settings)
    uri = found[0].info.artifact_uri  # s3://<bucket>/<root>, or MLflow's mlflow-artifacts:/<root>
    root = uri.removeprefix(f"s3://{settings.artifacts_bucket}/").removeprefix("mlflow-artifacts:/")
    body = store.get_bytes(settings.artifacts_bucket, f"{root}/notes/hello.txt")
    assert body == b"kept on disk"
