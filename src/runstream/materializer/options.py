"""Tuning of one materializer process, with defaults derived from the settings."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from runstream.config import Settings


def default_member_id() -> str:
    """``host-pid-random``: unique per process, readable in ``materializer_status``."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class MaterializerOptions:
    """How one materializer batches, retries and reports.

    Attributes:
        max_events: a batch closes at this many Kafka messages.
        max_ms: a batch closes this long after its first fetch.
        max_bytes: a batch closes at this many message bytes (keeps RSS bounded
            when every message carries thousands of metric points).
        status_every_s: how often ``materializer_status`` is written.
        retry_min_s: first pause after a failed batch; doubles up to ``retry_max_s``.
        retry_max_s: longest pause between retries while the lake or broker is down.
        maintenance_every_s: how often compaction runs (0: never, from this process).
        member_id: this process's name in status rows and logs.
        group_id: the consumer group every materializer of the deployment joins.
        session_timeout_ms: how long the group waits for a silent member; a member
            that crashed holds its partitions this long, and joining takes about half.
    """

    max_events: int
    max_ms: int
    max_bytes: int
    status_every_s: float
    retry_min_s: float
    retry_max_s: float
    maintenance_every_s: float
    member_id: str
    group_id: str
    session_timeout_ms: int

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> MaterializerOptions:
        """Defaults from the settings (batch size and time), then ``overrides``."""
        values: dict[str, object] = {
            "max_events": settings.batch_max_events,
            "max_ms": settings.batch_max_ms,
            "max_bytes": 16 * 1024 * 1024,
            "status_every_s": 5.0,
            "retry_min_s": 0.5,
            "retry_max_s": 10.0,
            "maintenance_every_s": 600.0,
            "member_id": default_member_id(),
            "group_id": f"{settings.topic_prefix}.materializer",
            "session_timeout_ms": 10_000,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


__all__ = ["MaterializerOptions", "default_member_id"]
