"""The client and the fluent API: validation in the caller's thread, run lifecycle.

Events go to an in-memory sink through the real buffer and sender thread.
"""

from __future__ import annotations

import getpass
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from test_sdk_unit_support import MemorySink, memory_client

import runstream as mlflow
from runstream.errors import (
    InvalidTransitionError,
    LimitExceededError,
    ParamConflictError,
    ValidationError,
)
from runstream.events import EventType
from runstream.sdk.experiments import experiment_id_for


@pytest.fixture
def sink() -> Iterator[MemorySink]:
    """A memory sink behind the fluent API; the client is closed afterwards."""
    sink = MemorySink()
    client = memory_client(sink, end_run_timeout_s=5.0)
    mlflow.configure(client=client)
    yield sink
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.configure()
    client.close(1.0)


def _types(sink: MemorySink, run_id: str) -> list[str]:
    return [e.type.value for e in sink.events() if e.run_id == run_id]


def test_a_run_logs_every_kind_of_event_in_order(sink: MemorySink) -> None:
    mlflow.set_experiment("unit-sweep")
    with mlflow.start_run(run_name="first", tags={"team": "ml"}) as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"depth": 3, "kernel": "rbf"})
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"acc": 0.9, "f1": np.float32(0.8)}, step=1)
        mlflow.set_tag("stage", "tuning")
        mlflow.delete_tag("stage")
    run_id = run.info.run_id
    assert _types(sink, run_id) == [
        "run.started",
        "run.params",
        "run.params",
        "run.metrics",
        "run.tags",
        "run.tag_deleted",
        "run.ended",
    ]
    started = next(e for e in sink.events() if e.type == EventType.RUN_STARTED)
    assert started.experiment_id == experiment_id_for("unit-sweep")
    assert started.body.run_name == "first"
    assert started.body.tags["team"] == "ml"
    assert started.body.tags["mlflow.user"] == started.body.user_id
    ended = next(e for e in sink.events() if e.type == EventType.RUN_ENDED)
    assert ended.body.status == "FINISHED"
    params = [p for e in sink.events() if e.type == EventType.RUN_PARAMS for p in e.body.params]
    assert {(p.key, p.value) for p in params} == {("lr", "0.01"), ("depth", "3"), ("kernel", "rbf")}
    assert mlflow.last_active_run().info.status == "FINISHED"  # type: ignore[union-attr]


def test_experiment_ids_are_deterministic_and_default_is_zero(sink: MemorySink) -> None:
    first = mlflow.set_experiment("same-name")
    assert first.experiment_id == experiment_id_for("same-name")
    assert experiment_id_for("same-name") == experiment_id_for("same-name")
    assert experiment_id_for("other") != first.experiment_id
    assert mlflow.set_experiment("Default").experiment_id == "0"
    mlflow.set_experiment("same-name")  # cached: no second experiment.created
    created = [e for e in sink.events() if e.type == EventType.EXPERIMENT_CREATED]
    mlflow.flush()
    created = [e for e in sink.events() if e.type == EventType.EXPERIMENT_CREATED]
    assert [e.body.name for e in created] == ["same-name"]


def test_a_run_that_raises_ends_failed_and_the_error_propagates(sink: MemorySink) -> None:
    with pytest.raises(RuntimeError, match="diverged"), mlflow.start_run() as run:
        mlflow.log_metric("loss", math.nan)
        raise RuntimeError("diverged")
    ended = [e for e in sink.events() if e.type == EventType.RUN_ENDED]
    assert [(e.run_id, e.body.status) for e in ended] == [(run.info.run_id, "FAILED")]
    assert mlflow.active_run() is None


def test_nested_runs_record_their_parent(sink: MemorySink) -> None:
    with mlflow.start_run() as parent:
        with pytest.raises(ValidationError, match="already active"):
            mlflow.start_run()
        with mlflow.start_run(nested=True) as child:
            assert mlflow.active_run() is child
        assert mlflow.active_run() is parent
    started = {e.run_id: e.body for e in sink.events() if e.type == EventType.RUN_STARTED}
    assert started[child.info.run_id].parent_run_id == parent.info.run_id
    assert started[child.info.run_id].tags["mlflow.parentRunId"] == parent.info.run_id


def test_logging_without_a_run_starts_one_like_mlflow(sink: MemorySink) -> None:
    mlflow.log_metric("x", 1)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run("KILLED")
    assert _types(sink, run.info.run_id)[-1] == "run.ended"


