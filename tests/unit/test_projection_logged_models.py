"""The reducer on MLflow 3 logged models: create, finalize, tags, params, delete, run links."""

from __future__ import annotations

from typing import Any

from projection_support import MemoryLake, deliver, ev, run_started

from runstream.events import EventType as T
from runstream.events import new_run_id

MODEL = "m-" + "a" * 32
OTHER = "m-" + "b" * 32


def _created(model_id: str = MODEL, experiment_id: str = "0", **body: Any) -> Any:
    fields = {
        "model_id": model_id,
        "name": "model",
        "artifact_location": f"s3://artifacts/0/models/{model_id}/artifacts",
        "creation_time": 1000,
        "params": {"lr": "0.1"},
        "tags": {"team": "a"},
    }
    fields.update(body)
    return ev(T.LOGGED_MODEL_CREATED, fields, experiment_id=experiment_id)


def _change(event_type: T, model_id: str = MODEL, **body: Any) -> Any:
    return ev(event_type, {"model_id": model_id, **body}, experiment_id="0")


def test_a_model_is_pending_until_finalized_and_keeps_params_and_tags() -> None:
    lake = MemoryLake()
    lake.feed(deliver(_created()))
    row = lake.row("mlflow_logged_models", MODEL)
    assert row is not None and row[2] == "model" and row[6:8] == ("PENDING", "active")
    assert lake.row("logged_model_params", MODEL, "lr") == (MODEL, "lr", "0.1")
    lake.feed(deliver(_change(T.LOGGED_MODEL_FINALIZED, status="READY")))
    finalized = lake.row("mlflow_logged_models", MODEL)
    assert finalized is not None and finalized[6] == "READY" and finalized[9] >= 1000


def test_tags_params_and_deletes_change_only_a_live_model() -> None:
    lake = MemoryLake()
    result = lake.feed(
        deliver(
            _change(T.LOGGED_MODEL_TAGS_SET, tags={"x": "1"}),  # before it exists
            _created(),
            _change(T.LOGGED_MODEL_TAGS_SET, tags={"team": "b", "x": "1"}),
            _change(T.LOGGED_MODEL_TAG_DELETED, key="x"),
            _change(T.LOGGED_MODEL_PARAMS, params={"depth": "3"}),
            _change(T.LOGGED_MODEL_DELETED),
            _change(T.LOGGED_MODEL_FINALIZED, status="READY"),  # after the delete
            _created(),  # the same id again
        )
    )
    assert [r.reason for r in result.rejections] == [
        "unknown_logged_model",
        "unknown_logged_model",
        "logged_model_exists",
    ]
    assert lake.row("logged_model_tags", MODEL, "team") == (MODEL, "team", "b")
    assert lake.row("logged_model_tags", MODEL, "x") is None
    assert lake.row("logged_model_params", MODEL, "depth") == (MODEL, "depth", "3")
    row = lake.row("mlflow_logged_models", MODEL)
    assert row is not None and row[6:8] == ("PENDING", "deleted")


def test_a_model_needs_an_existing_experiment() -> None:
    lake = MemoryLake()
    result = lake.feed(deliver(_created(experiment_id="77")))
    assert [r.reason for r in result.rejections] == ["unknown_experiment"]
    assert lake.row("mlflow_logged_models", MODEL) is None


def test_run_outputs_link_a_live_run_to_its_models() -> None:
    lake = MemoryLake()
    run_id = new_run_id()
    outputs = {"models": [{"model_id": MODEL, "step": 2}, {"model_id": OTHER}]}
    result = lake.feed(
        deliver(
            ev(T.RUN_OUTPUTS, outputs, run_id=new_run_id()),  # an unknown run
            run_started(run_id),
            ev(T.RUN_OUTPUTS, outputs, run_id=run_id),
        )
    )
    assert [r.reason for r in result.rejections] == ["unknown_run"]
    assert lake.row("logged_model_outputs", run_id, MODEL) == (run_id, MODEL, 2)
    assert lake.row("logged_model_outputs", run_id, OTHER) == (run_id, OTHER, 0)


def test_batch_boundaries_do_not_change_the_outcome() -> None:
    events = [
        _created(),
        _change(T.LOGGED_MODEL_TAGS_SET, tags={"k": "v"}),
        _change(T.LOGGED_MODEL_FINALIZED, status="FAILED"),
    ]
    whole, split = MemoryLake(), MemoryLake()
    whole.feed(deliver(*events))
    for e in events:
        split.feed(deliver(e))
    for table in ("mlflow_logged_models", "logged_model_tags", "logged_model_params"):
        assert dict(whole.tables[table]) == dict(split.tables[table]), table


def test_metric_points_are_linked_to_a_live_model_every_one() -> None:
    lake = MemoryLake()
    run_id = new_run_id()
    points = [
        {"key": "acc", "value": 0.8, "timestamp": 5, "step": 1},
        {"key": "acc", "value": 0.9, "timestamp": 6, "step": 2, "dataset_name": "eval",
         "dataset_digest": "d1"},
        {"key": "acc", "value": "NaN", "timestamp": 7, "step": 2},
    ]
    metrics = {"model_id": MODEL, "run_id": run_id, "metrics": points}
    result = lake.feed(
        deliver(
            _change(T.LOGGED_MODEL_METRICS, **metrics),  # before the model exists
            _created(),
            _change(T.LOGGED_MODEL_METRICS, **metrics),
            _change(T.LOGGED_MODEL_METRICS, **metrics),  # the same points again
        )
    )
    assert [r.reason for r in result.rejections] == ["unknown_logged_model"]
    linked = sorted(lake.tables["logged_model_metrics"].values(), key=lambda r: r[3])
    assert [r[:3] + r[3:6] for r in linked][:2] == [
        (MODEL, "acc", 0.8, 5, 1, run_id),
        (MODEL, "acc", 0.9, 6, 2, run_id),
    ]
    assert len(linked) == 3 and linked[1][6:] == ("eval", "d1")
    assert linked[2][2] != linked[2][2]  # NaN kept as NaN
    row = lake.row("mlflow_logged_models", MODEL)
    assert row is not None and row[9] == 1000  # points do not move last_updated_time
    lake.feed(deliver(_change(T.LOGGED_MODEL_DELETED)))
    late = lake.feed(deliver(_change(T.LOGGED_MODEL_METRICS, **metrics)))
    assert [r.reason for r in late.rejections] == ["unknown_logged_model"]


def test_model_inputs_link_a_live_run_to_the_models_it_used() -> None:
    lake = MemoryLake()
    run_id = new_run_id()
    used = {"models": [{"model_id": MODEL}, {"model_id": OTHER}]}
    result = lake.feed(
        deliver(
            ev(T.RUN_MODEL_INPUTS, used, run_id=new_run_id()),  # an unknown run
            run_started(run_id),
            ev(T.RUN_MODEL_INPUTS, used, run_id=run_id),
            ev(T.RUN_MODEL_INPUTS, {"models": [{"model_id": MODEL}]}, run_id=run_id),
        )
    )
    assert [r.reason for r in result.rejections] == ["unknown_run"]
    assert {k[1] for k in lake.tables["logged_model_inputs"]} == {MODEL, OTHER}
    assert len(lake.tables["logged_model_inputs"]) == 2
