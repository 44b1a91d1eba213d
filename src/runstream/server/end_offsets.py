"""End offsets for the read-your-writes wait: the broker's, raised to this process's own writes.

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
    """

    def __init__(
        self, broker: KafkaEndOffsets, own: Callable[[], Mapping[TopicPartition, int]]
    ) -> None:
        self._broker = broker
        self._own = own

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
        """The broker's end offsets, each at least one past this process's own last write.

        Raises:
            BrokerError: the broker did not answer.
        """
        ends = await self._broker.end_offsets(partitions)
        own = self._own()
        return {tp: max(ends.get(tp, 0), own.get(tp, -1) + 1) for tp in partitions}


__all__ = ["OwnWritesEndOffsets"]