def test_a_changed_param_is_refused_in_the_callers_thread(sink: MemorySink) -> None:
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(
            ParamConflictError, match=r"'lr' .* is '0.1'; cannot change it to '0.2'"
        ):
            mlflow.log_param("lr", 0.2)
        with pytest.raises(ParamConflictError):
            mlflow.log_params({"new": 1, "lr": 0.3})  # all or nothing
    params = [
        p.key
        for e in sink.events()
        if e.type == EventType.RUN_PARAMS and e.run_id == run.info.run_id
        for p in e.body.params
    ]
    assert params == ["lr"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: mlflow.log_metric("k" * 251, 1.0), LimitExceededError, "251 characters"),
        (lambda: mlflow.log_metric("bad\nkey", 1.0), ValidationError, "not allowed"),
        (lambda: mlflow.log_metric("../up", 1.0), ValidationError, "normalised"),
        (lambda: mlflow.log_metric("loss", "0.5"), ValidationError, "must be a number"),  # type: ignore[arg-type]
        (lambda: mlflow.log_metric("loss", None), ValidationError, "must be a number"),  # type: ignore[arg-type]
        (lambda: mlflow.log_metric("loss", True), ValidationError, "must be a number"),
        (lambda: mlflow.log_metric("loss", 1.0, step=1.5), ValidationError, "step must be"),  # type: ignore[arg-type]
        (lambda: mlflow.log_metric("loss", 1.0, timestamp=-1), ValidationError, "out of range"),
        (lambda: mlflow.log_param("p", "v" * 6001), LimitExceededError, "6001 characters"),
        (lambda: mlflow.set_tag("t", "v" * 8001), LimitExceededError, "8001 characters"),
        (lambda: mlflow.log_params(["not", "a", "dict"]), ValidationError, "dict"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_raises_in_the_callers_thread(
    sink: MemorySink, call: Any, error: type[Exception], message: str
) -> None:
    with mlflow.start_run() as run:
        with pytest.raises(error, match=message):
            call()
        mlflow.log_metric("fine", 1.0)
    kinds = _types(sink, run.info.run_id)
    assert kinds == ["run.started", "run.metrics", "run.ended"]


def test_numeric_types_like_mlflow(sink: MemorySink) -> None:
    with mlflow.start_run() as run:
        mlflow.log_metric("a", np.float32(0.25), step=np.int64(3))
        mlflow.log_metric("b", 7)
        mlflow.log_metric("c", -math.inf)
    mlflow.flush()
    body = next(
        e.body
        for e in sink.events()
        if e.type == EventType.RUN_METRICS and e.run_id == run.info.run_id
    )
    assert body.keys == ("a", "b", "c")
    assert body.values == (0.25, 7.0, -math.inf)
    assert body.steps == (3, 0, 0)


def test_ending_a_run_twice_with_another_status_is_refused(sink: MemorySink) -> None:
    client = mlflow.get_client()
    run = client.create_run("0")
    client.set_terminated(run.info.run_id, "FINISHED")
    client.set_terminated(run.info.run_id, "FINISHED")  # a harmless repeat
    with pytest.raises(InvalidTransitionError, match="already ended as FINISHED"):
        client.set_terminated(run.info.run_id, "FAILED")
    with pytest.raises(InvalidTransitionError):
        client.set_terminated(client.create_run("0").info.run_id, "RUNNING")


def test_registry_writes_go_to_the_registry_topic(sink: MemorySink) -> None:
    client = mlflow.get_client()
    client.create_registered_model("wine", tags={"task": "classification"})
    version = client.create_model_version("wine", "s3://b/k", await_creation_for=0)
    assert version.version is None  # did not wait for the materializer
    client.transition_model_version_stage("wine", 1, "production", archive_existing_versions=True)
    client.set_registered_model_alias("wine", "champion", "1")
    with pytest.raises(InvalidTransitionError, match="archive_existing_versions"):
        client.transition_model_version_stage("wine", 1, "Archived", True)
    with pytest.raises(ValidationError, match="reserved"):
        client.set_registered_model_alias("wine", "latest", 1)
    client.flush()
    registry = [m for m in sink.messages if m.topic == "runstream.registry"]
    assert [m.key for m in registry] == [b"wine"] * 4
    stage = next(e for e in sink.events() if e.type == EventType.REGISTRY_STAGE_CHANGED)
    assert stage.body.stage == "Production"
    alias = next(e for e in sink.events() if e.type == EventType.REGISTRY_ALIAS_SET)
    # the audit trail names who moved them: the login name, as runs name their user
    assert stage.body.actor == alias.body.actor == getpass.getuser()


def test_a_login_name_that_is_no_principal_name_changes_the_stage_without_an_actor(
    sink: MemorySink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "DOMAIN\\ann lee")
    client = mlflow.get_client()
    client.transition_model_version_stage("wine", 1, "Staging")
    client.flush()
    (stage,) = [e for e in sink.events() if e.type == EventType.REGISTRY_STAGE_CHANGED]
    assert stage.body.stage == "Staging" and stage.body.actor is None


def test_a_registration_wait_without_a_query_service_fails_clearly(sink: MemorySink) -> None:
    client = mlflow.get_client()
    with pytest.raises(Exception, match=r"query service .* is unreachable"):
        client.create_model_version("wine", "s3://b/k", await_creation_for=1)


def test_ending_inside_the_block_is_not_undone_by_the_block(sink: MemorySink) -> None:
    with pytest.raises(KeyError), mlflow.start_run() as run:
        mlflow.end_run()
        raise KeyError("after the end")  # must surface, not an InvalidTransitionError
    statuses = [
        e.body.status
        for e in sink.events()
        if e.type == EventType.RUN_ENDED and e.run_id == run.info.run_id
    ]
    assert statuses == ["FINISHED"]
