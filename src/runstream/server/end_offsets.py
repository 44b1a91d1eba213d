"""End offsets for the read-your-writes wait of reads that send no positions (MLflow's client).

By default only this server's own writes count: a client that writes through the
gateway and reads through the same server reads its writes, and reads of data logged
elsewhere (the SDK writes to the broker directly) never wait. Measured: waiting for
the broker's end offsets made every MLflow REST search under SDK ingest wait for a
materializer batch (quick benchmark: 6.4 concurrent searches/s, p50 486 ms).
``RUNSTREAM_READ_AFTER_BROKER=1`` waits for the broker's end offsets too, so writes
made through other servers are seen as well.

Measured with the local broker (Tansu): right after a write is acknowledged,
``ListOffsets(latest)`` may still report the end offset from before it (for
example 2 while the partition holds offsets 0-4), although a Fetch already sees
the new high watermark. A read that waits for what the broker reports could then
miss a write it must see. The gateway knows exactly where each of its own writes
landed, so the end offset of a partition is taken as the larger of the broker's
answer and one past the highest position this process was acknowledged at: a
client that writes and reads through one server always reads its writes, and
reads of other servers' writes are as good as the broker's answer (exact on Kafka).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from runstream.core.positions import TopicPartition
from runstream.kafka.offsets import KafkaEndOffsets


class OwnWritesEndOffsets:
    """:class:`~runstream.query.read.read_after.EndOffsets` over the broker and own positions.

    Args:
        broker: the broker's end offsets.
        own: the highest acknowledged offset of this process's writes, per partition.
        with_broker: wait for the broker's end offsets too (``RUNSTREAM_READ_AFTER_BROKER``:
            writes made through other servers are seen, at the price of a materializer
            batch per read under ingest); otherwise only this server's own writes count.
    """

    def __init__(
        self,
        broker: KafkaEndOffsets,
        own: Callable[[], Mapping[TopicPartition, int]],
        *,
        with_broker: bool = False,
    ) -> None:
        self._broker = broker
        self._own = own
        self._with_broker = with_broker

    async def start(self) -> None:
        """Start the broker side."""
        await self._broker.start()

    async def stop(self) -> None:
        """Stop the broker side."""
        await self._broker.stop()

    async def partition_count(self, topic: str) -> int:
        """Partitions of ``topic``, from the broker."""
        return await self._broker.partition_count(topic)

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """One past this process's own last write per partition (0: none), raised to the
        broker's end offsets when ``with_broker``.

        Raises:
            BrokerError: the broker did not answer.
        """
        own = self._own()
        if not self._with_broker:
            return {tp: own.get(tp, -1) + 1 for tp in partitions}
        ends = await self._broker.end_offsets(partitions)
        return {tp: max(ends.get(tp, 0), own.get(tp, -1) + 1) for tp in partitions}


__all__ = ["OwnWritesEndOffsets"]
