"""The Airflow provider with a real Airflow 3 (its own venv, SQLite metadata DB) and a real stack.

``airflow dags test`` runs the wine example's DAG (train -> evaluate -> register if
better -> wait for Staging) against the test's query service; the runs it leaves are
then found by their DAG run, through the provider's hook in Airflow's interpreter.
Airflow's venv is made by ``benchmarks/peers.py`` (``peer_python("airflow")``, about
3-4 minutes the first time, cached under ``benchmarks/.venvs/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from project_support import RUNSTREAM

from runstream.config import Settings, settings_to_env

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.peers import peer_python  # noqa: E402

WINE = ROOT / "examples" / "wine"
MLFLOW_API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def airflow_bin() -> Path:
    return peer_python("airflow").parent


def _airflow_env(settings: Settings, home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("RUNSTREAM_", "MLFLOW_", "AWS_", "AIRFLOW"))
    }
    connection = {
        "conn_type": "runstream",
        "host": settings.api_url,
        "extra": {"runstream_bin": str(RUNSTREAM), "env": settings_to_env(settings)},
    }
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(WINE),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_RUNSTREAM_DEFAULT": json.dumps(connection),
        "MPLBACKEND": "Agg",
    })
    return env


def _airflow(bin_dir: Path, env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run([str(bin_dir / "airflow"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    said = f"{done.stdout[-12000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"airflow {' '.join(args)}:\n{said}"
    return done.stdout


def _json_list(out: str) -> list[dict[str, object]]:
    """The JSON list an ``airflow ... -o json`` command printed among its log lines."""
    for line in reversed(out.splitlines()):
        if line.startswith("[{") or line.strip() == "[]":
            value: list[dict[str, object]] = json.loads(line)
            return value
    raise AssertionError(f"no JSON list in {out[-3000:]!r}")


@pytest.mark.timeout(1800)
def test_the_wine_dag_trains_registers_and_waits_for_staging(
    running_apps: Settings, tmp_path: Path, airflow_bin: Path
) -> None:
    home = tmp_path / "airflow"
    home.mkdir()
    env = _airflow_env(running_apps, home)
    providers = _airflow(airflow_bin, env, "providers", "list", "-o", "json")
    assert any(p.get("package_name") == "runstream" for p in _json_list(providers))
    _airflow(airflow_bin, env, "db", "migrate", timeout=300)
    out = _airflow(airflow_bin, env, "dags", "test", "wine_pipeline", "-c", '{"epochs": 3}',
                   timeout=1200)

    # Every task succeeded, the sensor included.
    dag_runs = _json_list(
        _airflow(airflow_bin, env, "dags", "list-runs", "wine_pipeline", "-o", "json")
    )
    assert [r["state"] for r in dag_runs] == ["success"], out[-6000:]
    dag_run_id = dag_runs[0]["run_id"]

    # The runs of that DAG run, found by the provider's hook in Airflow's interpreter.
    code = ("import json; from runstream.airflow.hooks import RunstreamHook; "
            f"print(json.dumps(RunstreamHook().runs_of_dag_run('wine_pipeline', {dag_run_id!r})))")
    found = subprocess.run([str(airflow_bin / "python"), "-c", code], env=env,
                           capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr[-3000:]
    runs = json.loads(found.stdout.strip().splitlines()[-1])
    by_task = {}
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert tags["airflow.dag_id"] == "wine_pipeline"
        assert tags["airflow.run_id"] == dag_run_id
        assert tags["airflow.try_number"] == "1"
        assert run["info"]["status"] == "FINISHED"
        by_task[tags["airflow.task_id"]] = (run, tags)
    assert set(by_task) == {"train", "evaluate", "register"}
    train_run, train_tags = by_task["train"]
    assert train_tags["mlflow.project.entryPoint"] == "main"
    assert train_tags["mlflow.project.name"] == "wine"
    params = {p["key"]: p["value"] for p in train_run["data"]["params"]}
    assert params["epochs"] == "3"
    assert {m["key"] for m in train_run["data"]["metrics"]} >= {"val_f1", "val_loss"}
    evaluate_tags = by_task["evaluate"][1]
    assert evaluate_tags["evaluated_run_id"] == train_run["info"]["run_id"]

    # The registered version is in Staging and came from the training run.
    latest = httpx.get(f"{running_apps.api_url}{MLFLOW_API}/registered-models/get-latest-versions",
                       params={"name": "wine-classifier", "stages": "Staging"}).json()
    (version,) = latest["model_versions"]
    assert version["run_id"] == train_run["info"]["run_id"]
    assert version["version"] == "1"
