"""Which event ids the lake already holds, answered from memory where it can be.

The materializer drops an event whose id the lake's ``events`` already holds (a
producer retry). Asking the lake for every batch scans every Parquet file whose id
range overlaps the batch's, which is all of them while a backlog drains (about
250 ms per batch of 350 events). :class:`StoredEventIds` answers most of those
questions without the lake:

- ``floor``: no id the lake held when this member last synced is greater than it
  (the largest ``consumer_offsets.max_event_id``, committed with every batch);
- ``recent``: every id this member stored since, up to ``max_recent`` of them (the
  oldest are then forgotten and the floor rises to the largest forgotten id).

While nobody else writes the lake (the offsets of every partition are those this
member last committed), an id above the floor is stored exactly when it is in
``recent``; ids at or below the floor (replays of old events, producers with slow
clocks) are left to the lake. When another member commits, the memory starts over
from the lake's offsets, so the answer stays exact whatever the group does: with
several active members more ids simply go to the lake.

Pure bookkeeping, no I/O: the caller reads ``consumer_offsets`` in each batch's
transaction (:meth:`StoredEventIds.is_current`, :meth:`StoredEventIds.sync`) and
reports each commit (:meth:`StoredEventIds.record`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runstream.events.records import TopicPartition

# About 100 bytes each in memory.
MAX_RECENT_IDS = 200_000
# ``max_event_id`` of a partition from which no event was stored yet (below every id).
NO_EVENT_ID = ""


@dataclass(frozen=True)
class StoredPosition:
    """One partition's row of ``consumer_offsets``.

    Attributes:
        next_offset: the next Kafka offset to read.
        max_event_id: the largest event id stored from the partition: ``NO_EVENT_ID``
            if none, None in rows written before the column existed (unknown).
    """

    next_offset: int
    max_event_id: str | None


class StoredEventIds:
    """The ids the lake holds above a floor (see the module docstring)."""

    def __init__(self, max_recent: int = MAX_RECENT_IDS) -> None:
        if max_recent < 2:
            raise ValueError("max_recent must be at least 2")
        self._max_recent = max_recent
        # The lake's offsets as this memory knows them; None until the first sync.
        self._offsets: dict[TopicPartition, int] | None = None
        self._floor = NO_EVENT_ID
        self._recent: set[str] = set()
        self._newest: dict[TopicPartition, str] = {}

    def is_current(self, offsets: Mapping[TopicPartition, int]) -> bool:
        """Tell whether the lake's ``consumer_offsets`` (all partitions) are as remembered.

        False before the first sync and after anyone else committed to the lake (or
        a commit whose outcome was unknown went through): :meth:`sync` again.
        """
        return self._offsets == dict(offsets)

    def sync(self, positions: Mapping[TopicPartition, StoredPosition]) -> None:
        """Start over from the lake's ``consumer_offsets`` (every partition's row).

        Raises:
            ValueError: a row's ``max_event_id`` is unknown (None): the caller must
                fill it in first (from ``events``).
        """
        if any(p.max_event_id is None for p in positions.values()):
            raise ValueError("every position needs its max_event_id")
        self._offsets = {tp: p.next_offset for tp, p in positions.items()}
        self._newest = {tp: p.max_event_id or NO_EVENT_ID for tp, p in positions.items()}
        self._floor = max(self._newest.values(), default=NO_EVENT_ID)
        self._recent = set()

    def split(self, ids: Iterable[str]) -> tuple[set[str], set[str]]:
        """Sort ids into (stored, only the lake can tell); the rest are not stored."""
        stored: set[str] = set()
        unknown: set[str] = set()
        for event_id in ids:
            if event_id <= self._floor:
                unknown.add(event_id)
            elif event_id in self._recent:
                stored.add(event_id)
        return stored, unknown

    def newest(self, tp: TopicPartition, ids: Iterable[str] = ()) -> str:
        """The largest id stored from ``tp`` once ``ids`` are stored there too."""
        return max([self._newest.get(tp, NO_EVENT_ID), *ids])

    def record(
        self, offsets: Mapping[TopicPartition, int], stored: Mapping[TopicPartition, list[str]]
    ) -> None:
        """Remember a committed batch: its partitions' new offsets and the ids it stored.

        Raises:
            RuntimeError: never synced.
        """
        if self._offsets is None:
            raise RuntimeError("record before sync")
        for tp, offset in offsets.items():
            self._offsets[tp] = offset
            ids = stored.get(tp, [])
            self._newest[tp] = self.newest(tp, ids)
            self._recent.update(ids)
        if len(self._recent) > self._max_recent:
            ordered = sorted(self._recent)
            cut = len(ordered) - self._max_recent // 2
            self._floor = max(self._floor, ordered[cut - 1])
            self._recent = set(ordered[cut:])


__all__ = [
    "MAX_RECENT_IDS",
    "NO_EVENT_ID",
    "StoredEventIds",
    "StoredPosition",
]
