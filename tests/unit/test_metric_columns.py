"""Metric points converted while decoding: same rows as the writer's own conversion."""

from __future__ import annotations

import math

from projection_support import deliver, metrics, run_started

from runstream.core.projection import reduce_batch
from runstream.core.working import StateView
from runstream.events import encode, new_run_id
from runstream.events.records import Record
from runstream.lake.writer import _points_from_columns, _points_from_lists, metric_columns
from runstream.materializer.batch import decode_records

ROOT = "s3://artifacts"


def _records(*events: object) -> list[Record]:
    return [Record("t.events", 0, i, None, encode(e)) for i, e in enumerate(events)]  # type: ignore[arg-type]


def test_decoded_columns_match_the_lists_path() -> None:
    rid = new_run_id()
    points = [("a", 1.5, 0, 10), ("b", math.nan, 1, 11), ("a", -math.inf, 2**40, 12)]
    delivered, rejected = decode_records(_records(run_started(rid), metrics(rid, points)))
    assert not rejected
    assert delivered[0].columns is None and delivered[1].columns is not None
    result = reduce_batch(delivered, StateView(), artifact_root=ROOT)
    [block] = result.metric_blocks
    assert block.columns is delivered[1].columns
    by_columns = _points_from_columns([block]).to_pylist()
    by_lists = _points_from_lists([block]).to_pylist()
    assert len(by_columns) == len(by_lists) == 3
    for x, y in zip(by_columns, by_lists, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            same_nan = isinstance(x[k], float) and math.isnan(x[k]) and math.isnan(y[k])
            assert same_nan or x[k] == y[k]


def test_rejected_metrics_leave_no_block_and_no_columns() -> None:
    rid = new_run_id()
    batch = deliver(metrics(rid, [("a", 1.0, 0, 0)]))  # the run was never started
    result = reduce_batch(batch, StateView(), artifact_root=ROOT)
    assert result.metric_blocks == [] and len(result.rejections) == 1


def test_unconvertible_points_fall_back_to_none() -> None:
    assert metric_columns(["a"], [1.0], [2**70], [0]) is None
