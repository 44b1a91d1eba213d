"""The prediction log: what a model server answered, published as ``predictions.logged``.

The contract (``runstream models serve --log-predictions RATE``):

1. Serving never waits on it: :meth:`PredictionLog.offer` samples (keeps a request
   with probability ``RATE``) and puts the record in a bounded queue without
   blocking; a full queue drops the record and counts it
   (``runstream_serving_prediction_log_dropped_total``).
2. A background thread takes what is queued every ``linger_s`` (or as soon as a
   batch is full), cuts each request and response text at
   ``LIMITS.prediction_payload_length`` characters (marking it ``truncated``), and
   publishes events of at most ``LIMITS.predictions_per_event`` records and about
   ``_EVENT_BYTES`` bytes, so no event reaches the broker's message limit.
3. A batch the broker does not take after ``attempts`` tries is dropped and
   counted; a down broker costs log records, never answers.
4. :meth:`PredictionLog.close` publishes what is queued, bounded by ``close_timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, Protocol

from runstream.events import EventType, encode, event_key, make_event
from runstream.events.limits import LIMITS
from runstream.kafka.producer import OutgoingMessage, SendFailure, SendResult

_log = logging.getLogger(__name__)
_EVENT_BYTES: Final = 900_000


class Producer(Protocol):
    """The broker's producer (``KafkaEventProducer``)."""

    async def start(self) -> None:
        """Connects."""

    async def send_all(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        """Sends, one result per message."""

    async def stop(self) -> None:
        """Closes."""


def _text(raw: bytes | str, limit: int) -> tuple[str, bool]:
    """At most ``limit`` characters of ``raw``, and whether anything was cut.

    Bytes are cut before decoding (a character is at most 4 bytes), so an 8 MB body
    costs no more than a short one on the event loop.
    """
    cut = False
    if isinstance(raw, bytes):
        cut = len(raw) > 4 * limit
        raw = raw[: 4 * limit].decode("utf-8", errors="replace")
    return (raw[:limit], True) if len(raw) > limit else (raw, cut)


def to_record(offered: dict[str, Any], served_at: int) -> dict[str, Any]:
    """One ``predictions.logged`` record from what the server offered (rule 2's cut)."""
    limit = LIMITS.prediction_payload_length
    request, cut_request = _text(offered["request"], limit)
    response, cut_response = _text(offered["response"], limit)
    return {
        "request_id": str(uuid.uuid4()),
        "served_at": served_at,
        "model_uri": offered["uri"],
        "model_name": offered.get("model_name"),
        "model_version": str(offered["version"]),
        "arm": offered["arm"],
        "status": int(offered["status"]),
        "latency_ms": float(offered["latency_ms"]),
        "request": request,
        "response": response,
        "truncated": cut_request or cut_response,
    }


def batches(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rule 2's split: by count and by an estimate of the encoded size."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for record in records:
        cost = len(record["request"]) * 2 + len(record["response"]) * 2 + 400
        if current and (size + cost > _EVENT_BYTES or len(current) >= LIMITS.predictions_per_event):
            out.append(current)
            current, size = [], 0
        current.append(record)
        size += cost
    if current:
        out.append(current)
    return out


class PredictionLog:
    """The server's ``PredictionSink`` (see the module docstring).

    Args:
        producer: makes the producer (called in the log's own thread).
        topic: the events topic.
        rate: the share of requests kept (0 < rate <= 1).
        on_drop: told how many records were dropped (for ``/metrics``).
        on_sent: told how many records were published.
        capacity: records the queue holds.
        linger_s: how long records gather before a batch goes out.
        attempts: tries per batch before it is dropped.
    """

    def __init__(
        self,
        producer: Callable[[], Producer],
        topic: str,
        rate: float,
        on_drop: Callable[[int], None],
        on_sent: Callable[[int], None] = lambda n: None,
        *,
        capacity: int = 10_000,
        linger_s: float = 0.5,
        attempts: int = 3,
        close_timeout_s: float = 5.0,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._rate = rate
        self._on_drop = on_drop
        self._on_sent = on_sent
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(capacity)
        self._linger_s = linger_s
        self._attempts = attempts
        self._close_timeout_s = close_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def offer(self, record: dict[str, Any]) -> None:
        """Rule 1: sample, then queue without blocking (or drop and count)."""
        if self._rate < 1.0 and random.random() >= self._rate:
            return
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(to_record(record, time.time_ns() // 1_000_000))
        except queue.Full:
            self._on_drop(1)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=lambda: asyncio.run(self._run()), name="prediction-log", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Rule 4."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._close_timeout_s + self._linger_s + 1)

    def _take(self) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self._linger_s
        taken: list[dict[str, Any]] = []
        while len(taken) < 10 * LIMITS.predictions_per_event:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                break
            try:
                taken.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        while self._stop.is_set() and len(taken) < 10 * LIMITS.predictions_per_event:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    async def _run(self) -> None:
        producer: Producer | None = None
        started = False
        stop_at: float | None = None
        try:
            while True:
                if self._stop.is_set() and stop_at is None:
                    stop_at = time.monotonic() + self._close_timeout_s
                taken = await asyncio.to_thread(self._take)
                if not taken:
                    if self._stop.is_set():
                        return
                    continue
                if not started:
                    producer = self._producer()  # a fresh one after a failed connect
                    started = await self._connect(producer)
                for batch in batches(taken):
                    sent = started and producer is not None and await self._send(producer, batch)
                    (self._on_sent if sent else self._on_drop)(len(batch))
                if stop_at is not None and time.monotonic() > stop_at:
                    return
        finally:
            if started and producer is not None:
                await producer.stop()

    async def _connect(self, producer: Producer) -> bool:
        try:
            await producer.start()
        except Exception as exc:  # rule 3: a down broker costs records, never answers
            _log.warning("prediction log: the broker cannot be reached (%s); dropping", exc)
            return False
        return True

    async def _send(self, producer: Producer, records: list[dict[str, Any]]) -> bool:
        event = make_event(EventType.PREDICTIONS_LOGGED, {"records": records})
        message = OutgoingMessage(self._topic, event_key(event), encode(event))
        for attempt in range(self._attempts):
            (result,) = await producer.send_all([message])
            if not isinstance(result, SendFailure):
                return True
            _log.warning("prediction log: a batch was not delivered (%s)", result.reason)
            await asyncio.sleep(0.2 * 2**attempt)
        return False


__all__ = ["PredictionLog", "batches", "to_record"]
