"""The wine sweep example, run as a user runs it, against the real stack.

Without the query service the example skips the registry and loads the best
model by ``runs:/``; the test reads every event back and checks that nothing is
missing. The registry half (register, Production, ``champion``, load by
``models:/...@champion``) runs once the materializer and query service exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from test_sdk_helpers import read_events

from runstream.config import Settings
from runstream.events import EventType
from runstream.stack import LocalStack, free_ports

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wine_sweep.py"
EPOCHS = 8


def _run_example(settings: Settings, *args: str, api_port: int | None = None) -> str:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RUNSTREAM_", "MLFLOW_", "AWS_"))
    }
    env.update(
        {
            "RUNSTREAM_KAFKA_BOOTSTRAP": settings.bootstrap,
            "RUNSTREAM_S3_ENDPOINT": settings.s3_url,
            "RUNSTREAM_TOPIC_PREFIX": settings.topic_prefix,
            "RUNSTREAM_HOME": str(settings.home),
            # Nothing listens there: the query service is optional and absent.
            "RUNSTREAM_PORT_API": str(api_port or free_ports(1)[0]),
            "MPLBACKEND": "Agg",
        }
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", str(EPOCHS), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_wine_sweep_logs_every_event(settings: Settings) -> None:
    out = _run_example(settings, "--no-register")
    assert "12 runs under" in out
    assert "test accuracy" in out

    events = read_events(settings.bootstrap, settings.topic_events, schema=False)
    started = {e.run_id: e for e in events if e.type == EventType.RUN_STARTED}
    parents = [r for r, e in started.items() if e.body.parent_run_id is None]
    children = [r for r, e in started.items() if e.body.parent_run_id is not None]
    assert len(parents) == 1 and len(children) == 12
    ended = Counter(e.body.status for e in events if e.type == EventType.RUN_ENDED)
    assert ended == {"FINISHED": 13}
    for run_id in children:
        mine = [e for e in events if e.run_id == run_id]
        kinds = Counter(e.type for e in mine)
        assert kinds[EventType.MODEL_LOGGED] == 1
        points = Counter(k for e in mine if e.type == EventType.RUN_METRICS for k in e.body.keys)
        assert points == {
            "train_loss": EPOCHS,
            "val_loss": EPOCHS,
            "val_accuracy": EPOCHS,
            "val_f1": 1,
            "val_accuracy_final": 1,
        }
        paths = {e.body.path for e in mine if e.type == EventType.ARTIFACT_LOGGED}
        assert {
            "plots/confusion_matrix.png",
            "reports/classification_report.txt",
            "model/MLmodel",
            "model/model.skops",
        } <= paths
        params = {p.key for e in mine if e.type == EventType.RUN_PARAMS for p in e.body.params}
        assert params == {"alpha", "eta0", "epochs", "model", "loss"}


def test_the_wine_sweep_registers_and_loads_the_champion(settings: Settings) -> None:
    apps = LocalStack(settings, with_apps=True)
    apps.start_apps()
    try:
        out = _run_example(settings, "--await-registration", "120", api_port=settings.ports.api)
    finally:
        apps.query().stop()
        apps.materializer().stop()
    assert "models:/wine-classifier@champion (version 1)" in out
    registry = read_events(settings.bootstrap, settings.topic_registry, schema=False)
    kinds = [e.type for e in registry]
    assert EventType.REGISTRY_STAGE_CHANGED in kinds and EventType.REGISTRY_ALIAS_SET in kinds
