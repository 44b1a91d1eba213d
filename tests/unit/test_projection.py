"""The reducer, from plain event lists: runs, experiments, params, tags, duplicates."""

from __future__ import annotations

import math

from projection_support import ROOT, MemoryLake, deliver, ev, metrics, params, run_started

from runstream.core.projection import reduce_batch, state_keys
from runstream.core.working import StateView
from runstream.events import EventType, new_run_id


def test_a_run_from_start_to_end_lands_in_every_table() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    result = lake.feed(
        deliver(
            run_started(rid, run_name="baseline", description="first try"),
            params(rid, lr="0.1", layers="3"),
            metrics(rid, [("loss", 1.0, 0, 10), ("loss", 0.5, 1, 20)]),
            ev(EventType.RUN_TAGS, {"tags": [{"key": "team", "value": "a"}]}, run_id=rid),
            ev(EventType.RUN_ENDED, {"status": "FINISHED", "end_time": 5000}, run_id=rid),
        )
    )
    assert result.rejections == []
    assert len(result.accepted) == 5
    run = lake.row("runs", rid)
    assert run is not None
    assert run[2:7] == ("baseline", "u", "FINISHED", 1000, 5000)
    assert run[12] == f"{ROOT}/0/{rid}/artifacts"
    assert lake.row("params", rid, "lr") == (rid, "lr", "0.1")
    assert lake.row("tags", rid, "mlflow.runName") == (rid, "mlflow.runName", "baseline")
    assert lake.row("tags", rid, "mlflow.note.content") == (rid, "mlflow.note.content", "first try")
    assert lake.row("tags", rid, "team") == (rid, "team", "a")
    assert result.metric_points == 2
    assert lake.latest[(rid, "loss")].value == 0.5


def test_a_param_logged_again_with_another_value_is_rejected_with_the_reason() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    lake.feed(deliver(run_started(rid), params(rid, lr="0.1")))
    result = lake.feed(deliver(params(rid, lr="0.2", other="x"), params(rid, lr="0.1")))
    [rejection] = result.rejections
    assert rejection.reason == "param_conflict"
    assert "'0.1'" in rejection.detail and "'0.2'" in rejection.detail
    # The whole event is refused: its other param is not logged either.
    assert lake.row("params", rid, "other") is None
    assert len(result.accepted) == 1  # the same value again is a harmless retry


def test_a_conflict_inside_one_event_or_one_batch_is_caught() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    result = lake.feed(deliver(run_started(rid), params(rid, a="1"), params(rid, a="2")))
    assert [r.reason for r in result.rejections] == ["param_conflict"]
    assert lake.row("params", rid, "a") == (rid, "a", "1")


def test_events_of_an_unknown_run_are_rejected_and_add_no_points() -> None:
    lake = MemoryLake()
    ghost = new_run_id()
    result = lake.feed(deliver(metrics(ghost, [("loss", 1.0, 0, 1)]), params(ghost, a="1")))
    assert [r.reason for r in result.rejections] == ["unknown_run", "unknown_run"]
    assert result.metric_blocks == []
    assert result.rejections[0].event_id is not None


def test_duplicates_are_dropped_within_a_batch_and_against_the_lake() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    start = deliver(run_started(rid))
    point = metrics(rid, [("loss", 1.0, 0, 1)])
    first = lake.feed(start + deliver(point, point))
    assert first.duplicates == 1
    again = lake.feed(deliver(point))  # a producer retry that arrives after a commit
    assert again.duplicates == 1 and again.metric_blocks == [] and again.accepted == []
    assert lake.points == 1


def test_run_end_status_first_wins_and_a_repeat_is_harmless() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    ended = {"status": "FAILED", "end_time": 9}
    result = lake.feed(
        deliver(
            run_started(rid),
            ev(EventType.RUN_ENDED, ended, run_id=rid),
            ev(EventType.RUN_ENDED, ended, run_id=rid),
            ev(EventType.RUN_ENDED, {"status": "FINISHED", "end_time": 10}, run_id=rid),
        )
    )
    assert [r.reason for r in result.rejections] == ["bad_transition"]
    run = lake.row("runs", rid)
    assert run is not None and run[4] == "FAILED" and run[6] == 9


