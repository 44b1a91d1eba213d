"""The broker goes away while a run logs: nothing the buffer holds may be lost.

The broker is the session's shared one; it is down for about three seconds. The
run's own topics (fixture ``settings``) survive the restart because Tansu keeps its
log in S3. The producer's request timeout is cut to one second so that aiokafka gives
up on batches during the outage and the SDK's own retries (with their per-run
ordering rule) do the work, not just aiokafka's internal ones.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import pytest
from test_sdk_helpers import metric_points, read_events

from runstream.config import Settings
from runstream.events import EventType
from runstream.kafka.admin import ensure_topics
from runstream.kafka.producer import KafkaEventProducer, ProducerOptions
from runstream.sdk.client import RunstreamClient
from runstream.sdk.sync import spool_status
from runstream.stack import LocalStack

POINTS_PER_PHASE = 5_000


def _log_phase(client: RunstreamClient, run_id: str, phase: int) -> float:
    """Logs one phase of points and a param; returns the slowest call in seconds."""
    slowest = 0.0
    for i in range(POINTS_PER_PHASE):
        started = time.perf_counter()
        client.log_metric(run_id, "loss", float(i), step=phase * POINTS_PER_PHASE + i)
        slowest = max(slowest, time.perf_counter() - started)
    client.log_param(run_id, f"phase{phase}", phase)
    client.set_tag(run_id, "phase", str(phase))
    return slowest


def test_events_logged_while_the_broker_is_down_are_delivered_after_it_returns(
    settings: Settings, stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="runstream.sdk")
    options = ProducerOptions(request_timeout_s=1.0)
    client = RunstreamClient(
        settings=settings,
        environ={},
        end_run_timeout_s=60.0,
        sink_factory=lambda: KafkaEventProducer(settings.bootstrap, options),
    )
    run_id = client.create_run("0", run_name="through-a-restart").info.run_id
    try:
        _log_phase(client, run_id, 0)
        client.flush(30)  # phase 0 is on the broker before it stops

        stack.broker().stop()
        try:
            outage_started = time.monotonic()
            slowest = _log_phase(client, run_id, 1)
            # The training loop never waits for the missing broker.
            assert slowest < 0.5
            time.sleep(max(0.0, 3.0 - (time.monotonic() - outage_started)))
            assert client.session.transport.buffer.pending > 0  # still held, not dropped
        finally:
            stack.start_broker()

        _log_phase(client, run_id, 2)
        client.set_terminated(run_id, "FINISHED")
        client.flush(60)
    finally:
        report = client.session.transport.close(30)
    assert report.ok, report
    assert "cannot deliver to the broker" in caplog.text  # said once, not per message
    assert "delivery to the broker at" in caplog.text and "resumed" in caplog.text

    events = read_events(settings.bootstrap, settings.topic_events, schema=False)
    run_events = {e.event_id: e for e in events if e.run_id == run_id}  # drop retry duplicates
    kinds = Counter(e.type for e in run_events.values())
    assert kinds[EventType.RUN_STARTED] == 1
    assert kinds[EventType.RUN_PARAMS] == 3
    assert kinds[EventType.RUN_TAGS] == 3
    assert kinds[EventType.RUN_ENDED] == 1
    steps = sorted(s for _, _, s, _ in metric_points(list(run_events.values()), run_id))
    assert steps == list(range(3 * POINTS_PER_PHASE))


def test_a_process_on_the_spool_goes_back_to_the_broker_on_its_own(
    settings: Settings, stack: LocalStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker is down from the first event: the spool takes over; when the broker is
    back, the SDK publishes the spool and sends on to the broker, with no ``runstream sync``."""
    caplog.set_level(logging.INFO, logger="runstream.sdk")
    ensure_topics(settings)
    spool = tmp_path / "spool"
    environ = {"RUNSTREAM_SPOOL_DIR": str(spool), "RUNSTREAM_SPOOL_RETRY_S": "1"}
    stack.broker().stop()
    client = RunstreamClient(settings=settings, environ=environ, end_run_timeout_s=60.0)
    try:
        try:
            run_id = client.create_run("0", run_name="spooled-then-back").info.run_id
            _log_phase(client, run_id, 0)
            client.flush(60)  # on the spool: delivered there
            assert client.session.transport.switch.on_spool
            assert spool_status(spool).keys[0].pending > 0
        finally:
            stack.start_broker()
        deadline = time.monotonic() + 60
        while client.session.transport.switch.on_spool:
            assert time.monotonic() < deadline, "the SDK did not go back to the broker"
            client.log_metric(run_id, "probe", 1.0, step=0)  # a round tries the way back
            client.flush(60)
            time.sleep(0.2)
        _log_phase(client, run_id, 1)
        client.set_terminated(run_id, "FINISHED")
        client.flush(60)
    finally:
        report = client.session.transport.close(30)
    assert report.ok, report
    assert "is back" in caplog.text
    assert all(k.pending == 0 for k in spool_status(spool).keys)

    events = read_events(settings.bootstrap, settings.topic_events, schema=False)
    run_events = [e for e in events if e.run_id == run_id]
    unique = {e.event_id: e for e in run_events}
    kinds = [e.type for e in unique.values()]
    assert kinds[0] == EventType.RUN_STARTED and kinds[-1] == EventType.RUN_ENDED
    assert Counter(kinds)[EventType.RUN_PARAMS] == 2
    points = metric_points(list(unique.values()), run_id)
    steps = sorted(s for k, _, s, _ in points if k == "loss")
    assert steps == list(range(2 * POINTS_PER_PHASE))
