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