def test_a_deleted_run_accepts_nothing_until_restored() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    result = lake.feed(
        deliver(
            run_started(rid),
            ev(EventType.RUN_DELETED, {}, run_id=rid),
            metrics(rid, [("a", 1.0, 0, 0)]),
            ev(EventType.RUN_RESTORED, {}, run_id=rid),
            metrics(rid, [("a", 2.0, 1, 0)]),
        )
    )
    assert [r.reason for r in result.rejections] == ["run_deleted"]
    assert result.metric_points == 1
    run = lake.row("runs", rid)
    assert run is not None and run[7] == "active"


def test_experiments_have_unique_names_and_default_cannot_be_deleted() -> None:
    lake = MemoryLake()
    result = lake.feed(
        deliver(
            ev(EventType.EXPERIMENT_CREATED, {"name": "vision"}, experiment_id="7"),
            ev(EventType.EXPERIMENT_CREATED, {"name": "vision"}, experiment_id="8"),
            ev(EventType.EXPERIMENT_CREATED, {"name": "other"}, experiment_id="7"),
            ev(EventType.EXPERIMENT_RENAMED, {"name": "Default"}, experiment_id="7"),
            ev(EventType.EXPERIMENT_DELETED, {}, experiment_id="0"),
            ev(EventType.EXPERIMENT_TAG_SET, {"key": "k", "value": "v"}, experiment_id="9"),
        )
    )
    assert [r.reason for r in result.rejections] == [
        "experiment_name_taken",
        "experiment_exists",
        "experiment_name_taken",
        "bad_transition",
        "unknown_experiment",
    ]
    assert lake.row("experiments", "7") == (
        "7",
        "vision",
        f"{ROOT}/7",
        "active",
        *[
            lake.row("experiments", "7")[4],  # type: ignore[index]
            lake.row("experiments", "7")[5],  # type: ignore[index]
        ],
    )


def test_an_experiment_tag_can_be_deleted_and_set_again() -> None:
    lake = MemoryLake()
    created = {"name": "tagged", "artifact_location": None, "tags": {"a": "1", "b": "2"}}
    lake.feed(
        deliver(
            ev(EventType.EXPERIMENT_CREATED, created, experiment_id="9"),
            ev(EventType.EXPERIMENT_TAG_DELETED, {"key": "a"}, experiment_id="9"),
            ev(EventType.EXPERIMENT_TAG_DELETED, {"key": "never-set"}, experiment_id="9"),
        )
    )
    assert lake.row("experiment_tags", "9", "a") is None
    assert lake.row("experiment_tags", "9", "b") == ("9", "b", "2")
    result = lake.feed(
        deliver(
            ev(EventType.EXPERIMENT_TAG_SET, {"key": "a", "value": "3"}, experiment_id="9"),
            ev(EventType.EXPERIMENT_TAG_DELETED, {"key": "a"}, experiment_id="404"),
        )
    )
    assert lake.row("experiment_tags", "9", "a") == ("9", "a", "3")
    assert [r.reason for r in result.rejections] == ["unknown_experiment"]


def test_a_run_takes_its_artifact_uri_from_its_experiment() -> None:
    lake = MemoryLake()
    rid, rid2 = new_run_id(), new_run_id()
    result = lake.feed(
        deliver(
            ev(
                EventType.EXPERIMENT_CREATED,
                {"name": "e", "artifact_location": "s3://b/custom", "tags": {"a": "b"}},
                experiment_id="5",
            ),
            run_started(rid, experiment_id="5"),
            ev(EventType.EXPERIMENT_DELETED, {}, experiment_id="5"),
            run_started(rid2, experiment_id="5"),
        )
    )
    assert [r.reason for r in result.rejections] == ["experiment_deleted"]
    run = lake.row("runs", rid)
    assert run is not None and run[12] == f"s3://b/custom/{rid}/artifacts"
    assert lake.row("experiment_tags", "5", "a") == ("5", "a", "b")


def test_a_run_may_start_before_its_experiment_arrives() -> None:
    # Experiment and run events travel in different partitions, so a run can win.
    lake = MemoryLake()
    rid = new_run_id()
    result = lake.feed(deliver(run_started(rid, experiment_id="42")))
    assert result.rejections == []
    run = lake.row("runs", rid)
    assert run is not None and run[1] == "42"


