"""Differential: the same runs in MLflow's tracking server and in Runstream answer the
same searches with the same runs in the same order (MLflow's own client asks both).

MLflow's server runs from the benchmarks' venv (``benchmarks/.venvs/mlflow``, made on
first use from PyPI, when missing). Starting and filling MLflow's
server takes most of a minute, so the module is marked slow (RUNSTREAM_SLOW_TESTS=1).
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from test_query_helpers import latest_rows, per_test_settings, serve, write_rows

from runstream.config import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
NOW = 1_700_000_000_000
STATUSES = ["FINISHED", "FAILED", "KILLED", "RUNNING"]


def dataset() -> list[dict[str, Any]]:
    """30 runs with overlapping, missing, NaN and tied values (seeded)."""
    rng = random.Random(5)
    runs = []
    for i in range(30):
        metrics: list[tuple[str, float, int, int]] = []
        if i % 7 != 3:
            for step in range(3):
                metrics.append(("acc", round(rng.random(), 3), step, NOW + i * 10 + step))
        if i % 5 != 0:
            metrics.append(("loss", round(rng.uniform(0, 2), 2), 0, NOW + i))
        if i % 9 == 4:
            metrics.append(("loss_nan", math.nan, 0, NOW + i))
        if i % 4 == 1:
            metrics.append(("val/f1", float(i % 3), 0, NOW + i))
        params = {"lr": ["0.1", "0.01", "0.001", "1e-3"][i % 4], "layers": str(2 + i % 3)}
        if i % 3 == 0:
            params["opt"] = ["adam", "sgd", "Adam"][i % 3 if i % 2 else 0]
        if i % 6 == 2:
            params["my key"] = "a_b%c"
        tags = {"team": ["vision", "nlp", "Vision", "speech"][i % 4]}
        if i % 4 == 3:
            tags["note"] = "it's fine" if i % 8 == 3 else "plain"
        runs.append(
            {
                "name": f"run-{i:02d}",
                "start": NOW + (i * 7919) % 1000 * 1000,  # shuffled start times, all distinct
                "status": STATUSES[i % 4],
                "user": ["alice", "bob"][i % 2],
                "params": params,
                "tags": tags,
                "metrics": metrics,
            }
        )
    return runs


CORPUS: list[tuple[str, list[str]]] = [
    ("", []),
    ("", ["metrics.acc DESC"]),
    ("", ["metrics.acc ASC"]),
    ("", ["metrics.loss"]),
    ("", ["params.lr DESC"]),
    ("", ["params.opt"]),
    ("", ["tags.team DESC"]),
    ("", ["attributes.start_time ASC"]),
    ("", ["attributes.run_name DESC"]),
    ("", ["attribute.status", "metrics.acc DESC"]),
    ("", ["metrics.loss_nan DESC"]),
    ("", ["metrics.`val/f1` DESC", "params.lr ASC"]),
    ("metrics.acc > 0.5", []),
    ("metrics.acc >= 0.5", ["metrics.acc DESC"]),
    ("metrics.acc < 0.3", ["metrics.acc"]),
    ("metrics.acc <= 0.3", []),
    ("metrics.acc = 0.5", []),
    ("metrics.acc != 0.5", ["metrics.acc DESC"]),
    ("metrics.loss > 1", ["params.lr"]),
    ("metrics.loss_nan != 1", []),
    ("metrics.loss_nan > 1", []),
    ("metrics.`val/f1` = 1", []),
    ("metric.acc > 0.2 AND metric.loss < 1.5", ["metrics.loss DESC"]),
    ("params.lr = '0.1'", []),
    ("params.lr != '0.1'", ["params.lr"]),
    ("params.lr LIKE '0.0%'", []),
    ("params.lr ILIKE '1E%'", []),
    ("params.lr LIKE '%1'", ["metrics.acc DESC"]),
    ("params.opt = 'adam'", []),
    ("params.opt ILIKE 'ADAM'", []),
    ("params.opt != 'adam'", []),
    ("params.`my key` = 'a_b%c'", []),
    ("params.`my key` LIKE 'a_b%'", []),
    ('params."layers" = "3"', []),
    ("param.layers = '2' AND params.lr = '0.01'", []),
    ("tags.team = 'vision'", []),
    ("tags.team ILIKE 'vision'", ["attributes.run_name"]),
    ("tags.team LIKE 'V%'", []),
    ("tags.team != 'nlp'", ["tags.team"]),
    ('tags.note = "it\'s fine"', []),
    ("tag.note LIKE '%fine'", []),
    ("attributes.status = 'FINISHED'", []),
    ("attributes.status != 'RUNNING'", ["attributes.status DESC"]),
    ("attributes.status LIKE 'F%'", []),
    ("status = 'KILLED'", []),
    ("attributes.run_name = 'run-07'", []),
    ("attributes.run_name LIKE 'run-1%'", ["attributes.run_name"]),
    ("attributes.run_name ILIKE 'RUN-2%'", []),
    ("`Run name` = 'run-03'", []),
    ("attributes.user_id = 'bob'", []),
    ("attributes.start_time > 1700000500000", []),
    ("attributes.start_time <= 1700000300000", ["attributes.start_time DESC"]),
    ("created >= 1700000200000", []),
    ("attributes.end_time > 0", []),
    ("metrics.acc > 0.1 AND params.lr = '0.1' AND tags.team = 'vision'", []),
    ("metrics.acc > 0.1 and params.layers != '4'", ["metrics.acc DESC", "params.lr DESC"]),
    ("attributes.run_name != 'run-05'", ["metrics.loss DESC"]),
    ("metrics.acc > 0.5 AND attributes.status = 'FINISHED'", ["attributes.start_time"]),
    ("params.layers = '4'", ["metrics.loss DESC"]),
    ("tags.team = 'speech' AND metrics.acc < 0.9", []),
    ("params.opt IS NULL", []),
    ("params.opt IS NOT NULL", ["params.opt DESC"]),
    ("tags.note IS NULL", []),
    ("metrics.loss >= 0 AND metrics.acc >= 0", ["metrics.loss ASC", "metrics.acc DESC"]),
]


@pytest.fixture(scope="module")
def clients(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[MlflowClient, MlflowClient]]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.peers import start_peer

    runs = dataset()
    peer = start_peer("mlflow", tmp_path_factory.mktemp("mlflow-peer"))
    try:
        mlflow_client = MlflowClient(tracking_uri=peer.url)
        exp_id = mlflow_client.create_experiment("differential")
        for run in runs:
            created = mlflow_client.create_run(
                exp_id,
                start_time=run["start"],
                run_name=run["name"],
                tags={"mlflow.user": run["user"]},
            )
            rid = created.info.run_id
            mlflow_client.log_batch(
                rid,
                metrics=[Metric(k, v, t, s) for k, v, s, t in run["metrics"]],
                params=[Param(k, v) for k, v in run["params"].items()],
                tags=[RunTag(k, v) for k, v in run["tags"].items()],
            )
            if run["status"] != "RUNNING":
                mlflow_client.set_terminated(rid, run["status"], end_time=run["start"] + 50)
        settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("differential"))
        write_runstream(settings, runs)
        with serve(settings) as url:
            yield mlflow_client, MlflowClient(tracking_uri=url)
    finally:
        peer.stop()


def write_runstream(settings: Settings, runs: list[dict[str, Any]]) -> None:
    rows: dict[str, list[tuple[Any, ...]]] = {"runs": [], "params": [], "tags": [], "metrics": []}
    rows["experiments"] = [("1", "differential", None, "active", NOW, NOW)]
    for i, run in enumerate(runs):
        rid = f"{i + 1:032x}"
        end = None if run["status"] == "RUNNING" else run["start"] + 50
        rows["runs"].append(
            (
                rid,
                "1",
                run["name"],
                run["user"],
                run["status"],
                run["start"],
                end,
                "active",
                None,
                None,
                None,
                None,
                None,
                None,
            )
        )
        rows["params"] += [(rid, k, v) for k, v in run["params"].items()]
        rows["tags"] += [(rid, k, v) for k, v in run["tags"].items()]
        rows["metrics"] += [(rid, k, v, s, t) for k, v, s, t in run["metrics"]]
    rows["latest_metrics"] = latest_rows(rows["metrics"])
    write_rows(settings, rows)


def names(client: MlflowClient, filter_string: str, order_by: list[str]) -> list[str]:
    exp = client.get_experiment_by_name("differential")
    assert exp is not None
    found = client.search_runs(
        [exp.experiment_id], filter_string, order_by=order_by, max_results=100
    )
    return [r.info.run_name for r in found]


# Where Runstream answers differently on purpose; strict, so a change is noticed.
DIVERGENCES = [
    pytest.param(
        "tags.note = 'it''s fine'",
        [],
        marks=pytest.mark.xfail(
            strict=True,
            reason="Runstream reads '' inside quotes as one quote (SQL); MLflow keeps both",
        ),
    ),
]


@pytest.mark.parametrize(("filter_string", "order_by"), DIVERGENCES)
def test_known_divergences(
    clients: tuple[MlflowClient, MlflowClient], filter_string: str, order_by: list[str]
) -> None:
    mlflow_client, runstream_client = clients
    assert names(runstream_client, filter_string, order_by) == names(
        mlflow_client, filter_string, order_by
    )


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 60


@pytest.mark.parametrize(("filter_string", "order_by"), CORPUS, ids=[f"{f}|{o}" for f, o in CORPUS])
def test_same_runs_in_the_same_order(
    clients: tuple[MlflowClient, MlflowClient], filter_string: str, order_by: list[str]
) -> None:
    mlflow_client, runstream_client = clients
    assert names(runstream_client, filter_string, order_by) == names(
        mlflow_client, filter_string, order_by
    )


def test_paging_matches(clients: tuple[MlflowClient, MlflowClient]) -> None:
    pages = []
    for client in clients:
        exp = client.get_experiment_by_name("differential")
        assert exp is not None
        seen, token = [], None
        while True:
            page = client.search_runs(
                [exp.experiment_id],
                "",
                order_by=["metrics.acc DESC"],
                max_results=7,
                page_token=token,
            )
            seen += [r.info.run_name for r in page]
            token = page.token
            if not token:
                break
        pages.append(seen)
    assert pages[0] == pages[1] and len(pages[0]) == 30
