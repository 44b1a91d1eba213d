"""One script, run by MLflow's client on MLflow's server and by ``import runstream as mlflow``.

The script (``SCRIPT`` below) logs a few runs and then calls the read API a user
reaches for after training: ``search_runs`` (DataFrame and list), ``search_experiments``,
``get_experiment``, ``get_metric_history``, ``get_parent_run``, ``list_artifacts``,
``download_artifacts``, ``log_table`` / ``load_table``, ``log_image``,
``set_experiment_tags``, ``log_input`` with ``mlflow.data``, ``delete_run`` /
``restore_run``. It prints what it saw as
JSON; both outputs must be equal, DataFrame column names and dtypes included.
MLflow's server runs from its own venv (``benchmarks.peers``), installed on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runstream.config import Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.peers import start_peer  # noqa: E402

SCRIPT = r'''
import json, os, sys, tempfile, time
import numpy as np

if sys.argv[1] == "runstream":
    import runstream as mlflow
    from runstream import MlflowClient
else:
    import mlflow
    from mlflow import MlflowClient

mlflow.set_tracking_uri(os.environ["TRACKING_URI"])
out = {}

def settle(expected):
    """Runstream answers from the lake: wait (bounded) until it holds what was logged."""
    if sys.argv[1] != "runstream":
        return
    mlflow.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(mlflow.search_runs(output_format="list")) >= expected:
            return
        time.sleep(0.2)

mlflow.set_experiment("parity")
mlflow.set_experiment_tags({"team": "ml", "purpose": "parity"})
ids = {}
for i, lr in enumerate([0.1, 0.01, 0.001]):
    with mlflow.start_run(run_name=f"run-{i}") as run:
        mlflow.log_params({"lr": lr, "model": "cnn"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (i + step + 1), step=step)
        mlflow.log_metric("acc", 0.5 + i / 10)
        mlflow.set_tag("idx", str(i))
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
        mlflow.log_image(np.zeros((4, 6, 3), dtype=np.uint8), "images/static.png")
        if i == 0:
            import pandas as pd
            frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
            train = mlflow.data.from_pandas(frame, source="/data/train.csv", targets="y",
                                            name="train")
            mlflow.log_input(train, context="training", tags={"fold": "1"})
            with mlflow.start_run(run_name="child", nested=True) as child:
                mlflow.log_metric("acc", 0.1)
            ids["child"] = child.info.run_id
    ids[f"run-{i}"] = run.info.run_id
settle(4)
client = MlflowClient()
experiment = mlflow.get_experiment_by_name("parity")

df = mlflow.search_runs(experiment_ids=[experiment.experiment_id])
out["frame_columns"] = sorted(df.columns)
out["frame_first_columns"] = list(df.columns[:6])
out["frame_dtypes"] = {c: str(t) for c, t in df.dtypes.items() if not c.startswith("tags.mlflow.")}
out["frame_rows"] = len(df)
best = df.loc[df["metrics.acc"].idxmax()]
out["best_lr"] = best["params.lr"]
out["best_acc"] = float(best["metrics.acc"])
out["missing_loss_is_nan"] = bool(df["metrics.loss"].isna().sum() == 1)
lrs = df["params.lr"]
out["missing_param_is_none"] = sorted(map(repr, set(lrs.where(lrs.notna(), None))))

names = mlflow.search_runs(
    experiment_names=["parity"], filter_string="metrics.acc > 0.55 and params.model = 'cnn'",
    order_by=["metrics.acc DESC"], output_format="list",
)
out["filtered"] = [r.info.run_name for r in names]
out["max_results"] = len(mlflow.search_runs(experiment_names=["parity"], max_results=2))
out["all_experiments"] = len(mlflow.search_runs(search_all_experiments=True)) >= 4

page = client.search_runs([experiment.experiment_id], order_by=["attributes.run_name ASC"],
                          max_results=2)
out["client_page"] = [r.info.run_name for r in page]
out["client_page_has_token"] = bool(page.token)

found = mlflow.search_experiments(filter_string="name = 'parity'")
out["experiments"] = sorted(e.name for e in found)
got = mlflow.get_experiment(experiment.experiment_id)
tags = {k: v for k, v in got.tags.items() if not k.startswith("mlflow.")}
out["experiment"] = [got.name, got.lifecycle_stage, tags]
out["experiment_has_times"] = [got.creation_time is not None, got.last_update_time is not None]

history = client.get_metric_history(ids["run-1"], "loss")
out["history"] = [(m.step, m.value) for m in history]
out["history_types"] = sorted({type(m).__name__ for m in history})

parent = mlflow.get_parent_run(ids["child"])
out["parent"] = parent.info.run_name if parent else None
out["no_parent"] = mlflow.get_parent_run(ids["run-0"]) is None

run0 = client.get_run(ids["run-0"])
out["run_shape"] = [sorted(run0.data.params.items()), sorted(run0.data.metrics), run0.info.status]
out["inputs"] = [
    [d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
     d.dataset.schema, d.dataset.profile, sorted((t.key, t.value) for t in d.tags)]
    for d in run0.inputs.dataset_inputs
]
top = sorted((f.path, f.is_dir) for f in client.list_artifacts(ids["run-0"]))
out["artifacts_top"] = top
notes = client.list_artifacts(ids["run-0"], "notes")
out["artifacts_notes"] = [(f.path, f.is_dir, f.file_size) for f in notes]
with tempfile.TemporaryDirectory() as tmp:
    path = client.download_artifacts(ids["run-0"], "notes/hello.txt", tmp)
    out["downloaded"] = open(path).read()

table = mlflow.load_table("tables/t.json", extra_columns=["run_id"])
out["table_columns"] = list(table.columns)
out["table_rows"] = len(table)
out["table_dtypes"] = {c: str(t) for c, t in table.dtypes.items()}

mlflow.delete_run(ids["run-2"])
if sys.argv[1] == "runstream":
    mlflow.flush()
    deadline = time.monotonic() + 60
    while len(mlflow.search_runs(output_format="list")) != 3 and time.monotonic() < deadline:
        time.sleep(0.2)
out["after_delete"] = len(mlflow.search_runs(experiment_names=["parity"], output_format="list"))
print("RESULT " + json.dumps(out, sort_keys=True))
'''


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    done = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    lines = [x for x in done.stderr.splitlines() if not x.startswith(" ")]
    assert done.returncode == 0, f"{argv[0]} failed:\n{done.stdout}\n" + "\n".join(lines[-30:])
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


@pytest.mark.timeout(1200)  # a fresh machine installs MLflow's venv first (1-2 min)
def test_the_read_api_answers_as_mlflow_does(running_apps: Settings, tmp_path: Path) -> None:
    script = tmp_path / "parity.py"
    script.write_text(SCRIPT)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RUNSTREAM_"))}
    url = f"http://127.0.0.1:{running_apps.ports.api}"
    ours = _run([sys.executable, str(script), "runstream"], {**base, "TRACKING_URI": url}, tmp_path)
    peer = start_peer("mlflow", tmp_path / "mlflow", ready_timeout_s=400, workers=1)
    try:
        env = {**base, "TRACKING_URI": peer.url}
        theirs = _run([str(peer.python), str(script), "mlflow"], env, tmp_path)
    finally:
        peer.stop()
    assert ours["inputs"] and ours["inputs"][0][0] == "train"  # a dataset was read back
    assert ours == theirs