def test_tags_are_last_write_wins_and_can_be_deleted() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    tag = EventType.RUN_TAGS
    lake.feed(
        deliver(
            run_started(rid),
            ev(tag, {"tags": [{"key": "k", "value": "1"}]}, run_id=rid),
            ev(
                tag,
                {"tags": [{"key": "k", "value": "2"}, {"key": "mlflow.runName", "value": "n"}]},
                run_id=rid,
            ),
        )
    )
    assert lake.row("tags", rid, "k") == (rid, "k", "2")
    run = lake.row("runs", rid)
    assert run is not None and run[2] == "n"
    lake.feed(deliver(ev(EventType.RUN_TAG_DELETED, {"key": "k"}, run_id=rid)))
    assert lake.row("tags", rid, "k") is None


def test_artifacts_and_models_are_keyed_by_path() -> None:
    lake = MemoryLake()
    rid = new_run_id()
    art = {
        "path": "model/weights.bin",
        "uri": "s3://bucket/x",
        "size": 3,
        "sha256": "a" * 64,
        "media_type": "application/octet-stream",
    }
    model = {
        "artifact_path": "model",
        "flavors": {"python_function": {"z": 1, "a": 2}},
        "model_uuid": "b" * 32,
        "signature": None,
        "input_example": [1, 2],
    }
    lake.feed(
        deliver(
            run_started(rid),
            ev(EventType.ARTIFACT_LOGGED, art, run_id=rid),
            ev(EventType.ARTIFACT_LOGGED, {**art, "size": 4}, run_id=rid),
            ev(EventType.MODEL_LOGGED, model, run_id=rid),
        )
    )
    row = lake.row("artifacts", rid, "model/weights.bin")
    assert row is not None and row[3] == 4
    logged = lake.row("logged_models", rid, "model")
    assert logged is not None
    assert logged[3] == '{"python_function":{"a":2,"z":1}}'
    assert logged[4] is None and logged[5] == "[1,2]"


def test_dataset_inputs_are_keyed_by_name_and_digest_and_keep_their_context() -> None:
    lake = MemoryLake()
    rid = new_run_id()

    def dataset(digest: str, context: str) -> dict[str, object]:
        return {
            "dataset": {
                "name": "wine",
                "digest": digest,
                "source_type": "local",
                "source": '{"uri": "/data/wine.csv"}',
                "schema": None,
            },
            "tags": [{"key": "mlflow.data.context", "value": context}],
        }

    lake.feed(
        deliver(
            run_started(rid),
            ev(EventType.RUN_INPUTS, {"datasets": [dataset("d1", "training")]}, run_id=rid),
            ev(EventType.RUN_INPUTS, {"datasets": [dataset("d2", "eval")]}, run_id=rid),
            ev(EventType.RUN_INPUTS, {"datasets": [dataset("d1", "eval")]}, run_id=rid),
        )
    )
    first = lake.row("dataset_inputs", rid, "wine", "d1")
    second = lake.row("dataset_inputs", rid, "wine", "d2")
    assert first is not None and second is not None
    assert first[4] == '{"uri": "/data/wine.csv"}' and first[5] is None
    assert (first[7], first[8]) == ("eval", '{"mlflow.data.context":"eval"}')
    assert second[7] == "eval"
    unknown = new_run_id()
    rejected = lake.feed(
        deliver(ev(EventType.RUN_INPUTS, {"datasets": [dataset("d3", "x")]}, run_id=unknown))
    )
    assert lake.row("dataset_inputs", unknown, "wine", "d3") is None
    assert [r.reason for r in rejected.rejections] == ["unknown_run"]


def test_state_keys_name_every_entity_the_batch_touches() -> None:
    rid = new_run_id()
    batch = deliver(
        run_started(rid, experiment_id="3"),
        params(rid, a="1"),
        ev(EventType.EXPERIMENT_RENAMED, {"name": "n"}, experiment_id="4"),
        ev(EventType.REGISTRY_MODEL_CREATED, {}, model_name="m"),
    )
    keys = state_keys(batch)
    assert keys.run_ids == {rid} and keys.param_run_ids == {rid}
    assert keys.experiment_ids == {"3", "4"} and keys.experiment_names == {"n"}
    assert keys.model_names == {"m"} and len(keys.event_ids) == 4


def test_nan_and_infinite_points_keep_their_values() -> None:
    rid = new_run_id()
    batch = deliver(run_started(rid), metrics(rid, [("m", math.nan, 0, 0), ("m", math.inf, 0, 0)]))
    result = reduce_batch(batch, StateView(), artifact_root=ROOT)
    [block] = result.metric_blocks
    assert math.isnan(block.values[0]) and block.values[1] == math.inf
