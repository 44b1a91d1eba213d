"""The wine example as an MLproject: train, evaluate and register, each with `runstream run`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from project_support import run_cli, run_id_of, wait_run

from runstream.config import Settings

WINE = Path(__file__).resolve().parents[2] / "examples" / "wine"


@pytest.fixture(autouse=True)
def _mlflow_fails_fast() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        mp.setenv("MPLBACKEND", "Agg")
        yield


@pytest.mark.timeout(900)
def test_train_evaluate_register(running_apps: Settings) -> None:
    done = run_cli(running_apps, str(WINE), "-P", "epochs=3", "--experiment-name", "wine")
    assert done.returncode == 0, done.stderr[-4000:]
    trained = wait_run(running_apps, run_id_of(done))
    assert trained.data.params["epochs"] == "3" and "val_f1" in trained.data.metrics
    done = run_cli(running_apps, str(WINE), "-e", "evaluate", "-P",
                   f"run_id={trained.info.run_id}", "--experiment-name", "wine")
    assert done.returncode == 0, done.stderr[-4000:]
    evaluated = wait_run(running_apps, run_id_of(done))
    assert evaluated.data.tags["evaluated_run_id"] == trained.info.run_id
    assert 0.5 < evaluated.data.metrics["test_f1"] <= 1.0
    done = run_cli(running_apps, str(WINE), "-e", "register", "-P",
                   f"run_id={trained.info.run_id}", "--experiment-name", "wine")
    assert done.returncode == 0, done.stderr[-4000:]
    registered = wait_run(running_apps, run_id_of(done))
    assert registered.data.metrics["registered_version"] == 1.0
