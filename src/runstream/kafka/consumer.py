"""The materializer's consumer: aiokafka behind one small async interface.

Where a member starts reading is decided by the caller, never by Kafka's committed
offsets: on every assignment the consumer asks ``on_assign`` for the offsets the
lake holds and seeks there (the beginning of the partition when the lake holds
none). Committing offsets to Kafka is optional bookkeeping for lag dashboards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from runstream.errors import BrokerError
from runstream.kafka.records import Record
from runstream.kafka.records import TopicPartition as TP

OnAssign = Callable[[list[TP]], Awaitable[dict[TP, int]]]
OnRevoke = Callable[[list[TP]], Awaitable[None]]

# Larger than the largest event (core.limits: 1 MiB) so one fetch is never stuck.
_PARTITION_FETCH_BYTES = 4 * 1024 * 1024
# Bounds what aiokafka prefetches ahead of the materializer (its default is 50 MB).
_FETCH_BYTES = 16 * 1024 * 1024
# Every call below is bounded: none may outlive the broker going away (a stop must
# still be served within seconds).
_FETCH_GRACE_S = 1.0
_SEEK_WAIT_S = 1.0
_COMMIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ConsumerOptions:
    """How the consumer joins its group.

    Attributes:
        group_id: the consumer group (all materializers share one).
        client_id: shown in the broker's logs.
        session_timeout_ms: how long the group waits for a silent member.
        request_timeout_s: how long to wait for the broker at start.
    """

    group_id: str
    client_id: str = "runstream-materializer"
    session_timeout_ms: int = 10_000
    request_timeout_s: float = 30.0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._owner._revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._owner._assigned(assigned)


class EventConsumer:
    """A consumer-group member that starts each partition at the offset the caller says.

    The constructor opens nothing; :meth:`start` joins the group.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        options: ConsumerOptions,
        *,
        on_assign: OnAssign,
        on_revoke: OnRevoke,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.options = options
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connect and subscribe; partitions arrive through ``on_assign``.

        Raises:
            BrokerError: the broker did not answer in time.
        """
        opts = self.options
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=opts.group_id,
            client_id=opts.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=opts.session_timeout_ms,
            heartbeat_interval_ms=max(200, opts.session_timeout_ms // 5),
            max_partition_fetch_bytes=_PARTITION_FETCH_BYTES,
            fetch_max_bytes=_FETCH_BYTES,
            request_timeout_ms=int(opts.request_timeout_s * 1000),
        )
        try:
            await asyncio.wait_for(consumer.start(), opts.request_timeout_s)
            consumer.subscribe(self.topics, listener=_Listener(self))
        except (KafkaError, OSError, TimeoutError) as exc:
            await _stop_quietly(consumer)
            raise BrokerError(
                f"cannot start a consumer on {self.bootstrap} for {self.topics}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._consumer = consumer

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Leave the group and close the connections, giving up after ``timeout_s``."""
        # The reference stays set while stopping: a rebalance callback may still run.
        consumer = self._consumer
        if consumer is not None:
            await _stop_quietly(consumer, timeout_s)
            self._consumer = None

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise BrokerError("the consumer is not started")
        return self._consumer

    async def fetch(self, max_records: int, timeout_ms: int) -> list[Record]:
        """Return up to ``max_records`` records, waiting at most about ``timeout_ms``.

        An empty list also when the group is rejoining or the broker is gone.

        Raises:
            BrokerError: the fetch failed for a reason retrying will not fix soon.
        """
        consumer = self._require()
        try:
            # getmany waits without a bound while the group rejoins, and a group cannot
            # rejoin while the broker is gone (seen: the materializer stuck there for
            # minutes). Cancelling it there consumes nothing.
            batches = await asyncio.wait_for(
                consumer.getmany(timeout_ms=timeout_ms, max_records=max_records),
                timeout_ms / 1000 + _FETCH_GRACE_S,
            )
        except TimeoutError:
            return []
        except KafkaError as exc:
            raise BrokerError(f"fetch from {self.bootstrap} failed: {exc}") from exc
        out: list[Record] = []
        for tp, messages in batches.items():
            out.extend(
                Record(tp.topic, tp.partition, m.offset, m.key, m.value, m.timestamp or 0)
                for m in messages
            )
        return out

    def assignment(self) -> set[TP]:
        """Partitions this member owns now."""
        return {(tp.topic, tp.partition) for tp in self._require().assignment()}

    async def seek(self, offsets: dict[TP, int | None]) -> None:
        """Move partitions to the given offsets (None: the beginning of the partition)."""
        consumer = self._require()
        owned = consumer.assignment()
        start: list[TopicPartition] = []
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            if tp not in owned:
                continue  # revoked meanwhile; its new owner seeks for itself
            if offset is None:
                start.append(tp)
            else:
                consumer.seek(tp, offset)
        if start:
            # The reset is registered at once; waiting for the broker to answer it
            # (up to the request timeout while the broker is gone) is not needed:
            # the partition is fetched from its beginning whenever the answer comes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(consumer.seek_to_beginning(*start), _SEEK_WAIT_S)

    async def commit(self, offsets: dict[TP, int]) -> None:
        """Record offsets in Kafka for lag tools; failures are ignored (the lake is the truth)."""
        consumer = self._require()
        owned = consumer.assignment()
        to_commit = {
            TopicPartition(t, p): OffsetAndMetadata(o, "")
            for (t, p), o in offsets.items()
            if TopicPartition(t, p) in owned
        }
        if not to_commit:
            return
        try:
            # aiokafka retries a commit until a group coordinator answers: forever while
            # the broker is gone.
            await asyncio.wait_for(consumer.commit(to_commit), _COMMIT_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError):
            return  # a rebalance or a broker blip; the next batch commits again

    def highwaters(self) -> dict[TP, int]:
        """End offset of each owned partition, as of the last fetch (unknown ones left out)."""
        consumer = self._require()
        out: dict[TP, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None:
                out[(tp.topic, tp.partition)] = high
        return out

    async def _assigned(self, assigned: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in assigned]
        stored = await self._on_assign(tps)
        await self.seek({tp: stored.get(tp) for tp in tps})

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        await self._on_revoke([(tp.topic, tp.partition) for tp in revoked])


async def _stop_quietly(consumer: AIOKafkaConsumer, timeout_s: float = 15.0) -> None:
    with contextlib.suppress(KafkaError, OSError, TimeoutError):
        await asyncio.wait_for(consumer.stop(), timeout_s)


__all__ = ["ConsumerOptions", "EventConsumer", "OnAssign", "OnRevoke"]
