"""What the live tail needs from the log: a small protocol the composition root fills.

The query service never imports the Kafka adapter (tests/unit/test_layers.py);
``runstream serve`` passes a :class:`runstream.kafka.tail.KafkaLogTail`, which has
this shape, to :func:`runstream.query.app.create_app`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class LogRecord(Protocol):
    """One message of the events topic."""

    @property
    def partition(self) -> int:
        """Partition number."""
        ...

    @property
    def offset(self) -> int:
        """Offset within the partition."""
        ...

    @property
    def key(self) -> bytes | None:
        """Message key (the run id for run events)."""
        ...

    @property
    def value(self) -> bytes | None:
        """The encoded event."""
        ...


class LogReader(Protocol):
    """Records of some partitions, in offset order within each."""

    async def poll(self, timeout_s: float, max_records: int = 500) -> Sequence[LogRecord]:
        """New records, waiting at most ``timeout_s`` for the first one."""
        ...


class LogTail(Protocol):
    """The events topic, read from given offsets."""

    @property
    def topic(self) -> str:
        """The topic's name (the lake's ``consumer_offsets`` rows are keyed by it)."""
        ...

    async def partition_of(self, key: str) -> int:
        """The partition that holds the events keyed ``key``."""
        ...

    def reader(self, starts: Mapping[int, int]) -> AbstractAsyncContextManager[LogReader]:
        """A reader of the partitions in ``starts``, each from the offset given."""
        ...


__all__ = ["LogReader", "LogRecord", "LogTail"]
