"""Read-your-writes, the SDK's side: remember what was acknowledged, send it on reads.

The contract (PROTOCOL and ``docs/contracts.md``): a write's *position* is the
(topic, partition, offset) of the record the broker acknowledged. The SDK keeps the
highest acknowledged offset per (topic, partition) it produced to, and sends them on
every read as ``X-Runstream-Read-After: <topic>:<partition>:<offset>[,...]``; the
query service then answers, bounded by its own timeout, only once the lake holds
them. Before a read, events still in the buffer are flushed (bounded), so that
everything logged before the read has a position.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

READ_AFTER_HEADER = "X-Runstream-Read-After"


@runtime_checkable
class Acknowledged(Protocol):
    """Where the broker acknowledged one message (the producer's delivery result)."""

    topic: str
    partition: int
    offset: int


class WrittenPositions:
    """The highest acknowledged offset per (topic, partition); safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._highest: dict[tuple[str, int], int] = {}

    def record(self, result: object) -> None:
        """Remembers a delivery result's position (results without one are ignored)."""
        if isinstance(result, Acknowledged) and result.partition >= 0:
            tp = (result.topic, result.partition)
            with self._lock:
                if result.offset > self._highest.get(tp, -1):
                    self._highest[tp] = result.offset

    def header(self) -> str | None:
        """The header value (sorted ``topic:partition:offset`` items), None before any write."""
        with self._lock:
            items = sorted(self._highest.items())
        return ",".join(f"{t}:{p}:{o}" for (t, p), o in items) or None


__all__ = ["READ_AFTER_HEADER", "Acknowledged", "WrittenPositions"]
