"""The gateway's way onto the log: events out, acknowledged positions back.

Delivery contract of :meth:`Publisher.publish` (what a 200 from the gateway means):

1. The events of one request are encoded and handed to the producer in order; they
   share one key (one run, one experiment, one model), so they land in one
   partition in that order.
2. The call returns only when the broker has acknowledged every message with
   ``acks=all``; the positions it returns are what later reads wait for.
3. When the broker is down or slow, the call fails within ``timeout_s`` with
   :class:`~runstream.errors.BrokerError` (the gateway's 503): the producer's
   request timeout is short, and while a producer cannot connect, requests within
   ``retry_connect_s`` of the last failed attempt fail at once instead of queueing
   behind new attempts. Messages of a failed call that did reach
   the broker are harmless when the client retries: ids that matter are derived
   from the request (:mod:`runstream.gateway.ids`), the rest is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from runstream.core.positions import Position, TopicPartition
from runstream.errors import BrokerError
from runstream.events import Envelope, encode, event_key, topic_kind
from runstream.kafka.producer import OutgoingMessage, SendResult

log = logging.getLogger("runstream.gateway")


class Sink(Protocol):
    """What the publisher sends through (``runstream.kafka.producer.KafkaEventProducer``)."""

    async def start(self) -> None:
        """Connect; raises BrokerError when the broker does not answer."""
        ...

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send in order; one Position or SendFailure per message."""
        ...

    async def stop(self) -> None:
        """Disconnect."""
        ...


class Publisher:
    """Publishes events for the gateway; see the module docstring.

    The constructor opens nothing.

    Args:
        sink_factory: makes a fresh producer (a new one after a failed start).
        topic_events: topic of experiment and run events.
        topic_registry: topic of registry events.
        timeout_s: the longest one publish may take.
        retry_connect_s: pause after a failed connection before the next attempt.
    """

    def __init__(
        self,
        sink_factory: Callable[[], Sink],
        *,
        topic_events: str,
        topic_registry: str,
        timeout_s: float = 5.0,
        retry_connect_s: float = 1.0,
    ) -> None:
        self._factory = sink_factory
        self.topic_events = topic_events
        self.topic_registry = topic_registry
        self.timeout_s = timeout_s
        self.retry_connect_s = retry_connect_s
        self._sink: Sink | None = None
        self._lock: asyncio.Lock | None = None
        self._failed_at = float("-inf")
        self._failure = ""
        self._acknowledged: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        """Connect now if the broker is up; otherwise the first publish tries again."""
        try:
            await self._connected()
        except BrokerError as exc:
            log.warning("the broker is not reachable yet; writes answer 503 until it is: %s", exc)

    async def stop(self) -> None:
        """Close the producer."""
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.stop()

    async def _connected(self) -> Sink:
        if self._lock is None:
            self._lock = asyncio.Lock()
        if self._sink is not None:
            return self._sink
        async with self._lock:
            if self._sink is None:
                loop = asyncio.get_running_loop()
                if loop.time() - self._failed_at < self.retry_connect_s:
                    raise BrokerError(self._failure)
                sink = self._factory()
                try:
                    await sink.start()
                except BrokerError as exc:
                    self._failed_at, self._failure = loop.time(), str(exc)
                    raise
                self._sink = sink
            return self._sink

    def topic_of(self, envelope: Envelope[Any]) -> str:
        """The topic an event goes to."""
        registry = topic_kind(envelope.type) == "registry"
        return self.topic_registry if registry else self.topic_events

    async def publish(self, envelopes: Sequence[Envelope[Any]]) -> list[Position]:
        """Publish events and wait for the broker's acknowledgement (steps 1-3).

        Raises:
            BrokerError: the broker did not acknowledge every event in time.
        """
        if not envelopes:
            return []
        messages = [OutgoingMessage(self.topic_of(e), event_key(e), encode(e)) for e in envelopes]
        sink = await self._connected()
        try:
            results = await asyncio.wait_for(sink.send_all(messages), self.timeout_s)
        except TimeoutError as exc:
            raise BrokerError(
                f"the broker did not acknowledge the write within {self.timeout_s:g} s"
            ) from exc
        positions: list[Position] = []
        for result in results:
            if not isinstance(result, Position):
                raise BrokerError(f"the broker did not take the write: {result.reason}")
            positions.append(result)
        for position in positions:
            if position.offset > self._acknowledged.get(position.tp, -1):
                self._acknowledged[position.tp] = position.offset
        return positions

    def acknowledged(self) -> dict[TopicPartition, int]:
        """The highest offset the broker acknowledged per partition for this publisher."""
        return dict(self._acknowledged)


__all__ = ["Publisher", "Sink"]
