"""Lake freshness and materializer progress, for ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from runstream.core.positions import TopicPartition
from runstream.lake.connection import CATALOG
from runstream.query.read.port import ReadSession


@dataclass(frozen=True)
class MaterializerStatus:
    """One row of ``materializer_status``; ``lag`` sums the per-partition lag.

    ``lag`` is None while the member owns no partition (it has not joined its group
    yet, or every partition went to other members): a member with a number there
    materializes.
    """

    member_id: str
    updated_at: int | None
    events_per_s: float | None
    rows_per_s: float | None
    last_commit_ms: float | None
    rejected_total: int | None
    lag: int | None


@dataclass(frozen=True)
class LakeHealth:
    """How fresh the lake is.

    Attributes:
        snapshot_id: newest snapshot.
        snapshot_time_ms: when it was committed (ms since the epoch).
        materializers: every materializer that reported.
        lag_total: events in Kafka not yet in the lake, summed over partitions,
            as last reported (None before any report).
    """

    snapshot_id: int
    snapshot_time_ms: int | None
    materializers: list[MaterializerStatus] = field(default_factory=list)
    lag_total: int | None = None


def _lag(raw: str | None) -> int | None:
    """Sum a ``lag_json`` object (``{"topic:partition": lag}``); None if unreadable or empty."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data:
        return None
    return sum(int(v) for v in data.values() if isinstance(v, int | float) and v > 0)


def lake_health(session: ReadSession) -> LakeHealth:
    """Read the newest snapshot and the materializers' last reports."""
    snap = session.fetch(
        f"SELECT snapshot_id, epoch_ms(snapshot_time) FROM {CATALOG}.snapshots()"
        " ORDER BY snapshot_id DESC LIMIT 1"
    )
    snapshot_id, snapshot_ms = (int(snap[0][0]), snap[0][1]) if snap else (0, None)
    members = [
        MaterializerStatus(str(m), u, e, r, c, t, _lag(lag))
        for m, u, e, r, c, t, lag in session.fetch(
            "SELECT member_id, updated_at, events_per_s, rows_per_s, last_commit_ms,"
            " rejected_total, lag_json FROM materializer_status ORDER BY member_id"
        )
    ]
    lags = [m.lag for m in members if m.lag is not None]
    return LakeHealth(
        snapshot_id,
        None if snapshot_ms is None else int(snapshot_ms),
        members,
        sum(lags) if lags else None,
    )


def lake_offsets(session: ReadSession) -> dict[TopicPartition, int]:
    """The lake's ``consumer_offsets``: the next offset to read per (topic, partition)."""
    rows = session.fetch("SELECT topic, partition, next_offset FROM consumer_offsets")
    return {(str(t), int(p)): int(o) for t, p, o in rows}


def age_s(ms: int | None, now_s: float | None = None) -> float | None:
    """Seconds since a ms timestamp (None stays None)."""
    if ms is None:
        return None
    return round(max(0.0, (now_s if now_s is not None else time.time()) - ms / 1000), 3)


__all__ = ["LakeHealth", "MaterializerStatus", "age_s", "lake_health", "lake_offsets"]
