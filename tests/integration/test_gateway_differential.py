"""Differential: the same MLflow client program against MLflow's own server and against
Runstream's gateway; what MLflow's client reads back is the same.

Two programs: tracking, artifacts and the registry (params, metric histories, tags,
statuses, lifecycle, searches, artifact listings and bytes, stages, aliases, versions,
error codes), and MLflow 3's logged models (statuses, params, tags, searches, pages,
error codes, run outputs). Ids, times and artifact locations differ by design and are
left out.

Status filters of logged models are left out: MLflow 3.17's SQL store compares
``status = 'READY'`` with its integer status column and finds nothing; Runstream finds
the READY models (docs/gateway.md, test_gateway_logged_models).

MLflow's server runs from the benchmarks' venv (``benchmarks/.venvs/mlflow``, made on
first use from PyPI). Starting it takes most of a minute, so the module is marked slow
(RUNSTREAM_SLOW_TESTS=1); test_gateway_tracking and test_gateway_logged_models cover
the same calls quickly.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from materializer_support import materializer
from mlflow import MlflowClient
from mlflow.entities import (
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    Run,
    RunTag,
)
from mlflow.entities.model_registry import ModelVersion
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


METRIC_SEARCHES: list[tuple[str | None, list[dict[str, Any]] | None]] = [
    ("metrics.acc > 0.6", BY_NAME),
    ("metrics.acc < 0.6", None),
    ("metrics.loss <= 0.3 AND name = 'alpha'", None),
    (None, [{"field_name": "metrics.acc", "ascending": False}]),
    (None, [{"field_name": "metrics.acc", "ascending": True}]),
]


def _seen(m: LoggedModel) -> tuple[Any, ...]:
    return (m.name, str(m.status), dict(m.params), dict(m.tags), m.model_type)


def _code(call: Any) -> str:
    try:
        call()
    except MlflowException as exc:
        return str(exc.error_code)
    return "ok"


def logged_models_scenario(client: MlflowClient) -> list[Any]:
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
    alpha, gamma = models["alpha"].model_id, models["gamma"].model_id
    client.log_metric(run, "acc", 0.9, timestamp=1000, step=1, model_id=alpha,
                      dataset_name="eval", dataset_digest="d1")
    client.log_batch(run, metrics=[Metric("acc", 0.5, 1001, 1, model_id=gamma),
                                   Metric("acc", 0.95, 1002, 2, model_id=gamma),
                                   Metric("loss", 0.3, 1003, 1, model_id=alpha)])
    for name, model in models.items():
        linked = client.get_logged_model(model.model_id).metrics or []
        out.append(("model metrics", name, sorted(
            (m.key, m.value, m.step, m.timestamp, m.dataset_name, m.dataset_digest,
             m.run_id == run) for m in linked)))
    for filter_string, order_by in METRIC_SEARCHES:
        found = client.search_logged_models([exp], filter_string=filter_string, order_by=order_by)
        out.append(("metric search", filter_string, order_by, [ids[m.model_id] for m in found]))
    client.log_outputs(run, [LoggedModelOutput(models["alpha"].model_id, step=3)])
    outputs = client.get_run(run).outputs.model_outputs
    out.append(("outputs", [(ids[o.model_id], o.step) for o in outputs]))
    client.log_inputs(run, models=[LoggedModelInput(gamma), LoggedModelInput(alpha)])
    used = client.get_run(run).inputs.model_inputs
    out.append(("model inputs", sorted(ids[m.model_id] for m in used)))
    client.delete_logged_model(models["beta"].model_id)
    out.append(("after delete", [ids[m.model_id] for m in client.search_logged_models([exp])]))
    out.append(("get deleted", _code(lambda: client.get_logged_model(models["beta"].model_id))))
    out.append(("get unknown", _code(lambda: client.get_logged_model("m-" + "0" * 32))))
    out.append(("tag deleted", _code(
        lambda: client.set_logged_model_tags(models["beta"].model_id, {"k": "v"}))))
    out.append(("no experiment", _code(lambda: client.create_logged_model("123456789"))))
    return out


_CLIENT_TAGS = ("mlflow.user", "mlflow.source.name", "mlflow.source.type",
                "mlflow.source.git.commit")


def _run_seen(run: Run, names: dict[str, str]) -> tuple[Any, ...]:
    """What a user reads of a run, less ids (``names``: run id -> name), times and where
    its artifacts live."""
    tags = {k: names.get(v, v) for k, v in run.data.tags.items() if k not in _CLIENT_TAGS}
    metrics = {k: "nan" if math.isnan(v) else v for k, v in run.data.metrics.items()}
    return (run.info.run_name, run.info.status, run.info.lifecycle_stage,
            run.info.end_time is not None, dict(run.data.params), metrics, tags)


def _version_seen(v: ModelVersion) -> tuple[Any, ...]:
    return (v.name, str(v.version), v.current_stage, v.description, dict(v.tags),
            sorted(v.aliases), v.status)


def tracking_scenario(client: MlflowClient, work: Path) -> list[Any]:
    """The calls, and what a user sees of each answer (ids, times, locations left out)."""
    out: list[Any] = []
    exp = client.create_experiment("differential-tracking", tags={"team": "a", "gone": "1"})
    client.set_experiment_tag(exp, "stage", "dev")
    client.delete_experiment_tag(exp, "gone")
    client.rename_experiment(exp, "differential-tracking-renamed")
    got = client.get_experiment(exp)
    out.append(("experiment", got.name, got.lifecycle_stage, dict(got.tags)))
    out.append(("by name", client.get_experiment_by_name(got.name).experiment_id == exp))
    out.append(("experiment exists", _code(lambda: client.create_experiment(got.name))))

    parent = client.create_run(exp, run_name="parent", tags={"kind": "sweep"}).info.run_id
    child = client.create_run(exp, run_name="child",
                              tags={"mlflow.parentRunId": parent}).info.run_id
    now = int(time.time() * 1000)
    client.log_param(parent, "lr", "0.1")
    for step in range(5):
        client.log_metric(parent, "loss", 1.0 / (step + 1), now + step, step)
    client.log_metric(parent, "nan", math.nan, now, 0)
    client.log_batch(parent, metrics=[Metric("acc", 0.5 + i / 10, now + i, i) for i in range(3)],
                     params=[Param("layers", "3"), Param("act", "relu")],
                     tags=[RunTag("note", "x"), RunTag("drop", "y")])
    client.delete_tag(parent, "drop")
    client.set_tag(parent, "note", "changed")
    client.update_run(parent, name="parent-renamed")
    out.append(("param changed", _code(lambda: client.log_param(parent, "lr", "0.2"))))
    out.append(("param again", _code(lambda: client.log_param(parent, "lr", "0.1"))))
    client.log_metric(child, "loss", 0.3, now, 0)
    client.set_terminated(child, "FAILED")
    client.set_terminated(parent)
    names = {parent: "parent", child: "child"}
    out.append(("parent", _run_seen(client.get_run(parent), names)))
    out.append(("child", _run_seen(client.get_run(child), names)))
    for key in ("loss", "acc"):
        history = client.get_metric_history(parent, key)
        out.append(("history", key, [(m.step, m.value) for m in history]))
    for label, filter_string, order in (
        ("all", "", ["attributes.run_name ASC"]),
        ("loss", "metrics.loss < 0.5", ["metrics.loss DESC"]),
        ("lr", "params.lr = '0.1'", []),
        ("children", "tags.mlflow.parentRunId = '" + parent + "'", []),
        ("failed", "attributes.status = 'FAILED'", []),
    ):
        found = client.search_runs([exp], filter_string, order_by=order)
        out.append(("search", label, [r.info.run_name for r in found]))
    client.delete_run(child)
    out.append(("deleted", [r.info.run_name for r in client.search_runs([exp])],
                client.get_run(child).info.lifecycle_stage))
    client.restore_run(child)
    out.append(("restored", sorted(r.info.run_name for r in client.search_runs([exp]))))
    out.append(("unknown run", _code(lambda: client.get_run("0" * 32))))

    work.mkdir(parents=True)
    (work / "notes.txt").write_text("hello\n")
    (work / "data").mkdir()
    (work / "data" / "rows.csv").write_bytes(b"a,b\n1,2\n" * 1000)
    client.log_artifact(parent, str(work / "notes.txt"))
    client.log_artifacts(parent, str(work / "data"), artifact_path="inputs")
    client.log_text(parent, "text body", "texts/t.txt")
    listed = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(parent)]
    nested = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(parent, "inputs")]
    out.append(("artifacts", sorted(listed), sorted(nested)))
    down = Path(client.download_artifacts(parent, "inputs/rows.csv", str(work / "down")))
    out.append(("bytes", down.read_bytes() == (work / "data" / "rows.csv").read_bytes(),
                Path(client.download_artifacts(parent, "texts/t.txt", str(work / "d2")))
                .read_text()))

    name = "differential-model"
    client.create_registered_model(name, tags={"owner": "a"}, description="first")
    out.append(("model exists", _code(lambda: client.create_registered_model(name))))
    v1 = client.create_model_version(name, f"runs:/{parent}/model", run_id=parent,
                                     tags={"t": "1"}, description="v1")
    v2 = client.create_model_version(name, f"runs:/{child}/model", run_id=child)
    out.append(("versions", _version_seen(v1), _version_seen(v2)))
    client.transition_model_version_stage(name, v1.version, "Production")
    client.transition_model_version_stage(name, v2.version, "Production",
                                          archive_existing_versions=True)
    client.set_registered_model_alias(name, "champion", v1.version)
    client.set_registered_model_alias(name, "challenger", v2.version)
    client.delete_registered_model_alias(name, "challenger")
    client.set_model_version_tag(name, v2.version, "checked", "yes")
    client.delete_model_version_tag(name, v1.version, "t")
    client.update_model_version(name, v2.version, description="second")
    client.set_registered_model_tag(name, "domain", "churn")
    client.delete_registered_model_tag(name, "owner")
    client.update_registered_model(name, description="updated")
    model = client.get_registered_model(name)
    out.append(("model", model.name, model.description, dict(model.tags),
                dict(model.aliases)))
    out.append(("by alias", _version_seen(client.get_model_version_by_alias(name, "champion"))))
    for v in (v1, v2):
        out.append(("version", _version_seen(client.get_model_version(name, v.version))))
    latest = client.get_latest_versions(name, stages=["Production", "Archived"])
    out.append(("latest", sorted((v.version, v.current_stage) for v in latest)))
    found_versions = client.search_model_versions(f"name = '{name}'")
    out.append(("search versions", sorted(v.version for v in found_versions)))
    models_found = client.search_registered_models("name LIKE 'differential%'")
    out.append(("search models", [m.name for m in models_found]))
    client.delete_model_version(name, v1.version)
    out.append(("after version delete", sorted(
        v.version for v in client.search_model_versions(f"name = '{name}'"))))
    out.append(("deleted version", _code(lambda: client.get_model_version(name, v1.version))))
    out.append(("unknown model", _code(lambda: client.get_registered_model("no-such-model"))))
    client.delete_registered_model(name)
    out.append(("deleted model", _code(lambda: client.get_registered_model(name))))

    client.delete_experiment(exp)
    out.append(("experiment deleted", client.get_experiment(exp).lifecycle_stage,
                _code(lambda: client.create_run(exp))))
    client.restore_experiment(exp)
    out.append(("experiment restored", client.get_experiment(exp).lifecycle_stage))
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


def _compare(urls: tuple[str, str], program: Callable[[MlflowClient], list[Any]]) -> None:
    mlflow_url, runstream_url = urls
    expected = program(MlflowClient(tracking_uri=mlflow_url))
    got = program(MlflowClient(tracking_uri=runstream_url))
    assert len(got) == len(expected)
    differences = [(w, h) for w, h in zip(expected, got, strict=True) if w != h]
    assert differences == [], "\n".join(f"MLflow {w}\nours   {h}" for w, h in differences)


def test_logged_models_read_back_the_same_from_both_servers(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    _compare(urls, logged_models_scenario)


def test_tracking_artifacts_and_registry_read_back_the_same_from_both_servers(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    _compare(urls, lambda client: tracking_scenario(client, tmp_path / str(time.time_ns())))
