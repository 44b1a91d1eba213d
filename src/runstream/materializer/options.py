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
        idle_ms: a batch also closes when no message came for this long after the
            last one (the log is caught up: commit now rather than wait for
            ``max_ms``); 0 turns it off. Measured (quick benchmark, 2,000 points/s):
            freshness p50/p99 885/1,217 ms with it off, 679/912 ms at 20 ms; backlog
            drain and files per hour unchanged (``benchmarks.materialize_throughput``).
        max_bytes: a batch closes at this many message bytes (keeps RSS bounded
            when every message carries thousands of metric points). Measured on
            the throughput benchmark (2 cores, 1,000 points per message): 16 MiB
            about 530k points/s at 620-750 MiB peak RSS, 24 MiB about 600k at
            790-810 MiB, 28 MiB about 640k at 820-860 MiB.
        status_every_s: how often the status line is logged; a batch committed after
            it also writes the ``materializer_status`` row.
        idle_status_every_s: how often a member with no batch to commit (idle, or its
            broker gone) writes the row in a transaction of its own.
        retry_min_s: first pause after a failed batch; doubles up to ``retry_max_s``.
        retry_max_s: longest pause between retries while the lake or broker is down.
        maintenance_every_s: how often lake maintenance runs beside the writer (0:
            never, from this process).
        maintenance_budget_s: no maintenance step starts after this long into a pass;
            the next pass goes on where it stopped.
        maintenance_memory_limit_mb: DuckDB's ``memory_limit`` of maintenance's own
            connection (merges spill past it to ``$RUNSTREAM_HOME``).
        member_id: this process's name in status rows and logs.
        group_id: the consumer group every materializer of the deployment joins.
        session_timeout_ms: how long the group waits for a silent member; a member
            that crashed holds its partitions this long, and joining takes about half.
        lake_memory_limit_mb: DuckDB's ``memory_limit`` on the lake connection (its
            default is 80% of RAM); compaction spills past it to ``$RUNSTREAM_HOME``.
        lake_threads: DuckDB's ``threads`` on the lake connection. One writer thread
            leaves the second core to fetch and decode the next batch (measured
            faster on two cores than two DuckDB threads competing with the decoder).

    Memory budget (design target: RSS <= 1 GiB whatever the backlog): about 170 MB
    of interpreter, DuckDB and extensions; ``lake_memory_limit_mb``; two batches in
    flight (one written, the next fetched and decoded), each about ``max_bytes`` of
    messages (a fetch asks for as many as fit), about 3x that once decoded and again
    as Arrow columns; and the consumer's prefetch (about 35 MB:
    ``runstream.kafka.consumer`` caps each partition fetch at 4 MiB).
    """

    max_events: int
    max_ms: int
    max_bytes: int
    idle_ms: int
    status_every_s: float
    retry_min_s: float
    retry_max_s: float
    maintenance_every_s: float
    member_id: str
    group_id: str
    session_timeout_ms: int
    lake_memory_limit_mb: int = 256
    lake_threads: int = 1
    idle_status_every_s: float = 30.0
    maintenance_budget_s: float = 20.0
    maintenance_memory_limit_mb: int = 256

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> MaterializerOptions:
        """Defaults from the settings (batch size and time), then ``overrides``."""
        values: dict[str, object] = {
            "max_events": settings.batch_max_events,
            "max_ms": settings.batch_max_ms,
            "idle_ms": settings.batch_idle_ms,
            "max_bytes": 24 * 1024 * 1024,
            "status_every_s": 5.0,
            "idle_status_every_s": 30.0,
            "maintenance_budget_s": 20.0,
            "maintenance_memory_limit_mb": 256,
            "retry_min_s": 0.5,
            "retry_max_s": 10.0,
            "maintenance_every_s": 600.0,
            "member_id": default_member_id(),
            "group_id": f"{settings.topic_prefix}.materializer",
            "session_timeout_ms": 10_000,
            "lake_memory_limit_mb": 256,
            "lake_threads": 1,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


__all__ = ["MaterializerOptions", "default_member_id"]
