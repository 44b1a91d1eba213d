"""Lake maintenance beside the writer: it runs while batches commit, and loses nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from materializer_support import LakeProbe, materializer, messages, produce, wait_for
from test_materializer_crash import POINTS_PER_EVENT, _workload

from runstream.config import Settings
from runstream.events import EventType, make_event, new_run_id
from runstream.lake.connection import CATALOG, open_lake

OFFSETS = "SELECT sum(next_offset) FROM consumer_offsets"


@pytest.fixture
def lake(settings: Settings) -> Iterator[LakeProbe]:
    probe = LakeProbe(settings)
    yield probe
    probe.close()


def test_maintenance_while_batches_commit_loses_and_duplicates_nothing(
    settings: Settings, lake: LakeProbe, caplog: pytest.LogCaptureFixture
) -> None:
    events = _workload(10, 80)
    items = messages(settings, events)
    waves = [items[i : i + 5] for i in range(0, len(items), 5)]

    def producer() -> None:
        for wave in waves:
            produce(settings, wave)
            time.sleep(0.3)

    sender = threading.Thread(target=producer, daemon=True)
    with caplog.at_level(logging.INFO, logger="runstream.materializer"):
        # Small batches, many commits; maintenance every second with a short budget,
        # so passes (and their commits) land between and during the batches.
        with materializer(settings, max_events=5, maintenance_every_s=1.0,
                          maintenance_budget_s=3.0):
            sender.start()
            wait_for("every message", lambda: lake.scalar(OFFSETS), lambda n: n == len(items),
                     timeout_s=240)
            during = [r.getMessage() for r in caplog.records]
            wait_for("a maintenance pass after the last batch",
                     lambda: sum("maintenance: " in r.getMessage() for r in caplog.records),
                     lambda n: n > sum("maintenance: " in m for m in during), timeout_s=60)
        sender.join()
    passes = [m for m in during if "maintenance: MaintenanceReport" in m]
    assert passes, "no maintenance pass ran while batches were committing"
    assert not [m for m in during if "maintenance failed" in m]
    stored = [r[0] for r in lake.rows("SELECT event_id FROM events")]
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(stored) == {e.event_id for e in events}
    points = 80 * POINTS_PER_EVENT
    assert lake.count("metrics") == points
    distinct = lake.scalar(
        "SELECT count(*) FROM (SELECT DISTINCT run_id, key, step, timestamp FROM metrics)"
    )
    assert distinct == points, "a metric point was stored twice"
    assert lake.scalar("SELECT sum(count) FROM latest_metrics") == points
    assert lake.count("params") == 8
    assert lake.count("runs") == 10


def _lake_of_an_older_release(settings: Settings) -> None:
    """A lake whose ``runs`` lacked ``description`` and held a run in the catalog then.

    Opening it adds the column, so ``runs`` has inlined rows under two schema versions:
    a flush empties the older table and drops it, which DuckLake's other attaches
    (the writer's) do not notice (see ``stale_inlined_table``).
    """
    with open_lake(settings, read_only=False) as lake:
        lake.con.execute(f"INSERT INTO {CATALOG}.runs (run_id, experiment_id, status) "
                         "VALUES ('old-run', '0', 'FINISHED')")
        lake.con.execute(f"ALTER TABLE {CATALOG}.runs DROP COLUMN description")


def test_ingestion_goes_on_after_a_flush_drops_an_inlined_table_the_writer_knew(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _lake_of_an_older_release(settings)
    rid = new_run_id()
    started = make_event(
        EventType.RUN_STARTED,
        {"run_name": "r", "user_id": "u", "source_name": "s", "source_type": "JOB",
         "start_time": 1},
        run_id=rid, experiment_id="0",
    )
    ended = make_event(EventType.RUN_ENDED, {"status": "FINISHED", "end_time": 2}, run_id=rid)
    probe = LakeProbe(settings)
    status = "SELECT status FROM runs WHERE run_id = ?"
    try:
        with caplog.at_level(logging.INFO, logger="runstream.materializer"), \
                materializer(settings, maintenance_every_s=2.0):
            produce(settings, messages(settings, [started]))
            wait_for("the run", lambda: probe.rows(status, rid), lambda r: r == [("RUNNING",)])
            wait_for("a maintenance pass (it flushes runs)",
                     lambda: sum("maintenance: " in r.getMessage() for r in caplog.records),
                     lambda n: n > 0)
            # The writer read ``runs`` before the flush; this batch reads it again.
            produce(settings, messages(settings, [ended]))
            wait_for("the run's end", lambda: probe.rows(status, rid),
                     lambda r: r == [("FINISHED",)], timeout_s=90)
        assert probe.rows(status, "old-run") == [("FINISHED",)]
        assert any("attached the lake again" in r.getMessage() for r in caplog.records)
    finally:
        probe.close()
