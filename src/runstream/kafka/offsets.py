"""The broker's end offsets, for the query service's read-your-writes wait.

Implements :class:`runstream.query.read.read_after.EndOffsets` (structurally; this
package does not import the query package). One aiokafka consumer without a
group asks ``ListOffsets`` for the latest offsets; it connects on first use and
again after a failure, so a query service may start before the broker. Every
call is bounded by ``timeout_s`` and raises :class:`~runstream.errors.BrokerError`
when the broker does not answer in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runstream.errors import BrokerError

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

TopicPartition = tuple[str, int]


class KafkaEndOffsets:
    """End offsets and partition counts through one group-less consumer.

    The constructor opens nothing.

    Args:
        bootstrap: ``host:port[,host:port]`` of the broker.
        timeout_s: the longest one call may take.
    """

    def __init__(self, bootstrap: str, timeout_s: float = 1.0) -> None:
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._counts: dict[str, int] = {}
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """Nothing to do until the first call (the broker may not be up yet)."""

    async def stop(self) -> None:
        """Close the consumer."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await self._close(consumer)

    async def _connected(self) -> AIOKafkaConsumer:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._consumer is not None:
                return self._consumer
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                client_id="runstream-query-offsets",
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=max(1000, int(self.timeout_s * 1000)),
            )
            try:
                await asyncio.wait_for(consumer.start(), self.timeout_s)
            except (KafkaError, OSError, TimeoutError) as exc:
                await self._close(consumer)
                raise BrokerError(
                    f"cannot reach the broker at {self.bootstrap} for end offsets: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self._consumer = consumer
            return consumer

    async def partition_count(self, topic: str) -> int:
        """Partitions of ``topic`` (cached once known).

        Raises:
            BrokerError: the broker did not answer, or does not know the topic.
        """
        if topic in self._counts:
            return self._counts[topic]
        from aiokafka.errors import KafkaError

        consumer = await self._connected()
        try:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await asyncio.wait_for(consumer.topics(), self.timeout_s)
                partitions = consumer.partitions_for_topic(topic)
        except (KafkaError, OSError, TimeoutError) as exc:
            await self._reset()
            raise BrokerError(f"no metadata for topic {topic}: {exc}") from exc
        if not partitions:
            raise BrokerError(f"the broker at {self.bootstrap} has no topic {topic}")
        self._counts[topic] = len(partitions)
        return len(partitions)

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset the broker will write in each partition.

        Raises:
            BrokerError: the broker did not answer within ``timeout_s``.
        """
        from aiokafka import TopicPartition as KafkaTopicPartition
        from aiokafka.errors import KafkaError

        if not partitions:
            return {}
        consumer = await self._connected()
        wanted = [KafkaTopicPartition(t, p) for t, p in partitions]
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(wanted), self.timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            await self._reset()
            raise BrokerError(f"end offsets from {self.bootstrap}: {exc}") from exc
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}

    async def _reset(self) -> None:
        """Drop the consumer after a failure; the next call connects afresh."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await self._close(consumer)

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        from aiokafka.errors import KafkaError

        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await asyncio.wait_for(consumer.stop(), self.timeout_s)


__all__ = ["KafkaEndOffsets"]
