"""A run's mirror shows what the lake holds after the same events, whatever they are."""

from __future__ import annotations

import math
from typing import Any

from projection_support import ROOT, MemoryLake, deliver, ev, metrics, params, run_started

from runstream.core.positions import Position
from runstream.core.rows import ExperimentRow, RunRow
from runstream.core.run_mirror import RunMirror, RunMirrors
from runstream.events import Envelope, EventType, new_run_id
from runstream.query.read.runs import run_from_mirror
from runstream.query.records import Run

MODEL_ID = "m-" + "ab" * 16


def _lake_run(lake: MemoryLake, run_id: str) -> Run:
    """The run as ``get_run`` reads it from the lake's tables."""
    t = lake.tables
    inputs = sorted((r for k, r in t["dataset_inputs"].items() if k[0] == run_id),
                    key=lambda r: (r[9], r[1], r[2]))
    mirror = RunMirror(
        RunRow(*t["runs"][(run_id,)]),
        {k[1]: r[2] for k, r in t["params"].items() if k[0] == run_id},
        {k[1]: r[2] for k, r in t["tags"].items() if k[0] == run_id},
        {k: m for (rid, k), m in lake.latest.items() if rid == run_id},
        {(r[0], r[1], r[2]): r for r in inputs},
        {k: r for k, r in t["logged_model_outputs"].items() if k[0] == run_id},
    )
    return run_from_mirror(mirror)


def _tags(run_id: str, **kv: str) -> Envelope[Any]:
    return ev(EventType.RUN_TAGS, {"tags": [{"key": k, "value": v} for k, v in kv.items()]},
              run_id=run_id)


def _dataset(run_id: str, name: str, digest: str, context: str) -> Envelope[Any]:
    dataset = {"name": name, "digest": digest, "source_type": "local", "source": "{}"}
    entry = {"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": context}]}
    return ev(EventType.RUN_INPUTS, {"datasets": [entry]}, run_id=run_id)


def test_every_event_leaves_the_mirror_equal_to_the_lake() -> None:
    rid = new_run_id()
    events = [
        run_started(rid, run_name="first", description="a note"),
        params(rid, lr="0.1", layers="3"),
        params(rid, lr="0.5"),  # a changed param: the lake refuses it, so must the mirror
        metrics(rid, [("loss", 1.0, 0, 10), ("loss", 0.5, 1, 11), ("acc", math.nan, 0, 10)]),
        metrics(rid, [("loss", 9.0, 0, 99), ("acc", 0.0, 0, 10)]),  # older step: not latest
        _tags(rid, team="a", **{"mlflow.runName": "renamed"}),
        ev(EventType.RUN_TAG_DELETED, {"key": "team"}, run_id=rid),
        _dataset(rid, "train", "d1", "training"),
        _dataset(rid, "eval", "d2", "eval"),
        ev(EventType.RUN_OUTPUTS, {"models": [{"model_id": MODEL_ID, "step": 3}]}, run_id=rid),
        ev(EventType.RUN_ENDED, {"status": "FINISHED", "end_time": 2000}, run_id=rid),
        ev(EventType.RUN_ENDED, {"status": "FAILED", "end_time": 3000}, run_id=rid),
        ev(EventType.RUN_DELETED, {}, run_id=rid),
        metrics(rid, [("loss", 0.1, 5, 12)]),  # a deleted run takes no points
        ev(EventType.RUN_RESTORED, {}, run_id=rid),
    ]
    lake = MemoryLake()
    mirror = RunMirror.start(events[0], None, ROOT)
    assert mirror is not None
    for event in events:
        lake.feed(deliver(event))
        if event is not events[0]:
            mirror.apply([event], ROOT)
        assert run_from_mirror(mirror) == _lake_run(lake, rid), event.type
    final = run_from_mirror(mirror)
    assert final.info.run_name == "renamed" and final.info.status == "FINISHED"
    assert final.params == {"lr": "0.1", "layers": "3"}
    assert "team" not in final.tags and final.tags["mlflow.note.content"] == "a note"
    assert final.metrics["loss"].value == 0.5 and final.metrics["loss"].count == 3
    assert {d.name for d in final.inputs} == {"train", "eval"}


def test_a_run_the_lake_would_refuse_has_no_mirror() -> None:
    deleted = ExperimentRow("7", "gone", None, "deleted", 0, 0)
    assert RunMirror.start(run_started(experiment_id="7"), deleted, ROOT) is None


def test_the_run_lands_under_its_experiments_artifact_location() -> None:
    exp = ExperimentRow("7", "e", "s3://elsewhere/seven", "active", 0, 0)
    mirror = RunMirror.start(run_started(experiment_id="7"), exp, ROOT)
    assert mirror is not None and mirror.run.artifact_uri is not None
    assert mirror.run.artifact_uri.startswith("s3://elsewhere/seven/")


def test_mirrors_keep_the_runs_they_started_and_their_last_position() -> None:
    mirrors = RunMirrors(ROOT, capacity=2)
    ids = [new_run_id() for _ in range(3)]
    for n, rid in enumerate(ids):
        mirrors.written([(run_started(rid), Position("t", 0, n))], lambda _e: None)
    other = new_run_id()  # started elsewhere: its events are ignored
    mirrors.written([(params(other, a="1"), Position("t", 0, 9))], lambda _e: None)
    mirrors.written([(params(ids[2], a="1"), Position("t", 1, 4))], lambda _e: None)
    assert mirrors.get(ids[0]) is None  # the oldest went past capacity
    assert mirrors.get(other) is None
    kept = mirrors.get(ids[2])
    assert kept is not None and kept.params == {"a": "1"}
    assert kept.position == Position("t", 1, 4)
