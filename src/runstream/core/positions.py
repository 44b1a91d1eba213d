"""Log positions and the read-your-writes rules built on them (pure, no I/O).

A write's *position* is the (topic, partition, offset) of the record the broker
acknowledged. The lake *holds* a position once its ``consumer_offsets`` row for
(topic, partition) has a next offset greater than that offset: the materializer
commits rows and offsets in one transaction, so every event up to the position is
then readable. Clients that know their positions send them on reads as::

    X-Runstream-Read-After: <topic>:<partition>:<offset>[,<topic>:<partition>:<offset>...]

Clients that do not (MLflow's own client) are served by waiting for the end
offsets the broker reports at read time for the partitions of what is read; the
partition of a key is computed here exactly as the producer's partitioner does
(Kafka's murmur2 of the key, as aiokafka's and Java's default partitioners).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from runstream.errors import ValidationError

TopicPartition = tuple[str, int]

READ_AFTER_HEADER: Final = "X-Runstream-Read-After"
# A client sends at most one position per partition; 2 topics x 1024 partitions.
MAX_HEADER_POSITIONS: Final = 2048
_MAX_OFFSET: Final = 2**63 - 1
_TOPIC_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """The place of one acknowledged record in the log.

    Attributes:
        topic: topic name.
        partition: partition number.
        offset: the record's offset within the partition.
    """

    topic: str
    partition: int
    offset: int

    @property
    def tp(self) -> TopicPartition:
        """``(topic, partition)``."""
        return (self.topic, self.partition)

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def highest_per_partition(positions: Iterable[Position]) -> dict[TopicPartition, int]:
    """The highest offset per (topic, partition): all a read needs to wait for."""
    out: dict[TopicPartition, int] = {}
    for p in positions:
        if p.offset > out.get(p.tp, -1):
            out[p.tp] = p.offset
    return out


def format_read_after(positions: Iterable[Position]) -> str:
    """The header value for ``positions``: the highest offset of each partition, sorted."""
    highest = highest_per_partition(positions)
    return ",".join(f"{t}:{p}:{o}" for (t, p), o in sorted(highest.items()))


def _position(item: str) -> Position:
    topic, sep1, rest = item.strip().rpartition(":")
    topic, sep2, partition = topic.rpartition(":")
    offset = rest
    if not (sep1 and sep2 and topic) or not set(topic) <= _TOPIC_CHARS or len(topic) > 249:
        raise ValidationError(
            f"{READ_AFTER_HEADER}: {item.strip()!r} is not <topic>:<partition>:<offset>"
        )
    if not (partition.isdigit() and offset.isdigit()):
        raise ValidationError(
            f"{READ_AFTER_HEADER}: {item.strip()!r}: partition and offset must be "
            "non-negative integers"
        )
    number, at = int(partition), int(offset)
    if number > 2**31 - 1 or at > _MAX_OFFSET:
        raise ValidationError(f"{READ_AFTER_HEADER}: {item.strip()!r} is out of range")
    return Position(topic, number, at)


def parse_read_after(value: str) -> dict[TopicPartition, int]:
    """Parse the header into the highest offset per (topic, partition).

    Raises:
        ValidationError: a malformed item, or more than ``MAX_HEADER_POSITIONS`` items.
    """
    items = [i for i in value.split(",") if i.strip()]
    if len(items) > MAX_HEADER_POSITIONS:
        raise ValidationError(
            f"{READ_AFTER_HEADER}: {len(items)} positions; at most {MAX_HEADER_POSITIONS}"
        )
    return highest_per_partition(_position(i) for i in items)


def holds(
    lake_next_offsets: Mapping[TopicPartition, int], wanted: Mapping[TopicPartition, int]
) -> bool:
    """Whether the lake holds every wanted position (``next_offset > offset``)."""
    return all(lake_next_offsets.get(tp, 0) > offset for tp, offset in wanted.items())


def missing(
    lake_next_offsets: Mapping[TopicPartition, int], wanted: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The wanted positions the lake does not hold yet."""
    return {tp: o for tp, o in wanted.items() if lake_next_offsets.get(tp, 0) <= o}


def last_positions(end_offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Turn a broker's end offsets (next offset to write) into the last written positions.

    Empty partitions (end offset 0) need nothing and are left out.
    """
    return {tp: end - 1 for tp, end in end_offsets.items() if end > 0}


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 hash of ``data`` (as its Java client computes it), unsigned."""
    length = len(data)
    mask = 0xFFFFFFFF
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & mask
    for i in range(0, length - length % 4, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = length & ~3
    extra = length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition the producer's default partitioner picks for ``key``.

    Raises:
        ValueError: ``partitions`` is not positive.
    """
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    return (murmur2(key) & 0x7FFFFFFF) % partitions


__all__ = [
    "MAX_HEADER_POSITIONS",
    "READ_AFTER_HEADER",
    "Position",
    "TopicPartition",
    "format_read_after",
    "highest_per_partition",
    "holds",
    "last_positions",
    "missing",
    "murmur2",
    "parse_read_after",
    "partition_for_key",
]
