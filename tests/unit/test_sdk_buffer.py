"""The SDK buffer: coalescing per run, order, and the full-buffer policy."""

from __future__ import annotations

import threading
import time

import pytest

from runstream.errors import BufferFullError
from runstream.sdk.buffer import EncodedEvent, EventBuffer, MetricChunk


def _event(name: str) -> EncodedEvent:
    return EncodedEvent(False, b"k", name.encode(), name)


def _buffer(capacity: int = 1000, timeout: float = 1.0, max_points: int = 10_000) -> EventBuffer:
    return EventBuffer(capacity, timeout, lambda: None, max_points=max_points)


def test_points_of_one_run_coalesce_into_one_chunk() -> None:
    buffer = _buffer()
    for step in range(5):
        buffer.add_metric("r1", "loss", 0.5, step, 1000 + step)
    entries = buffer.take()
    assert len(entries) == 1
    chunk = entries[0]
    assert isinstance(chunk, MetricChunk)
    assert chunk.steps == [0, 1, 2, 3, 4]
    assert chunk.timestamps == [1000, 1001, 1002, 1003, 1004]


def test_another_event_of_the_run_closes_its_chunk_so_order_is_kept() -> None:
    buffer = _buffer()
    buffer.add_metric("r1", "loss", 1.0, 0, 1)
    buffer.add_metric("r2", "acc", 0.1, 0, 1)
    buffer.add_event(_event("tag"), run_id="r1")
    buffer.add_metric("r1", "loss", 2.0, 1, 2)  # after the tag: a new chunk
    buffer.add_metric("r2", "acc", 0.2, 1, 2)  # r2's chunk is still open
    kinds = [
        (e.run_id, e.values) if isinstance(e, MetricChunk) else e.event_type for e in buffer.take()
    ]
    assert kinds == [("r1", [1.0]), ("r2", [0.1, 0.2]), "tag", ("r1", [2.0])]


def test_a_full_chunk_closes_and_wakes_the_sender() -> None:
    woken: list[int] = []
    buffer = EventBuffer(100, 1.0, lambda: woken.append(1), max_points=3)
    for step in range(7):
        buffer.add_metric("r1", "x", 1.0, step, 1)
    sizes = [len(e.keys) for e in buffer.take() if isinstance(e, MetricChunk)]
    assert sizes == [3, 3, 1]
    assert len(woken) == 2


def test_full_buffer_blocks_then_raises_buffer_full_error() -> None:
    buffer = _buffer(capacity=3, timeout=0.3)
    for step in range(3):
        buffer.add_metric("r1", "x", 1.0, step, 1)
    started = time.monotonic()
    with pytest.raises(BufferFullError, match=r"stayed full for 0.3s"):
        buffer.add_metric("r1", "x", 1.0, 3, 1)
    assert time.monotonic() - started >= 0.3
    with pytest.raises(BufferFullError):
        buffer.add_event(_event("tag"), run_id="r1")
    assert buffer.pending == 3  # nothing was dropped, nothing was added


def test_a_blocked_caller_resumes_when_the_sender_settles() -> None:
    buffer = _buffer(capacity=2, timeout=5.0)
    buffer.add_metric("r1", "x", 1.0, 0, 1)
    buffer.add_metric("r1", "x", 1.0, 1, 1)
    taken = buffer.take()

    def settle_later() -> None:
        time.sleep(0.2)
        buffer.settle(2, 2)

    threading.Thread(target=settle_later).start()
    started = time.monotonic()
    buffer.add_metric("r1", "x", 1.0, 2, 1)  # blocks until settle_later runs
    assert 0.15 < time.monotonic() - started < 4.0
    assert len(taken) == 1 and buffer.pending == 1


def test_wait_settled_reports_timeout_and_success() -> None:
    buffer = _buffer()
    buffer.add_event(_event("a"))
    target = buffer.enqueued
    assert not buffer.wait_settled(target, 0.05)
    buffer.take()
    buffer.settle(1, 0)
    assert buffer.wait_settled(target, 0.05)
