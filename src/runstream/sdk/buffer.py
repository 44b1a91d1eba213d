"""The SDK's bounded buffer: where the caller's thread leaves events for the sender.

Two kinds of entries wait in one FIFO queue:

- :class:`EncodedEvent`: an event already validated and encoded in the caller's
  thread (params, tags, run start and end, artifacts, registry changes).
- :class:`MetricChunk`: the metric points of one run, kept as four growing columns
  so that thousands of ``log_metric`` calls become one ``run.metrics`` event.

Ordering. A run has at most one *open* chunk. Its first point puts the chunk in the
queue; later points of that run join it while it is open. A chunk closes when it is
full, when another event of the same run is queued (so metrics logged before a
``set_tag`` stay before it), or when the sender takes it. Hence every run's events
leave the buffer in the order they were logged.

Capacity. The buffer holds at most ``capacity`` items, a metric point or an event
counting one each, from the moment they are added until the sender settles them
(delivered or given up). When it is full the caller blocks until there is room, for
at most ``block_timeout_s``, then gets :class:`~runstream.errors.BufferFullError`.
Nothing is ever dropped silently.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runstream.errors import BufferFullError, DeliveryError
from runstream.events.limits import LIMITS

# Bytes one point adds to the JSON of a metrics event besides its key: a float in
# repr form, a step, a millisecond timestamp, quotes and commas. Steps beyond seven
# digits make the estimate low; the sender splits an event that ends up too large.
POINT_JSON_BYTES = 48
# Well under LIMITS.message_bytes, so that an under-estimate still fits one event.
CHUNK_MAX_BYTES = 768 * 1024


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """One encoded event waiting in the buffer.

    Attributes:
        registry: True for the registry topic, False for the events topic.
        key: the Kafka key (run id, experiment id or model name).
        value: the encoded event.
        event_type: the event type, for reports.
    """

    registry: bool
    key: bytes
    value: bytes
    event_type: str


class MetricChunk:
    """Metric points of one run, as the columns of a future ``run.metrics`` event."""

    __slots__ = ("keys", "nbytes", "run_id", "steps", "timestamps", "values")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.keys: list[str] = []
        self.values: list[float] = []
        self.steps: list[int] = []
        self.timestamps: list[int] = []
        self.nbytes = 0


Entry = EncodedEvent | MetricChunk


class EventBuffer:
    """A bounded, thread-safe FIFO of events and coalesced metric points.

    Args:
        capacity: most items (points plus events) held until settled.
        block_timeout_s: how long a caller waits for room before BufferFullError.
        on_pressure: called, without the lock held, when the sender should not
            wait for its linger: a chunk filled up, or a caller waits for room.
        max_points: points per metric chunk (``LIMITS.metric_points_per_event``).
    """

    def __init__(
        self,
        capacity: int,
        block_timeout_s: float,
        on_pressure: Callable[[], None],
        max_points: int = LIMITS.metric_points_per_event,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.block_timeout_s = block_timeout_s
        self._on_pressure = on_pressure
        self._max_points = max_points
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._settled_cond = threading.Condition(self._lock)
        self._queue: list[Entry] = []
        self._open: dict[str, MetricChunk] = {}
        self._pending = 0
        self.pending_points = 0
        self.enqueued = 0
        self.settled = 0
        self._closed = ""

    # -- the caller's side -------------------------------------------------------

    def add_metric(self, run_id: str, key: str, value: float, step: int, timestamp: int) -> None:
        """Adds one metric point of a run (the hot path: a lock and four appends).

        Raises:
            BufferFullError: the buffer stayed full for ``block_timeout_s``.
        """
        full = False
        with self._lock:
            if self._pending >= self.capacity:
                self._wait_for_room(1)
            chunk = self._open.get(run_id)
            if chunk is None:
                chunk = self._open[run_id] = MetricChunk(run_id)
                self._queue.append(chunk)
            chunk.keys.append(key)
            chunk.values.append(value)
            chunk.steps.append(step)
            chunk.timestamps.append(timestamp)
            chunk.nbytes += len(key) + POINT_JSON_BYTES
            self._pending += 1
            self.pending_points += 1
            self.enqueued += 1
            if len(chunk.keys) >= self._max_points or chunk.nbytes >= CHUNK_MAX_BYTES:
                del self._open[run_id]
                full = True
        if full:
            self._on_pressure()

    def add_event(self, event: EncodedEvent, run_id: str | None = None) -> None:
        """Adds an encoded event; for a run's event, closes that run's open chunk first.

        Raises:
            BufferFullError: the buffer stayed full for ``block_timeout_s``.
        """
        with self._lock:
            if self._pending >= self.capacity:
                self._wait_for_room(1)
            if run_id is not None:
                self._open.pop(run_id, None)
            self._queue.append(event)
            self._pending += 1
            self.enqueued += 1

    def _wait_for_room(self, needed: int) -> None:
        """Blocks (the lock held by the caller is released while waiting) until room."""
        if self._closed:
            raise DeliveryError(self._closed)
        deadline = time.monotonic() + self.block_timeout_s
        self._lock.release()
        try:
            self._on_pressure()
        finally:
            self._lock.acquire()
        while self._pending + needed > self.capacity:
            if self._closed:
                raise DeliveryError(self._closed)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BufferFullError(
                    f"the SDK buffer is full ({self._pending} of {self.capacity} items "
                    f"waiting for the broker) and stayed full for {self.block_timeout_s:g}s; "
                    "is the broker reachable? (raise RUNSTREAM_SDK_BUFFER_EVENTS or "
                    "RUNSTREAM_SDK_BUFFER_TIMEOUT_S to ride out longer outages)"
                )
            self._room.wait(remaining)

    def close(self, reason: str) -> None:
        """Refuses every later add with ``DeliveryError(reason)``.

        The capacity drops to zero, so the hot path needs no extra check: every add
        takes the full-buffer branch, which raises.
        """
        with self._lock:
            self._closed = reason
            self.capacity = 0
            self._room.notify_all()

    # -- the sender's side -------------------------------------------------------

    def take(self) -> list[Entry]:
        """Removes and returns every queued entry, in order; open chunks close."""
        with self._lock:
            entries, self._queue = self._queue, []
            self._open.clear()
        return entries

    def settle(self, items: int, points: int) -> None:
        """Frees the room of ``items`` taken entries' items (``points`` of them metric points).

        Called once per taken item, whether it was delivered or given up; waiting
        callers and flushes wake up.
        """
        with self._lock:
            self._pending -= items
            self.pending_points -= points
            self.settled += items
            self._room.notify_all()
            self._settled_cond.notify_all()

    @property
    def pending(self) -> int:
        """Items added and not yet settled (queued or being sent)."""
        return self._pending

    def wait_settled(self, target: int, timeout_s: float) -> bool:
        """Waits until ``target`` items in total were settled; False on timeout.

        Entries leave in FIFO order and a sender round settles all it took, so
        reaching ``target`` means every item added before :attr:`enqueued` was
        ``target`` has been settled.
        """
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self.settled < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._settled_cond.wait(remaining)
        return True


__all__ = [
    "CHUNK_MAX_BYTES",
    "POINT_JSON_BYTES",
    "EncodedEvent",
    "Entry",
    "EventBuffer",
    "MetricChunk",
]
