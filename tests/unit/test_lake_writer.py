"""Batches through the real lake (DuckLake on a local folder, SQLite catalog)."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from lake_support import local_lake_settings
from projection_support import deliver, metrics, params, run_started

from runstream.config import Settings
from runstream.core.metrics import fold_latest
from runstream.core.projection import BatchResult, Delivered, StateKeys
from runstream.core.working import StateView
from runstream.events import encode, new_run_id
from runstream.events.records import Record
from runstream.lake.connection import Lake, open_lake
from runstream.lake.writer import EVENTS_INLINE_ROWS, LakeWriter
from runstream.materializer.batch import BatchProcessor

TOPIC = "t.events"


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return local_lake_settings(tmp_path)


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


# -- the duplicate check's memory (core.stored_ids) through the real lake ----------------------


class Topic:
    """Records at increasing offsets on several partitions of ``TOPIC``."""

    def __init__(self) -> None:
        self.offsets: dict[int, int] = {}

    def records(self, partition: int, items: Sequence[Delivered | bytes]) -> list[Record]:
        out = []
        for item in items:
            value = encode(item.event) if isinstance(item, Delivered) else item
            offset = self.offsets.get(partition, 0)
            out.append(Record(TOPIC, partition, offset, None, value))
            self.offsets[partition] = offset + 1
        return out


class Member:
    """One materializer process: its own connection and one BatchProcessor for every batch."""

    def __init__(self, lake: Lake) -> None:
        self.writer = LakeWriter(lake)
        self.processor = BatchProcessor(self.writer, artifact_root="s3://art")

    def batch(self, records: list[Record]) -> BatchResult:
        """Prepare and commit ``records``, expecting the offsets the lake holds."""
        partitions = {r.tp for r in records}
        stored = self.writer.stored_offsets(partitions)
        prepared = self.processor.prepare(records, {tp: stored.get(tp) for tp in partitions})
        assert prepared is not None
        self.processor.commit()
        return prepared.result


def _max_event_ids(lake: Lake) -> dict[int, str | None]:
    rows = lake.con.execute("SELECT partition, max_event_id FROM lake.consumer_offsets").fetchall()
    return {int(p): m for p, m in rows}


def _ids(items: list[Delivered]) -> list[str]:
    return [d.event.event_id for d in items]


def test_a_retry_several_batches_later_is_dropped(lake: Lake) -> None:
    topic = Topic()
    member = Member(lake)
    rid = new_run_id()
    first = deliver(metrics(rid, [("loss", 1.0, 0, 0)]))
    member.batch(topic.records(0, [*deliver(run_started(rid)), *first]))
    member.batch(topic.records(0, deliver(metrics(rid, [("loss", 2.0, 1, 1)]))))
    member.batch(topic.records(0, deliver(params(rid, lr="0.1"))))
    member.batch(topic.records(0, deliver(metrics(rid, [("loss", 3.0, 2, 2)]))))
    last = deliver(metrics(rid, [("loss", 4.0, 3, 3)]))
    result = member.batch(topic.records(0, [*first, *last]))  # the producer sent it again
    assert result.duplicates == 1
    assert _ids(result.accepted) == _ids(last)
    assert _one(lake, "SELECT count(*) FROM lake.events") == 6
    assert _one(lake, "SELECT count(DISTINCT event_id) FROM lake.events") == 6
    assert _one(lake, "SELECT count(*) FROM lake.metrics") == 4
    assert _one(lake, "SELECT count FROM lake.latest_metrics") == 4


def test_a_member_answers_retries_of_its_own_events_without_asking_the_lake(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = Topic()
    member = Member(lake)
    rid = new_run_id()
    started = deliver(run_started(rid))
    member.batch(topic.records(0, started))
    asked: list[frozenset[str]] = []
    load_state = member.writer.load_state

    def spy(keys: StateKeys) -> StateView:
        asked.append(keys.event_ids)
        return load_state(keys)

    monkeypatch.setattr(member.writer, "load_state", spy)
    points = deliver(metrics(rid, [("m", 1.0, 0, 0)]))
    member.batch(topic.records(0, points))
    result = member.batch(topic.records(0, [*started, *points]))
    assert result.duplicates == 2
    assert asked == [frozenset(), frozenset()]  # both batches answered from memory
    assert _one(lake, "SELECT count(*) FROM lake.events") == 2


def test_two_members_drop_each_others_duplicates_on_other_partitions(
    lake: Lake, local_settings: Settings
) -> None:
    topic = Topic()
    rid = new_run_id()
    with open_lake(local_settings, read_only=False) as other:
        a, b = Member(lake), Member(other)  # a reads partition 0, b partition 1
        a.batch(topic.records(0, deliver(run_started(rid))))
        b.batch(topic.records(1, deliver(params(rid, lr="0.1"))))
        from_a = deliver(metrics(rid, [("loss", 1.0, 0, 0)]))
        a.batch(topic.records(0, from_a))
        # After a partition-count change the producer's retry lands on b's partition.
        from_b = deliver(metrics(rid, [("loss", 2.0, 1, 1)]))
        result = b.batch(topic.records(1, [*from_a, *from_b]))
        assert (result.duplicates, _ids(result.accepted)) == (1, _ids(from_b))
        # ... and b's event comes back to a, which must notice that b committed.
        result = a.batch(topic.records(0, [*from_b, *deliver(params(rid, seed="1"))]))
        assert result.duplicates == 1
        assert len(result.accepted) == 1
    assert _one(lake, "SELECT count(*) FROM lake.events") == 5
    assert _one(lake, "SELECT count(DISTINCT event_id) FROM lake.events") == 5
    assert _one(lake, "SELECT count(*) FROM lake.metrics") == 2
    assert _one(lake, "SELECT count FROM lake.latest_metrics") == 2


def test_a_restarted_materializer_drops_a_retry_of_an_event_stored_before(
    lake: Lake, local_settings: Settings
) -> None:
    topic = Topic()
    rid = new_run_id()
    before = Member(lake)
    started = deliver(run_started(rid))
    before.batch(topic.records(0, started))
    stored = deliver(metrics(rid, [("loss", 1.0, 0, 0)]))
    before.batch(topic.records(0, stored))
    lake.close()
    with open_lake(local_settings, read_only=False) as reopened:
        after = Member(reopened)
        new = deliver(metrics(rid, [("loss", 2.0, 1, 1)]))
        result = after.batch(topic.records(0, [*started, *stored, *new]))
        assert (result.duplicates, _ids(result.accepted)) == (2, _ids(new))
        assert _one(reopened, "SELECT count(*) FROM lake.events") == 3
        assert _one(reopened, "SELECT count(*) FROM lake.metrics") == 2


def test_a_lake_from_an_older_release_without_max_event_ids_still_drops_retries(
    lake: Lake,
) -> None:
    topic = Topic()
    rid = new_run_id()
    early = deliver(run_started(rid))
    Member(lake).batch(topic.records(0, early))
    Member(lake).batch(topic.records(1, deliver(params(rid, lr="0.1"))))
    Member(lake).batch(topic.records(0, deliver(metrics(rid, [("loss", 1.0, 0, 0)]))))
    lake.con.execute("UPDATE lake.consumer_offsets SET max_event_id = NULL")
    new = deliver(metrics(rid, [("loss", 2.0, 1, 1)]))
    result = Member(lake).batch(topic.records(0, [*early, *new]))
    assert (result.duplicates, _ids(result.accepted)) == (1, _ids(new))
    assert _one(lake, "SELECT count(*) FROM lake.events") == 4
    assert _one(lake, "SELECT count(*) FROM lake.runs") == 1
    assert _max_event_ids(lake)[0] == new[0].event.event_id


def test_opening_a_lake_whose_offsets_lack_max_event_id_adds_the_column(
    lake: Lake, local_settings: Settings
) -> None:
    topic = Topic()
    rid = new_run_id()
    started = deliver(run_started(rid))
    Member(lake).batch(topic.records(0, started))
    lake.con.execute("ALTER TABLE lake.consumer_offsets DROP COLUMN max_event_id")
    lake.close()
    with open_lake(local_settings, read_only=False) as reopened:
        columns = [r[0] for r in reopened.con.execute("DESCRIBE lake.consumer_offsets").fetchall()]
        assert columns == ["topic", "partition", "next_offset", "max_event_id"]
        assert _max_event_ids(reopened) == {0: None}  # unknown, as written by the old release
        new = deliver(params(rid, lr="0.1"))
        result = Member(reopened).batch(topic.records(0, [*started, *new]))
        assert (result.duplicates, _ids(result.accepted)) == (1, _ids(new))
        assert _max_event_ids(reopened) == {0: new[0].event.event_id}
        assert _one(reopened, "SELECT next_offset FROM lake.consumer_offsets") == 3


def _data_files(lake: Lake, table: str) -> int:
    sql = "SELECT sum(file_count)::INTEGER FROM lake.table_info() WHERE table_name = ?"
    row = lake.con.execute(sql, [table]).fetchone()
    assert row is not None and isinstance(row[0], int)
    return row[0]


def _metric_files(lake: Lake) -> int:
    return _data_files(lake, "metrics")


def test_a_large_metrics_batch_goes_to_parquet_and_small_ones_stay_inlined(lake: Lake) -> None:
    topic = Topic()
    member = Member(lake)
    rid = new_run_id()
    member.batch(topic.records(0, deliver(run_started(rid))))
    big = [("loss", float(step), step, step) for step in range(1500)]
    member.batch(topic.records(0, deliver(metrics(rid, big))))
    assert _metric_files(lake) == 1
    small = [("loss", -1.0, 1500, 1500), ("acc", 0.5, 0, 0), ("acc", 0.75, 1, 1)]
    member.batch(topic.records(0, deliver(metrics(rid, small))))
    assert _metric_files(lake) == 1  # inlined in the catalog, no new tiny file
    member.batch(topic.records(0, deliver(metrics(rid, small[1:]))))
    assert _metric_files(lake) == 1
    rows = lake.con.execute(
        "SELECT key, value, step, timestamp FROM lake.metrics WHERE key = 'loss' ORDER BY step"
    ).fetchall()
    assert rows == [("loss", float(s), s, s) for s in range(1500)] + [("loss", -1.0, 1500, 1500)]
    assert lake.con.execute(
        "SELECT key, value, step, count FROM lake.latest_metrics ORDER BY key"
    ).fetchall() == [("acc", 0.75, 1, 4), ("loss", -1.0, 1500, 1501)]


def test_max_event_id_is_the_largest_accepted_id_of_each_partition(lake: Lake) -> None:
    topic = Topic()
    member = Member(lake)
    rid = new_run_id()
    started, points, later = deliver(
        run_started(rid), metrics(rid, [("m", 1.0, 0, 0)]), params(rid, lr="0.1")
    )
    refused = deliver(metrics(new_run_id(), [("m", 1.0, 0, 0)]))  # unknown run: rejected
    # Not in id order: the newest id is not the last record, the rejected one is newest.
    member.batch(topic.records(0, [started, later, points, *refused]))
    member.batch(topic.records(1, [b"not json"]))
    assert _max_event_ids(lake) == {0: later.event.event_id, 1: ""}
    again = member.batch(topic.records(0, [points, *deliver(params(new_run_id(), a="1"))]))
    assert (again.duplicates, again.accepted, len(again.rejections)) == (1, [], 1)
    other = deliver(params(rid, seed="1"), partition=1)
    member.batch(topic.records(1, [*other, *refused]))
    assert _max_event_ids(lake) == {0: later.event.event_id, 1: other[0].event.event_id}
    assert _one(lake, "SELECT next_offset FROM lake.consumer_offsets WHERE partition = 0") == 6


def _event_files(lake: Lake) -> int:
    return _data_files(lake, "events")


def test_raw_events_are_inlined_only_while_few_and_small(lake: Lake) -> None:
    topic = Topic()
    member = Member(lake)
    rid = new_run_id()
    member.batch(topic.records(0, deliver(run_started(rid), params(rid, a="1"))))
    assert _event_files(lake) == 0  # two small events: kept in the catalog
    # Five events of 900 points each: about 95 KB of payload, written as Parquet rather
    # than copied into the catalog database at commit.
    heavy = [
        metrics(rid, [("loss", float(i), step * 1000 + i, i) for i in range(900)])
        for step in range(5)
    ]
    member.batch(topic.records(0, deliver(*heavy)))
    assert _event_files(lake) == 1
    member.batch(topic.records(0, deliver(params(rid, b="2"))))
    assert _event_files(lake) == 1  # the default came back: small ones inlined again
    many = [params(rid, **{f"k{i}": "v"}) for i in range(EVENTS_INLINE_ROWS + 1)]
    member.batch(topic.records(0, deliver(*many)))
    assert _event_files(lake) == 2  # more than EVENTS_INLINE_ROWS events: a file
    assert _one(lake, "SELECT count(*) FROM lake.events") == 2 + 5 + 1 + EVENTS_INLINE_ROWS + 1
    assert _one(lake, "SELECT count(*) FROM lake.metrics") == 4500
