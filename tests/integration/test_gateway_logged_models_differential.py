"""Differential: the same logged-model calls of MLflow's own client against MLflow's server
and against Runstream's gateway give the same answers (statuses, params, tags, searches,
pages, error codes, run outputs).

Status filters are left out: MLflow 3.17's SQL store compares ``status = 'READY'`` with
its integer status column and finds nothing; Runstream finds the READY models
(docs/gateway.md, test_gateway_logged_models).

MLflow's server runs from the benchmarks' venv (``benchmarks/.venvs/mlflow``, made on
first use from PyPI). Starting it takes most of a minute, so the module is marked slow
(RUNSTREAM_SLOW_TESTS=1); test_gateway_logged_models covers the same calls quickly.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from materializer_support import materializer
from mlflow import MlflowClient
from mlflow.entities import LoggedModel, LoggedModelOutput, LoggedModelStatus
from mlflow.exceptions import MlflowException
from test_gateway_tracking import server

from runstream.config import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BY_NAME = [{"field_name": "name", "ascending": True}]
SEARCHES: list[tuple[str | None, list[dict[str, Any]] | None]] = [
    (None, None),
    ("name = 'alpha'", None),
    ("tags.t = 'x'", None),
    ("tags.t LIKE '%'", BY_NAME),
    ("name LIKE '%a%'", BY_NAME),
    ("name ILIKE 'ALPHA'", None),
    ("model_type = 'kind'", None),
    ("creation_timestamp > 0", [{"field_name": "name", "ascending": False}]),
    ("name != 'beta' AND tags.t = 'y'", None),
    ("params.p = '1'", None),
    ("params.q LIKE '%'", BY_NAME),
    (None, [{"field_name": "creation_timestamp", "ascending": True}]),
]


def _seen(m: LoggedModel) -> tuple[Any, ...]:
    return (m.name, str(m.status), dict(m.params), dict(m.tags), m.model_type)


def _code(call: Any) -> str:
    try:
        call()
    except MlflowException as exc:
        return str(exc.error_code)
    return "ok"


def scenario(client: MlflowClient) -> list[Any]:
    """The calls, and what a user sees of each answer (ids and times left out)."""
    out: list[Any] = []
    exp = client.create_experiment("differential-logged-models")
    run = client.create_run(exp).info.run_id
    models = {}
    for name, kwargs in (
        ("alpha", {"source_run_id": run, "params": {"p": "1"}, "tags": {"t": "x"},
                   "model_type": "kind"}),
        ("beta", {}),
        ("gamma", {"tags": {"t": "y"}}),
    ):
        models[name] = client.create_logged_model(exp, name=name, **kwargs)
        out.append(("created", _seen(models[name]), models[name].source_run_id == run))
        time.sleep(0.01)  # distinct creation times: MLflow's ids are random, ours time-ordered
    ids = {m.model_id: n for n, m in models.items()}
    out.append(("finalized", _seen(client.finalize_logged_model(models["alpha"].model_id,
                                                                LoggedModelStatus.READY))))
    client.finalize_logged_model(models["beta"].model_id, LoggedModelStatus.FAILED)
    client.set_logged_model_tags(models["gamma"].model_id, {"u": "1", "t": "y"})
    client.delete_logged_model_tag(models["gamma"].model_id, "u")
    client.log_model_params(models["beta"].model_id, {"q": "2"})
    for name, model in models.items():
        out.append(("get", name, _seen(client.get_logged_model(model.model_id))))
    for filter_string, order_by in SEARCHES:
        found = client.search_logged_models([exp], filter_string=filter_string, order_by=order_by)
        out.append(("search", filter_string, order_by, [ids[m.model_id] for m in found]))
    by_run = client.search_logged_models([exp], filter_string=f"source_run_id = '{run}'")
    out.append(("by run", [ids[m.model_id] for m in by_run]))
    first = client.search_logged_models([exp], max_results=2, order_by=BY_NAME)
    rest = client.search_logged_models([exp], max_results=2, order_by=BY_NAME,
                                       page_token=first.token)
    out.append(("pages", [ids[m.model_id] for m in first], [ids[m.model_id] for m in rest],
                rest.token))
    client.log_outputs(run, [LoggedModelOutput(models["alpha"].model_id, step=3)])
    outputs = client.get_run(run).outputs.model_outputs
    out.append(("outputs", [(ids[o.model_id], o.step) for o in outputs]))
    client.delete_logged_model(models["beta"].model_id)
    out.append(("after delete", [ids[m.model_id] for m in client.search_logged_models([exp])]))
    out.append(("get deleted", _code(lambda: client.get_logged_model(models["beta"].model_id))))
    out.append(("get unknown", _code(lambda: client.get_logged_model("m-" + "0" * 32))))
    out.append(("tag deleted", _code(
        lambda: client.set_logged_model_tags(models["beta"].model_id, {"k": "v"}))))
    out.append(("no experiment", _code(lambda: client.create_logged_model("123456789"))))
    return out


@pytest.fixture(scope="module")
def urls(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[str, str]
]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.peers import start_peer
    from test_query_helpers import per_test_settings

    from runstream.kafka.admin import ensure_topics

    peer = start_peer("mlflow", tmp_path_factory.mktemp("mlflow-peer"))
    try:
        settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("lm-diff"))
        settings = dataclasses.replace(settings, read_after_timeout_s=30.0)
        ensure_topics(settings)
        with materializer(settings), server(settings) as base:
            yield peer.url, base
    finally:
        peer.stop()


def test_mlflows_client_sees_the_same_from_both_servers(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow_url, runstream_url = urls
    expected = scenario(MlflowClient(tracking_uri=mlflow_url))
    got = scenario(MlflowClient(tracking_uri=runstream_url))
    assert len(got) == len(expected)
    differences = [(w, h) for w, h in zip(expected, got, strict=True) if w != h]
    assert differences == [], "\n".join(f"MLflow {w}\nours   {h}" for w, h in differences)
