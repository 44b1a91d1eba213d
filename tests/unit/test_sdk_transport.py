"""The transport's delivery contract, against an in-memory sink that can fail."""

from __future__ import annotations

import math

import pytest
from test_sdk_unit_support import MemorySink, sink_factory

from runstream.errors import DeliveryError
from runstream.events import EventType, make_event
from runstream.events.ids import new_run_id
from runstream.kafka.producer import OutgoingMessage, SendFailure
from runstream.sdk.transport import Transport, TransportOptions


def _transport(sink: MemorySink, **options: float) -> Transport:
    settings: dict[str, float] = {"backoff_s": 0.01, "backoff_max_s": 0.05, "linger_s": 0.02}
    settings.update(options)
    opts = TransportOptions("events", "registry", capacity=100_000, **settings)  # type: ignore[arg-type]
    return Transport(sink_factory(sink), opts)


def _tag_event(run_id: str, value: str) -> object:
    body = {"tags": [{"key": "k", "value": value}]}
    return make_event(EventType.RUN_TAGS, body, run_id=run_id)


def test_flush_delivers_every_point_in_columnar_events() -> None:
    sink = MemorySink()
    transport = _transport(sink)
    run_id = new_run_id()
    values = [float(i) for i in range(25_000)] + [math.nan, math.inf, -math.inf]
    for step, value in enumerate(values):
        transport.metric_buffer().add_metric(run_id, "loss", value, step, 1_700_000_000_000)
    transport.flush(10)
    events = sink.events()
    assert all(e.type == EventType.RUN_METRICS for e in events)
    assert 3 <= len(events) <= 5  # 10,000 points per event at most
    got = [v for e in events for v in e.body.values]
    assert got[:25_000] == values[:25_000]
    assert math.isnan(got[25_000]) and got[25_001:] == [math.inf, -math.inf]
    assert transport.close(1).ok


def test_retriable_failures_are_retried_until_delivered() -> None:
    sink = MemorySink()
    sink.fail_next = 3
    transport = _transport(sink)
    run_id = new_run_id()
    transport.publish(_tag_event(run_id, "a"))  # type: ignore[arg-type]
    transport.metric_buffer().add_metric(run_id, "x", 1.0, 0, 1)
    transport.flush(10)
    assert sink.attempts >= 4
    assert [e.type for e in sink.events()] == [EventType.RUN_TAGS, EventType.RUN_METRICS]


def test_a_retry_resends_the_rest_of_the_key_so_the_last_copies_are_in_order() -> None:
    sink = MemorySink()
    run_a, run_b = new_run_id(), new_run_id()
    failed_once: set[bytes] = set()

    def fail_second_of_a(message: OutgoingMessage) -> SendFailure | None:
        # The second event of run A fails once; its later events succeed at first.
        if b'"value":"a2"' in message.value and message.value not in failed_once:
            failed_once.add(message.value)
            return SendFailure(True, "leader moved (simulated)")
        return None

    sink.fail_when = fail_second_of_a
    transport = _transport(sink, linger_s=0.5)
    for value in ("a1", "a2", "a3"):
        transport.publish(_tag_event(run_a, value))  # type: ignore[arg-type]
        transport.publish(_tag_event(run_b, value.replace("a", "b")))  # type: ignore[arg-type]
    transport.flush(10)
    delivered = [(e.run_id, e.body.tags[0].value) for e in sink.events()]
    a_values = [v for r, v in delivered if r == run_a]
    # a3 went through before a2's retry, then a2 and a3 were sent again in order.
    assert a_values == ["a1", "a3", "a2", "a3"]
    assert [v for r, v in delivered if r == run_b] == ["b1", "b2", "b3"]
    ids = [e.event_id for e in sink.events() if e.run_id == run_a]
    assert len(set(ids)) == 3  # duplicates carry the same event id


def test_permanent_failures_are_given_up_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    sink = MemorySink()
    sink.fail_when = lambda m: SendFailure(False, "MessageSizeTooLargeError (simulated)")
    transport = _transport(sink)
    run_id = new_run_id()
    transport.metric_buffer().add_metric(run_id, "x", 1.0, 0, 1)
    transport.metric_buffer().add_metric(run_id, "x", 2.0, 1, 1)
    with pytest.raises(DeliveryError, match="1 events could not be delivered"):
        transport.flush(5)
    assert "2 metric points) could not be delivered" in caplog.text
    report = transport.close(1)
    assert (report.undelivered_events, report.undelivered_points) == (1, 2)


def test_close_gives_up_at_its_deadline_and_counts_what_is_lost() -> None:
    sink = MemorySink()
    sink.fail_next = 10_000  # the broker never comes back
    transport = _transport(sink)
    run_id = new_run_id()
    transport.publish(_tag_event(run_id, "a"))  # type: ignore[arg-type]
    for step in range(10):
        transport.metric_buffer().add_metric(run_id, "x", 1.0, step, 1)
    expected = r"10 metric points and 1 other events were not delivered .* within 0.2s"
    with pytest.raises(DeliveryError, match=expected):
        transport.flush(0.2)
    report = transport.close(0.3)
    assert not report.ok
    assert report.undelivered_points == 10
    assert report.undelivered_events == 2
    assert "were NOT delivered" in report.describe("the broker")
    with pytest.raises(DeliveryError, match="closed"):
        transport.publish(_tag_event(run_id, "late"))  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="closed"):
        transport.metric_buffer().add_metric(run_id, "x", 1.0, 99, 1)


def test_a_chunk_too_large_for_one_message_is_split() -> None:
    sink = MemorySink()
    transport = _transport(sink)
    run_id = new_run_id()
    long_key = "k" * 250
    # 250-character keys beat the per-point size estimate: 10,000 points would be
    # about 2.7 MB, over the 1 MiB message limit, so the sender splits the chunk.
    buffer = transport.buffer
    transport.metric_buffer().add_metric(run_id, long_key, 0.0, 0, 1)
    buffer._max_points = 10_000
    for step in range(1, 3_500):
        transport.metric_buffer().add_metric(run_id, long_key, float(step), step, 1)
    transport.flush(10)
    events = sink.events()
    assert sum(len(e.body.keys) for e in events) == 3_500
    assert all(len(m.value) <= 1_048_576 for m in sink.messages)


def test_an_unexpected_sender_error_loses_only_its_round(caplog: pytest.LogCaptureFixture) -> None:
    sink = MemorySink()
    calls = {"n": 0}

    def explode_once(message: OutgoingMessage) -> SendFailure | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bug in a sink")
        return None

    sink.fail_when = explode_once
    transport = _transport(sink)
    run_id = new_run_id()
    transport.metric_buffer().add_metric(run_id, "x", 1.0, 0, 1)
    with pytest.raises(DeliveryError, match="bug in a sink"):
        transport.flush(5)
    assert "internal error in the sender" in caplog.text
    transport.metric_buffer().add_metric(run_id, "x", 2.0, 1, 1)  # the sender thread is still alive
    transport.flush(5)
    assert [e.body.values for e in sink.events()] == [(2.0,)]
    transport.close(1)
