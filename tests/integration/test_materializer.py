"""The materializer end to end: real broker, real S3, real DuckLake."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from materializer_support import (
    LakeProbe,
    materializer,
    messages,
    produce,
    read_topic,
    wait_for,
)

from runstream.config import Settings
from runstream.events import Envelope, EventType, make_event, new_run_id
from runstream.materializer.rebuild import format_report, rebuild

OFFSETS = "SELECT sum(next_offset) FROM consumer_offsets"


@pytest.fixture
def lake(settings: Settings) -> Iterator[LakeProbe]:
    probe = LakeProbe(settings)
    yield probe
    probe.close()


def _run_events(rid: str, points: int) -> list[Envelope[Any]]:
    keys = [f"m{i % 4}" for i in range(points)]
    return [
        make_event(EventType.RUN_STARTED, {"run_name": "r", "user_id": "u", "source_name": "s",
                                           "source_type": "LOCAL", "start_time": 1},
                   run_id=rid, experiment_id="0"),
        make_event(EventType.RUN_PARAMS, {"params": [{"key": "lr", "value": "0.1"}]}, run_id=rid),
        make_event(
            EventType.RUN_METRICS,
            {"keys": keys, "values": [float(i) for i in range(points - 1)] + [math.nan],
             "steps": list(range(points)), "timestamps": [7] * points},
            run_id=rid,
        ),
        make_event(EventType.RUN_ENDED, {"status": "FINISHED", "end_time": 9}, run_id=rid),
    ]


def test_events_become_rows_and_bad_ones_go_to_the_dlq(
    settings: Settings, lake: LakeProbe
) -> None:
    rid = new_run_id()
    good = _run_events(rid, 1000)
    conflict = make_event(EventType.RUN_PARAMS, {"params": [{"key": "lr", "value": "0.2"}]},
                          run_id=rid)
    unknown = orjson.dumps({**orjson.loads(messages(settings, good[:1])[0][2]),
                            "type": "run.teleported"})
    oversized = b'{"x": "' + b"a" * (1_100_000) + b'"}'
    registry = [
        make_event(EventType.REGISTRY_MODEL_CREATED, {}, model_name="clf"),
        make_event(EventType.REGISTRY_VERSION_REQUESTED,
                   {"request_id": str(uuid.uuid4()), "source": "s3://b/m", "run_id": rid},
                   model_name="clf"),
    ]
    topic = settings.topic_events
    items = messages(settings, good[:2])
    items += [(topic, rid.encode(), b"{not json"), (topic, rid.encode(), unknown),
              (topic, rid.encode(), oversized)]
    items += messages(settings, [conflict, *good[2:], *registry])
    with materializer(settings):
        produce(settings, items)
        wait_for("4 rejected events", lambda: lake.count("rejected_events"), lambda n: n >= 4)
        wait_for("all events", lambda: lake.count("events"), lambda n: n >= 6)

    assert lake.count("metrics") == 1000
    assert lake.scalar("SELECT status FROM runs WHERE run_id = ?", rid) == "FINISHED"
    assert lake.rows("SELECT value FROM params WHERE run_id = ?", rid) == [("0.1",)]
    latest = lake.rows("SELECT key, step, count FROM latest_metrics ORDER BY key")
    assert latest == [("m0", 996, 250), ("m1", 997, 250), ("m2", 998, 250), ("m3", 999, 250)]
    assert math.isnan(lake.scalar("SELECT value FROM latest_metrics WHERE key = 'm3'"))
    assert lake.scalar("SELECT version FROM model_versions WHERE name = 'clf'") == 1
    reasons = sorted(r[0].split(":")[0] for r in lake.rows("SELECT reason FROM rejected_events"))
    assert reasons == ["not_json", "param_conflict", "too_large", "unknown_type"]
    # The offsets stored with the rows cover every message, rejected ones included.
    assert lake.scalar(
        "SELECT sum(next_offset) FROM consumer_offsets WHERE topic = ?", topic
    ) == len(items) - len(registry)

    letters = read_topic(settings, settings.topic_dlq, 4)
    headers = sorted(dict(m.headers)["runstream-reason"].decode().split(":")[0] for m in letters)
    assert headers == reasons
    assert oversized in {m.value for m in letters} or any(
        dict(m.headers).get("runstream-trimmed") for m in letters
    )


def test_duplicates_and_restarts_never_count_twice(settings: Settings, lake: LakeProbe) -> None:
    runs = [new_run_id() for _ in range(3)]
    events = [e for rid in runs for e in _run_events(rid, 200)]
    items = messages(settings, events)
    with materializer(settings):
        produce(settings, items)
        produce(settings, items[::2])  # a producer retrying half of its sends
        wait_for("all metrics", lambda: lake.count("metrics"), lambda n: n >= 600)
        wait_for("every offset", lambda: lake.scalar(OFFSETS),
                 lambda n: n == len(items) + len(items[::2]))
    with materializer(settings):  # a restart reads nothing again
        produce(settings, items[:1])
        wait_for("the last retry", lambda: lake.scalar(OFFSETS),
                 lambda n: n == len(items) + len(items[::2]) + 1)
    assert lake.count("metrics") == 600
    assert lake.count("events") == len(events)
    assert lake.scalar("SELECT sum(count) FROM latest_metrics") == 600
    assert lake.count("rejected_events") == 0
    status = lake.rows("SELECT member_id, rejected_total FROM materializer_status")
    assert status and all(r[1] == 0 for r in status)


def test_two_members_split_the_partitions_and_count_once(
    settings: Settings, lake: LakeProbe
) -> None:
    runs = [new_run_id() for _ in range(12)]
    events = [e for rid in runs for e in _run_events(rid, 100)]
    with materializer(settings), materializer(settings):
        produce(settings, messages(settings, events))
        wait_for("all metrics", lambda: lake.count("metrics"), lambda n: n >= 1200)
        wait_for("two members reporting",
                 lambda: lake.count("materializer_status"), lambda n: n >= 2)
    assert lake.count("metrics") == 1200
    assert lake.count("events") == len(events)
    assert lake.scalar("SELECT count(DISTINCT run_id) FROM runs WHERE status = 'FINISHED'") == 12


def test_rebuild_reproduces_a_live_lake_on_s3(settings: Settings, lake: LakeProbe) -> None:
    rid = new_run_id()
    registry = [
        make_event(EventType.REGISTRY_MODEL_CREATED, {"tags": {"a": "b"}}, model_name="m"),
        make_event(EventType.REGISTRY_VERSION_REQUESTED,
                   {"request_id": str(uuid.uuid4()), "source": "s3://b/m"}, model_name="m"),
        make_event(EventType.REGISTRY_STAGE_CHANGED,
                   {"version": 1, "stage": "Production", "archive_existing_versions": True},
                   model_name="m"),
    ]
    events = [*_run_events(rid, 300), *registry]
    # Keyed by the new name, a rename may sit on another partition than the model's
    # history: it goes on the log once that history is in the lake, as the gateway does.
    renamed = make_event(EventType.REGISTRY_MODEL_RENAMED, {"old_name": "m"}, model_name="m2")
    with materializer(settings):
        produce(settings, messages(settings, events))
        wait_for("all events", lambda: lake.count("events"), lambda n: n >= len(events))
        produce(settings, messages(settings, [renamed]))
        events.append(renamed)
        wait_for("the rename", lambda: lake.count("events"), lambda n: n >= len(events))
    names = "SELECT DISTINCT name FROM {} ORDER BY name"
    for table in ("model_versions", "registered_model_tags", "stage_transitions"):
        assert lake.rows(names.format(table)) == [("m2",)], table
    report = rebuild(settings)
    assert report.ok, format_report(report)
    assert report.events == len(events)
