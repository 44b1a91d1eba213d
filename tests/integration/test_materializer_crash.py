"""Crash test: the materializer is SIGKILLed at random moments while it consumes.

A producer sends events with a ledger of their ids (and retries some of them);
materializer processes are killed and restarted. At the end the lake holds every
event of the ledger exactly once, and every metric point exactly once.
``RUNSTREAM_SLOW_TESTS=1`` runs the 20-kill version.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from materializer_support import LakeProbe, messages, produce, spawn_materializer, wait_for

from runstream.config import Settings
from runstream.events import Envelope, EventType, make_event, new_run_id

POINTS_PER_EVENT = 500


def _workload(runs: int, metric_events: int) -> list[Envelope[Any]]:
    events: list[Envelope[Any]] = []
    ids = [new_run_id() for _ in range(runs)]
    for rid in ids:
        events.append(make_event(
            EventType.RUN_STARTED,
            {"run_name": "r", "user_id": "u", "source_name": "s", "source_type": "JOB",
             "start_time": 1},
            run_id=rid, experiment_id="0",
        ))
    for i in range(metric_events):
        rid = ids[i % runs]
        events.append(make_event(
            EventType.RUN_METRICS,
            {"keys": ["loss", "acc"] * (POINTS_PER_EVENT // 2),
             "values": [float(i)] * POINTS_PER_EVENT,
             "steps": [i] * POINTS_PER_EVENT, "timestamps": list(range(POINTS_PER_EVENT))},
            run_id=rid,
        ))
        if i % 10 == 0:
            events.append(make_event(
                EventType.RUN_PARAMS, {"params": [{"key": f"p{i}", "value": "v"}]}, run_id=rid
            ))
    return events


def _crash_run(settings: Settings, tmp_path: Path, kills: int, metric_events: int) -> None:
    rng = random.Random(kills)
    events = _workload(20, metric_events)
    items = messages(settings, events)
    retried = rng.sample(items, len(items) // 20)  # producer retries: same bytes again
    waves = [items[i : i + 200] for i in range(0, len(items), 200)] + [retried]

    def producer() -> None:
        for wave in waves:
            produce(settings, wave)
            time.sleep(0.3)

    sender = threading.Thread(target=producer, daemon=True)
    sender.start()
    log = tmp_path / "materializer.log"
    lake = LakeProbe(settings)

    def progress() -> int:
        return int(lake.scalar("SELECT sum(next_offset) FROM consumer_offsets") or 0)

    total = len(items) + len(retried)
    try:
        for _ in range(kills):
            before = progress()
            # Small batches: many commits, so a kill lands before, during or after one.
            proc = spawn_materializer(settings, log, max_events=40)
            # A member killed a moment ago holds its partitions until its session
            # times out; on a loaded machine the rebalance after it can take a minute.
            wait_for("a committed batch", progress, lambda n, b=before: n > b or n == total,  # type: ignore[misc]
                     timeout_s=180)
            time.sleep(rng.uniform(0.0, 0.8))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        sender.join(120)
        proc = spawn_materializer(settings, log)
        try:
            wait_for(
                "every message in the lake's offsets",
                lambda: lake.scalar("SELECT sum(next_offset) FROM consumer_offsets"),
                lambda n: n == total,
                timeout_s=120,
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        ledger = {e.event_id for e in events}
        stored = [r[0] for r in lake.rows("SELECT event_id FROM events")]
        assert len(stored) == len(set(stored)), "an event was stored twice"
        assert set(stored) == ledger, "the lake and the ledger differ"
        points = metric_events * POINTS_PER_EVENT
        assert lake.count("metrics") == points
        assert lake.scalar("SELECT sum(count) FROM latest_metrics") == points
        assert lake.count("params") == (metric_events + 9) // 10
        assert lake.count("rejected_events") == 0
        assert progress() == total
    finally:
        lake.close()


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    _crash_run(settings, tmp_path, kills=3, metric_events=600)


@pytest.mark.slow
def test_twenty_kills(settings: Settings, tmp_path: Path) -> None:
    _crash_run(settings, tmp_path, kills=20, metric_events=4000)
