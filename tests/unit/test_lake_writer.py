"""Batches through the real lake (DuckLake on a local folder, SQLite catalog)."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from projection_support import deliver, metrics, params, run_started

from runstream.config import Settings
from runstream.core.metrics import fold_latest
from runstream.core.projection import Delivered
from runstream.events import encode, new_run_id
from runstream.kafka.records import Record
from runstream.lake.connection import Lake, open_lake
from runstream.lake.writer import LakeWriter
from runstream.materializer.batch import BatchProcessor

TOPIC = "t.events"


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        lake_catalog=str(tmp_path / "lake" / "catalog.sqlite"),
        lake_data_path=str(tmp_path / "lake" / "data"),
        artifacts_bucket="art",
    )


@pytest.fixture
def lake(local_settings: Settings) -> Iterator[Lake]:
    with open_lake(local_settings, read_only=False) as opened:
        yield opened


class Log:
    """Records at increasing offsets on one partition, and what the lake should hold."""

    def __init__(self) -> None:
        self.offset = 0

    def records(self, items: list[Delivered | bytes]) -> list[Record]:
        out = []
        for item in items:
            value = encode(item.event) if isinstance(item, Delivered) else item
            out.append(Record(TOPIC, 0, self.offset, None, value))
            self.offset += 1
        return out


def _run(lake: Lake, records: list[Record], expected: int | None) -> BatchProcessor:
    processor = BatchProcessor(LakeWriter(lake), artifact_root="s3://art")
    prepared = processor.prepare(records, {(TOPIC, 0): expected})
    assert prepared is not None
    processor.commit()
    return processor


def _one(lake: Lake, sql: str) -> object:
    row = lake.con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_the_catalog_is_sqlite_in_wal_mode(lake: Lake, local_settings: Settings) -> None:
    with sqlite3.connect(local_settings.catalog) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert _one(lake, "SELECT name FROM lake.experiments WHERE experiment_id = '0'") == "Default"


def test_a_batch_writes_rows_events_and_offsets_together(lake: Lake) -> None:
    log = Log()
    rid = new_run_id()
    batch = log.records(
        [
            *deliver(run_started(rid), params(rid, lr="0.1")),
            *deliver(metrics(rid, [("loss", 1.0, 0, 5), ("loss", math.nan, 1, 6)])),
            b"not json",
        ]
    )
    _run(lake, batch, None)
    assert _one(lake, "SELECT count(*) FROM lake.events") == 3
    assert _one(lake, "SELECT count(*) FROM lake.metrics") == 2
    assert _one(lake, "SELECT next_offset FROM lake.consumer_offsets") == 4
    assert _one(lake, "SELECT reason FROM lake.rejected_events").startswith("not_json: ")  # type: ignore[union-attr]
    assert lake.con.execute(
        "SELECT value, step, min_value, max_value, count FROM lake.latest_metrics"
    ).fetchall()[0][1:] == (1, 1.0, 1.0, 2)
    assert _one(lake, "SELECT status FROM lake.runs") == "RUNNING"


def test_a_stale_member_is_fenced_off(lake: Lake) -> None:
    log = Log()
    rid = new_run_id()
    _run(lake, log.records(deliver(run_started(rid))), None)
    processor = BatchProcessor(LakeWriter(lake), artifact_root="s3://art")
    stale = processor.prepare(log.records(deliver(params(rid, a="1"))), {(TOPIC, 0): None})
    assert stale is None
    assert _one(lake, "SELECT count(*) FROM lake.params") == 0


def test_duplicates_already_in_the_lake_are_dropped(lake: Lake) -> None:
    log = Log()
    rid = new_run_id()
    batch = deliver(run_started(rid), metrics(rid, [("m", 1.0, 0, 0)]))
    _run(lake, log.records(list(batch)), None)
    _run(lake, log.records([batch[1]]), 2)  # the producer sent it again
    assert _one(lake, "SELECT count(*) FROM lake.metrics") == 1
    assert _one(lake, "SELECT count(*) FROM lake.events") == 2
    assert _one(lake, "SELECT next_offset FROM lake.consumer_offsets") == 3


def test_latest_metrics_in_sql_follow_the_core_rule(lake: Lake) -> None:
    rng = random.Random(7)
    log = Log()
    rid = new_run_id()
    _run(lake, log.records(deliver(run_started(rid))), None)
    sent: dict[str, list[tuple[float, int, int]]] = {}
    specials = [math.nan, 0.0, math.inf, -math.inf, 1.0]
    for _ in range(6):
        points = [
            (
                rng.choice("abc"),
                rng.choice([*specials, rng.uniform(-2, 2)]),
                rng.randrange(4),
                rng.randrange(3),
            )
            for _ in range(rng.randrange(1, 30))
        ]
        for key, value, step, ts in points:
            sent.setdefault(key, []).append((value, step, ts))
        before = log.offset
        _run(lake, log.records(deliver(metrics(rid, points))), before)  # type: ignore[arg-type]
    rows = lake.con.execute(
        "SELECT key, value, step, timestamp, min_value, max_value, count FROM lake.latest_metrics"
    ).fetchall()
    assert len(rows) == len(sent)
    for key, value, step, ts, lo, hi, count in rows:
        want = fold_latest(None, sent[key])
        assert want is not None
        assert (step, ts, count, lo, hi) == (
            want.step,
            want.timestamp,
            want.count,
            want.min_value,
            want.max_value,
        )
        assert repr(value) == repr(want.value)
