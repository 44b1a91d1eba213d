"""Publishing a few events from a service (the auth API): the producer behind a small sink.

The SDK batches millions of events through its own transport; a service that
publishes one change at a time needs only :class:`KafkaEventSink`: it connects
on first use, sends the events in order, and returns once the broker has all
of them (or raises).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from runstream.errors import BrokerError
from runstream.events import Envelope, encode, event_key, topic_kind
from runstream.kafka.producer import (
    KafkaEventProducer,
    OutgoingMessage,
    ProducerOptions,
    SendFailure,
)


class KafkaEventSink:
    """Publishes events to the events or registry topic of their type."""

    def __init__(self, bootstrap: str, topic_events: str, topic_registry: str) -> None:
        self._producer = KafkaEventProducer(
            bootstrap, ProducerOptions(client_id="runstream-service", linger_ms=0)
        )
        self._topics = {"events": topic_events, "registry": topic_registry}
        self._started = False
        self._lock = asyncio.Lock()

    async def publish(self, events: Sequence[Envelope[Any]]) -> None:
        """Send ``events`` in order and wait for the broker's acknowledgement of each.

        Raises:
            BrokerError: the broker is unreachable or refused one of them.
        """
        async with self._lock:
            if not self._started:
                await self._producer.start()
                self._started = True
        messages = [
            OutgoingMessage(self._topics[topic_kind(e.type)], event_key(e), encode(e))
            for e in events
        ]
        results = await self._producer.send_all(messages)
        failures = [f for f in results if isinstance(f, SendFailure)]
        if failures:
            raise BrokerError(f"the broker did not take the change: {failures[0].reason}")

    async def close(self) -> None:
        """Close the connection (safe if never opened)."""
        await self._producer.stop()


__all__ = ["KafkaEventSink"]
