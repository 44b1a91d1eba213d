"""Where an event sits in the log: :data:`TopicPartition` and the :class:`Record` read there.

The one definition of both, for every layer above: the Kafka adapter hands
records to applications, the materializer stores positions per topic partition,
the lake keeps offsets per topic partition and replays its archive as records.
"""

from __future__ import annotations

from dataclasses import dataclass

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Record:
    """One message read from a topic.

    Attributes:
        topic: topic name.
        partition: partition number.
        offset: offset within the partition.
        key: message key, if any.
        value: message value (None for a tombstone, which Runstream never writes).
        timestamp_ms: broker or producer timestamp.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0

    @property
    def tp(self) -> TopicPartition:
        """``(topic, partition)``."""
        return (self.topic, self.partition)


__all__ = ["Record", "TopicPartition"]
