"""The live tail's reader of the log: partitions of one topic from given offsets, no group.

:class:`KafkaLogTail` implements :class:`runstream.query.live.port.LogTail`; the
composition root (``runstream serve``) hands one to the query service, which never
imports this package. Each tail reader is a consumer of its own, outside any
consumer group (nothing is committed, no rebalance), assigned the partitions it was
asked for and seeked to the given offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from runstream.errors import BrokerError
from runstream.kafka.records import Record

# One event is at most 1 MiB (core.limits); a fetch must hold the largest.
_PARTITION_FETCH_BYTES = 4 * 1024 * 1024


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition the producer's default partitioner sends ``key`` to (Kafka's murmur2)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class TailReader:
    """Records of the assigned partitions, in offset order per partition."""

    def __init__(self, consumer: AIOKafkaConsumer, bootstrap: str) -> None:
        self._consumer = consumer
        self._bootstrap = bootstrap

    async def poll(self, timeout_s: float, max_records: int = 500) -> list[Record]:
        """Up to ``max_records`` new records, waiting at most ``timeout_s`` for the first.

        Raises:
            BrokerError: the fetch failed.
        """
        try:
            batches = await self._consumer.getmany(
                timeout_ms=int(timeout_s * 1000), max_records=max_records
            )
        except KafkaError as exc:
            raise BrokerError(f"live tail fetch from {self._bootstrap} failed: {exc}") from exc
        out: list[Record] = []
        for tp, messages in batches.items():
            out.extend(
                Record(tp.topic, tp.partition, m.offset, m.key, m.value, m.timestamp or 0)
                for m in messages
            )
        return out


class KafkaLogTail:
    """Reads one topic's partitions from offsets the caller gives (the events topic).

    The constructor opens nothing; each :meth:`reader` opens a consumer and closes it.
    """

    def __init__(self, bootstrap: str, topic: str, *, timeout_s: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self._partitions: int | None = None
        self._lock = asyncio.Lock()

    async def partition_count(self) -> int:
        """How many partitions the topic has (asked once, then remembered).

        Raises:
            BrokerError: the broker did not answer, or has no such topic.
        """
        async with self._lock:
            if self._partitions is None:
                self._partitions = await self._describe()
            return self._partitions

    async def _describe(self) -> int:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap,
            request_timeout_ms=int(self.timeout_s * 1000),
            client_id="runstream-live",
        )
        try:
            await asyncio.wait_for(admin.start(), self.timeout_s)
            topics = await asyncio.wait_for(admin.describe_topics([self.topic]), self.timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise BrokerError(
                f"live tail: the broker at {self.bootstrap} did not describe {self.topic}: {exc}"
            ) from exc
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(admin.close(), self.timeout_s)
        found = [t for t in topics if t.get("topic") == self.topic and not t.get("error_code")]
        if not found or not found[0].get("partitions"):
            raise BrokerError(f"live tail: topic {self.topic} does not exist on {self.bootstrap}")
        return len(found[0]["partitions"])

    async def partition_of(self, key: str) -> int:
        """The partition holding the events keyed ``key`` (a run id)."""
        return partition_for_key(key.encode(), await self.partition_count())

    @contextlib.asynccontextmanager
    async def reader(self, starts: Mapping[int, int]) -> AsyncIterator[TailReader]:
        """A reader of ``starts``' partitions, each from its offset (the next one to read).

        Raises:
            BrokerError: the broker did not answer in time.
        """
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            client_id="runstream-live",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=_PARTITION_FETCH_BYTES,
            fetch_max_wait_ms=100,
            request_timeout_ms=int(self.timeout_s * 1000),
        )
        try:
            await asyncio.wait_for(consumer.start(), self.timeout_s)
            tps = {p: TopicPartition(self.topic, p) for p in starts}
            consumer.assign(list(tps.values()))
            for p, offset in starts.items():
                consumer.seek(tps[p], offset)
        except (KafkaError, OSError, TimeoutError) as exc:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(consumer.stop(), self.timeout_s)
            raise BrokerError(
                f"live tail: cannot read {self.topic} at {self.bootstrap}: {exc}"
            ) from exc
        try:
            yield TailReader(consumer, self.bootstrap)
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(consumer.stop(), self.timeout_s)


__all__ = ["KafkaLogTail", "TailReader", "partition_for_key"]
