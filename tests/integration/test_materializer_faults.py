"""A service goes away while the materializer runs: it waits and goes on.

These tests stop SeaweedFS (which the broker, Tansu, also stores its log in) or the
broker itself, so they run on a private stack rather than the session's shared one.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from materializer_support import (
    LakeProbe,
    materializer,
    messages,
    produce,
    spawn_materializer,
    wait_for,
)
from test_materializer_crash import POINTS_PER_EVENT, _workload

from runstream.config import Ports, Settings, load_settings
from runstream.kafka.admin import ensure_topics
from runstream.stack import LocalStack, free_ports


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("faults-home")
    names = [f.name for f in dataclasses.fields(Ports)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
    stack = LocalStack(load_settings(env, home=home, ports=ports, partitions=4))
    stack.up()
    try:
        yield stack
    finally:
        stack.down()


def _private_settings(stack: LocalStack, tmp_path: Path) -> Settings:
    """Fresh topics and a fresh lake on the private stack, for one test."""
    base = stack.settings
    tag = uuid.uuid4().hex[:8]
    settings: Settings = dataclasses.replace(
        base,
        topic_prefix=f"f{tag}",
        lake_catalog=str(tmp_path / "catalog.sqlite"),
        lake_data_path=f"s3://{base.lake_bucket}/f{tag}/",
        home=tmp_path / "home",
    )
    ensure_topics(settings)
    return settings


def test_an_object_store_outage_delays_but_loses_nothing(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = _private_settings(private_stack, tmp_path)
    events = _workload(10, 300)
    items = messages(settings, events)
    produce(settings, items)
    lake = LakeProbe(settings)
    try:
        with materializer(settings, max_events=15, retry_max_s=2.0):
            wait_for("a first batch", lambda: lake.count("events"), lambda n: n > 0)
            private_stack.s3().kill()
            time.sleep(10)
            private_stack.start_s3()
            wait_for(
                "every message",
                lambda: lake.scalar("SELECT sum(next_offset) FROM consumer_offsets"),
                lambda n: n == len(items),
                timeout_s=120,
            )
        assert lake.count("events") == len(events)
        assert lake.count("metrics") == 300 * POINTS_PER_EVENT
        assert lake.scalar("SELECT sum(count) FROM latest_metrics") == 300 * POINTS_PER_EVENT
    finally:
        lake.close()


def test_a_broker_restart_delays_but_loses_nothing(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = _private_settings(private_stack, tmp_path)
    events = _workload(10, 300)
    items = messages(settings, events)
    half = len(items) // 2
    produce(settings, items[:half])
    lake = LakeProbe(settings)
    broker = private_stack.broker()
    try:
        # Small batches: the first half is still being read when the broker goes.
        with materializer(settings, max_events=5, retry_max_s=2.0) as thread:
            wait_for("a first batch", lambda: lake.count("events"), lambda n: n > 0)
            pid = broker.pid()
            assert pid is not None
            # SIGKILL: on SIGTERM Tansu serves on for about 5 s, long enough to drain
            # the first half, so the outage would no longer land mid-stream.
            broker.kill()
            assert broker.pid() is None
            assert lake.count("events") < half, "the outage should land mid-stream"
            time.sleep(8)
            private_stack.start_broker()
            assert broker.pid() not in (None, pid)
            assert thread.is_alive(), "the materializer gave up during the outage"
            produce(settings, items[half:])  # the rest only exists after the restart
            wait_for(
                "every message",
                lambda: lake.scalar("SELECT sum(next_offset) FROM consumer_offsets"),
                lambda n: n == len(items),
                timeout_s=90,
            )
        stored = [r[0] for r in lake.rows("SELECT event_id FROM events")]
        assert len(stored) == len(set(stored)), "an event was stored twice"
        assert set(stored) == {e.event_id for e in events}, "the lake and the ledger differ"
        assert lake.count("events") == len(events)
        assert lake.count("metrics") == 300 * POINTS_PER_EVENT
        assert lake.scalar("SELECT sum(count) FROM latest_metrics") == 300 * POINTS_PER_EVENT
    finally:
        lake.close()


def _status_lines(log: Path) -> int:
    """How many periodic status lines (``... lag=N``) a materializer log holds."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return sum(1 for line in text.splitlines() if " lag=" in line)


def _log_tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-15:])


def test_with_broker_and_store_gone_it_reports_and_stops_on_sigterm(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    settings = _private_settings(private_stack, tmp_path)
    items = messages(settings, _workload(10, 300))
    produce(settings, items)
    lake = LakeProbe(settings)
    log = tmp_path / "materializer.log"
    proc = spawn_materializer(
        settings, log, max_events=5, retry_max_s=2.0, status_every_s=1.0,
        idle_status_every_s=1.0,
    )

    def status_written() -> int:
        return int(lake.scalar("SELECT max(updated_at) FROM materializer_status") or 0)

    try:
        wait_for("a first batch", lambda: lake.count("events"), lambda n: n > 0)
        private_stack.broker().kill()
        time.sleep(3)  # fetches, Kafka commits and the group's heartbeat now fail
        seen = status_written()
        wait_for("a status row written with the broker gone", status_written,
                 lambda t: t > seen, timeout_s=15)
        lake.close()
        private_stack.s3().kill()
        time.sleep(3)
        before = _status_lines(log)
        time.sleep(6)
        assert _status_lines(log) >= before + 3, (
            f"the status line stopped with the broker and the store gone:\n{_log_tail(log)}"
        )
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"SIGTERM ignored for 60 s with broker and store gone:\n{_log_tail(log)}")
        took = time.monotonic() - started
        assert took <= 10.0, f"stopped {took:.1f} s after SIGTERM:\n{_log_tail(log)}"
        assert proc.returncode == 0, _log_tail(log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        lake.close()
        private_stack.start_s3()
        private_stack.start_broker()
