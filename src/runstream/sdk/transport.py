"""The SDK's transport: a bounded buffer drained by a sender thread with its own event loop.

The caller's thread only validates, encodes small events, and appends to the
:class:`~runstream.sdk.buffer.EventBuffer`; it never waits for the network unless the
buffer is full or it asks for a flush. One daemon thread runs an asyncio loop that
takes what is queued, turns metric chunks into columnar ``run.metrics`` events, and
delivers everything through an :class:`EventSink` (aiokafka in production, an
in-memory sink in unit tests). At interpreter exit every live transport is flushed
and anything that could not be delivered is reported with its count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from runstream.errors import DeliveryError, RunstreamError
from runstream.events.codec import encode
from runstream.events.models import Envelope, event_key, topic_kind
from runstream.kafka.producer import OutgoingMessage, SendFailure, SendResult
from runstream.sdk.buffer import EncodedEvent, Entry, EventBuffer, MetricChunk
from runstream.sdk.delivery import DeliveryReport, loud, track, untrack
from runstream.sdk.messages import PreparedMessage, prepare_entries
from runstream.sdk.read_after import WrittenPositions
from runstream.sdk.spool_switch import Recover, SpoolSwitch

logger = logging.getLogger("runstream.sdk")


class EventSink(Protocol):
    """Where the sender delivers messages (see ``runstream.kafka.producer``)."""

    async def start(self) -> None:
        """Connects; raises a RunstreamError when it cannot."""

    async def send_all(
        self, messages: Sequence[OutgoingMessage]
    ) -> Sequence[SendResult | None]:
        """Sends in order; one result per message.

        A delivered message reports its position (None where there is none, as in the
        offline spool); a failed one its :class:`SendFailure`.
        """

    async def stop(self) -> None:
        """Disconnects."""


@dataclass(frozen=True)
class TransportOptions:
    """How the transport buffers and retries.

    Attributes:
        topic_events: topic of experiment, run, artifact and model events.
        topic_registry: topic of registry events.
        destination: where events go, for messages (``broker at host:port``).
        capacity: items (metric points plus events) held until delivered.
        block_timeout_s: how long a call waits for room in a full buffer.
        linger_s: how long the sender lets events gather before a round.
        backoff_s: first pause after a failed attempt; doubles up to ``backoff_max_s``.
        backoff_max_s: longest pause between attempts.
        restart_after: failed attempts in a row after which the sink is recreated.
        exit_timeout_s: how long the interpreter-exit flush waits for the broker.
        fallback: makes the sink used once the broker is found unreachable (the
            offline spool); None: retry forever.
        fallback_after: failed attempts in a row before switching to ``fallback``
            when the broker never answered this process.
        fallback_after_s: how long an outage of a broker that did answer before lasts
            before switching (a restart of the broker is ridden out in the buffer).
        recover: publishes the spool to the broker (see ``runstream.sdk.spool_switch``);
            None: stay on the spool once there.
        recover_every_s: how often the way back is tried while on the spool.
    """

    topic_events: str
    topic_registry: str
    destination: str = "the broker"
    capacity: int = 500_000
    block_timeout_s: float = 30.0
    linger_s: float = 0.1
    backoff_s: float = 0.25
    backoff_max_s: float = 4.0
    restart_after: int = 3
    exit_timeout_s: float = 30.0
    fallback: Callable[[], EventSink] | None = None
    fallback_after: int = 3
    fallback_after_s: float = 60.0
    recover: Recover | None = None
    recover_every_s: float = 30.0


class Transport:
    """Delivers events to the broker from a background thread; see the module docstring.

    The constructor starts nothing; the thread starts with the first event.

    Args:
        sink_factory: makes a fresh sink (called in the sender thread, again after
            repeated failures).
        options: buffering and retry settings.
    """

    def __init__(self, sink_factory: Callable[[], EventSink], options: TransportOptions) -> None:
        self.options = options
        self._sink_factory = sink_factory
        self.buffer = EventBuffer(options.capacity, options.block_timeout_s, self._wake_soon)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._closing = False
        self._closed = False
        self._give_up_at = float("inf")
        self._urgent_until = 0
        self.delivered_events = 0
        self.undelivered_events = 0
        self.undelivered_points = 0
        self.last_error = ""
        self._outage_since: float | None = None
        self._primary = sink_factory
        self.switch = SpoolSwitch(
            options.destination,
            options.fallback_after,
            options.fallback_after_s,
            options.recover,
            options.recover_every_s,
        )
        self.positions = WrittenPositions()
        self._reached = False

    @property
    def destination(self) -> str:
        """Where events go (``the broker at host:port``), for messages and reports."""
        return self.options.destination

    # -- the caller's side -------------------------------------------------------------

    def metric_buffer(self) -> EventBuffer:
        """The buffer metric points go into, with the sender started (the fast path's door).

        The metric fast path (:class:`~runstream.sdk.metric_path.MetricPath`) asks once
        and then appends straight to the buffer: a point costs a lock and four appends,
        no call through the transport.

        Raises:
            DeliveryError: the transport is closed.
        """
        self._ensure_started()
        return self.buffer

    def publish(self, envelope: Envelope[Any]) -> None:
        """Encodes an event in the caller's thread and queues it.

        Raises:
            LimitExceededError: the encoded event is larger than the message limit.
            ValidationError: the event cannot be encoded.
            BufferFullError: the buffer stayed full past its timeout.
            DeliveryError: the transport is closed.
        """
        value = encode(envelope)
        event = EncodedEvent(
            topic_kind(envelope.type) == "registry",
            event_key(envelope),
            value,
            envelope.type.value,
        )
        self._ensure_started()
        self.buffer.add_event(event, run_id=envelope.run_id)

    def flush(self, timeout_s: float) -> None:
        """Waits until every event queued before this call is delivered.

        Raises:
            DeliveryError: not everything was delivered within ``timeout_s`` (it stays
                queued and the sender keeps trying), or some events were given up.
        """
        if self._thread is None:
            return
        given_up_before = self.undelivered_events
        target = self.buffer.enqueued
        self._urgent_until = target
        self._wake_soon()
        if not self.buffer.wait_settled(target, timeout_s):
            points = self.buffer.pending_points
            raise DeliveryError(
                f"{points} metric points and {self.buffer.pending - points} other events were "
                f"not delivered to {self.options.destination} within {timeout_s:g}s; they stay "
                "buffered and "
                f"the SDK keeps retrying (last error: {self.last_error or 'none'})"
            )
        if self.undelivered_events > given_up_before:
            raise DeliveryError(
                f"{self.undelivered_events - given_up_before} events could not be delivered "
                f"to {self.options.destination}: {self.last_error}"
            )

    def close(self, timeout_s: float | None = None) -> DeliveryReport:
        """Flushes, stops the sender and reports what could not be delivered.

        Args:
            timeout_s: how long to keep trying; ``options.exit_timeout_s`` by default.
        """
        timeout = self.options.exit_timeout_s if timeout_s is None else timeout_s
        with self._lock:
            thread, self._closing = self._thread, True
        self.buffer.close("the SDK transport is closed; no more events can be sent")
        if thread is not None and not self._closed:
            self._give_up_at = time.monotonic() + timeout
            self._urgent_until = self.buffer.enqueued
            self._wake_soon()
            thread.join(timeout + 10.0)
        self._closed = True
        untrack(self)
        left_items = self.buffer.pending
        left_points = self.buffer.pending_points
        return DeliveryReport(
            self.delivered_events,
            self.undelivered_events + (left_items - left_points),
            self.undelivered_points + left_points,
            self.last_error,
        )

    def _ensure_started(self) -> None:
        """Starts the sender thread once; refuses new events after close."""
        if self._thread is not None and not self._closing:
            return
        with self._lock:
            if self._closing:
                raise DeliveryError("the SDK transport is closed; no more events can be sent")
            if self._thread is None:
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(ready,), name="runstream-sender", daemon=True
                )
                self._thread.start()
                ready.wait(5.0)
                track(self)

    def _wake_soon(self) -> None:
        """Ends the sender's linger now (safe from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            # A loop that already stopped has nothing left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    # -- the sender thread ---------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(ready))
        finally:
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        ready.set()
        sink: EventSink | None = None
        try:
            while True:
                if self.buffer.settled >= self._urgent_until or not self.buffer.pending:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.options.linger_s)
                self._wake.clear()
                entries = self.buffer.take()
                if entries:
                    sink = await self._guarded_round(sink, entries)
                elif self._closing:
                    break
        finally:
            if sink is not None:
                await sink.stop()

    def _topics(self, registry: bool) -> str:
        return self.options.topic_registry if registry else self.options.topic_events

    async def _guarded_round(
        self, sink: EventSink | None, entries: list[Entry]
    ) -> EventSink | None:
        """Delivers one round and settles its items, whatever happens.

        An unexpected error (a bug, not a broker failure: those are retried) must
        not kill the sender thread, which would leave every later caller blocked on
        a full buffer: the round's items are reported as lost and the loop goes on.
        """
        items = sum(len(e.keys) if isinstance(e, MetricChunk) else 1 for e in entries)
        points = sum(len(e.keys) for e in entries if isinstance(e, MetricChunk))
        try:
            sink = await self._deliver(sink, prepare_entries(entries, self._topics))
        except Exception as exc:
            self.undelivered_events += len(entries)
            self.undelivered_points += points
            self.last_error = f"{type(exc).__name__}: {exc}"
            loud(
                f"runstream: internal error in the sender; {len(entries)} events "
                f"({points} metric points) are lost: {self.last_error}"
            )
        finally:
            self.buffer.settle(items, points)
        return sink

    async def _deliver(
        self, sink: EventSink | None, prepared: list[PreparedMessage]
    ) -> EventSink | None:
        """Delivers one round of messages, retrying until each is delivered or given up.

        The delivery contract of the SDK, kept here:

        1. Messages go out in the order they left the buffer; messages with the same
           key (a run, an experiment, a model) reach one partition in that order.
        2. The round waits for the result of every message.
        3. A message that failed for good (too large, not authorized, not encodable)
           is given up at once, counted as undelivered and reported loudly.
        4. When messages failed in a way a retry may fix (broker down, leader moving,
           timeout), then for each key the first failed message and *every later
           message of that key*, delivered or not, are sent again in order, so the
           log holds each key's events in order after any earlier partial copy.
           The duplicates this makes are dropped by event id in the materializer.
        5. Between attempts the sender waits with exponential backoff; after
           ``restart_after`` failed attempts in a row it recreates the sink (fresh
           connections and metadata).
        6. Retrying never stops while the process runs, however long the broker is
           down: callers feel it only as back-pressure from the full buffer. Only a
           close whose deadline has passed gives the remaining messages up, counted
           in the report. With a ``fallback`` (the offline spool), the messages still
           to send, in order, and every later round go to the fallback sink instead
           once the broker never answered for ``fallback_after`` attempts in a row,
           or an outage lasted ``fallback_after_s``; from there the way back is tried
           every ``recover_every_s`` (``runstream.sdk.spool_switch``).
        7. The caller settles the round's items only after this returns, and the next
           round starts only then, so rounds never overtake each other and a flush
           that sees its items settled knows every earlier item is settled too.
        """
        todo: list[PreparedMessage] = []
        for item in prepared:
            if item.failure is not None:
                self._give_up([item], item.failure)
            else:
                todo.append(item)
        failures_in_row = 0
        if todo:
            sink = await self._maybe_recover(sink)
        while todo:
            if sink is None:
                try:
                    candidate = self._sink_factory()
                    await candidate.start()
                    sink = candidate
                except RunstreamError as exc:
                    results: Sequence[SendResult | None] = [SendFailure(True, str(exc))] * len(
                        todo
                    )
                else:
                    self._reached = True
                    results = await sink.send_all([p.message for p in todo])
            else:
                results = await sink.send_all([p.message for p in todo])
            todo = self._after_attempt(todo, results)
            if not todo:
                self._end_outage()
                break
            failures_in_row += 1
            self._start_outage(len(todo))
            if self._should_fall_back(failures_in_row):
                if sink is not None:
                    await sink.stop()
                sink = None
                continue
            if time.monotonic() >= self._give_up_at:
                self._give_up(todo, SendFailure(False, f"gave up at exit: {self.last_error}"))
                break
            if sink is not None and failures_in_row % self.options.restart_after == 0:
                await sink.stop()
                sink = None
            delay = min(
                self.options.backoff_max_s, self.options.backoff_s * 2 ** (failures_in_row - 1)
            )
            delay = min(delay, max(0.0, self._give_up_at - time.monotonic()))
            await asyncio.sleep(delay)
        return sink

    def _should_fall_back(self, failures_in_row: int) -> bool:
        """Step 6's switch to the fallback sink, once (loudly)."""
        fallback = self.options.fallback
        if fallback is None or not self.switch.should_switch(
            self._reached, self._outage_since, failures_in_row
        ):
            return False
        self._sink_factory = fallback
        loud(
            f"runstream: {self.options.destination} cannot be reached ({self.last_error}); "
            "events now go to the offline spool (publish them later with `runstream sync`)"
        )
        return True

    async def _maybe_recover(self, sink: EventSink | None) -> EventSink | None:
        """On the spool, tries the way back to the broker now and then (step 6)."""
        if not self.switch.recovery_due() or not await self.switch.try_recover():
            return sink
        if sink is not None:
            await sink.stop()
        self._sink_factory = self._primary
        self._outage_since = None
        return None

    def _after_attempt(
        self, todo: list[PreparedMessage], results: Sequence[SendResult | None]
    ) -> list[PreparedMessage]:
        """Applies steps 3 and 4: returns what must be sent again, in order.

        A result that is not a :class:`SendFailure` means delivered (None, or the
        position the broker acknowledged, which is remembered for read-your-writes).
        """
        retry_from: dict[bytes, int] = {}
        for index, (item, result) in enumerate(zip(todo, results, strict=True)):
            if not isinstance(result, SendFailure):
                continue
            self.last_error = result.reason
            if not result.retriable:
                self._give_up([item], result)
            else:
                retry_from.setdefault(item.message.key, index)
        again: list[PreparedMessage] = []
        for index, (item, result) in enumerate(zip(todo, results, strict=True)):
            delivered = not isinstance(result, SendFailure)
            first = retry_from.get(item.message.key)
            retriable = delivered or (isinstance(result, SendFailure) and result.retriable)
            if first is not None and index >= first and retriable:
                again.append(item)
            elif delivered:
                self.positions.record(result)
                self.delivered_events += 1
        return again

    def _give_up(self, items: list[PreparedMessage], failure: SendFailure) -> None:
        """Counts messages as undelivered and says so loudly (step 3 and 6)."""
        events = len(items)
        points = sum(p.points for p in items)
        self.undelivered_events += events
        self.undelivered_points += points
        self.last_error = failure.reason
        kinds = sorted({p.event_type for p in items})
        loud(
            f"runstream: {events} events ({', '.join(kinds)}; {points} metric points) could "
            f"not be delivered to {self.options.destination} and are lost: {failure.reason}"
        )

    def _start_outage(self, waiting: int) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            logger.warning(
                "runstream: cannot deliver to %s (%s); %d messages wait and will be retried",
                self.options.destination,
                self.last_error,
                waiting,
            )

    def _end_outage(self) -> None:
        if self._outage_since is not None:
            logger.warning(
                "runstream: delivery to %s resumed after %.1fs",
                self.options.destination,
                time.monotonic() - self._outage_since,
            )
            self._outage_since = None


__all__ = ["EventSink", "Transport", "TransportOptions"]
