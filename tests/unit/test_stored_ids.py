"""The in-memory answer to "does the lake already hold this event id?" (core.stored_ids)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runstream.core.stored_ids import NO_EVENT_ID, StoredEventIds, StoredPosition

P0 = ("t.events", 0)
P1 = ("t.events", 1)


def _synced(
    positions: dict[tuple[str, int], StoredPosition], max_recent: int = 1000
) -> StoredEventIds:
    ids = StoredEventIds(max_recent=max_recent)
    ids.sync(positions)
    return ids


def _new(ids: StoredEventIds, candidates: list[str]) -> set[str]:
    """The candidates the memory calls not stored (neither stored nor ask-the-lake)."""
    stored, ask = ids.split(candidates)
    return set(candidates) - stored - ask


def test_ids_at_or_below_the_floor_are_left_to_the_lake_and_ids_above_it_are_new() -> None:
    ids = _synced({P0: StoredPosition(10, "05"), P1: StoredPosition(3, "07")})
    stored, ask = ids.split(["01", "05", "07", "08", "99"])
    assert stored == set()
    assert ask == {"01", "05", "07"}  # the floor is the largest partition's id
    assert _new(ids, ["01", "05", "07", "08", "99"]) == {"08", "99"}


def test_an_empty_lake_has_no_floor_so_every_id_is_new() -> None:
    ids = _synced({})
    assert ids.split(["00", "ff"]) == (set(), set())
    ids = _synced({P0: StoredPosition(4, NO_EVENT_ID)})  # only undecodable records so far
    assert ids.split(["00", "ff"]) == (set(), set())


def test_recorded_ids_are_found_as_stored() -> None:
    ids = _synced({P0: StoredPosition(10, "05")})
    ids.record({P0: 12, P1: 1}, {P0: ["0a", "0c"], P1: ["0b"]})
    stored, ask = ids.split(["04", "0a", "0b", "0c", "0d"])
    assert stored == {"0a", "0b", "0c"}
    assert ask == {"04"}
    assert _new(ids, ["0d"]) == {"0d"}


def test_newest_is_the_largest_id_of_the_partition_including_the_batch() -> None:
    ids = _synced({P0: StoredPosition(10, "05"), P1: StoredPosition(3, "07")})
    assert ids.newest(P0) == "05"
    assert ids.newest(P0, ["03"]) == "05"  # a slow producer's id does not lower it
    assert ids.newest(P0, ["09", "06"]) == "09"
    assert ids.newest(("t.events", 9)) == NO_EVENT_ID
    ids.record({P0: 12}, {P0: ["06", "08"]})
    assert ids.newest(P0) == "08"
    assert ids.newest(P1) == "07"
    ids.record({P1: 4}, {})  # a batch that stored nothing (all rejected or duplicates)
    assert ids.newest(P1) == "07"


def test_memory_is_current_only_while_every_partition_has_the_offset_it_remembers() -> None:
    ids = StoredEventIds()
    assert not ids.is_current({})
    assert not ids.is_current({P0: 10})
    ids.sync({P0: StoredPosition(10, "05"), P1: StoredPosition(3, "07")})
    assert ids.is_current({P0: 10, P1: 3})
    ids.record({P0: 12}, {P0: ["06"]})
    assert ids.is_current({P0: 12, P1: 3})
    assert not ids.is_current({P0: 10, P1: 3})  # our commit did not go through
    assert not ids.is_current({P0: 12, P1: 4})  # another member committed to P1
    assert not ids.is_current({P0: 12, P1: 3, ("t.events", 2): 1})  # a new partition
    assert not ids.is_current({P0: 12})  # a partition vanished


def test_sync_starts_over_from_the_lake() -> None:
    ids = _synced({P0: StoredPosition(10, "05")})
    ids.record({P0: 12}, {P0: ["06", "08"]})
    ids.sync({P0: StoredPosition(12, "08"), P1: StoredPosition(5, "0f")})
    assert ids.is_current({P0: 12, P1: 5})
    stored, ask = ids.split(["06", "08", "0f", "10"])
    assert stored == set()
    assert ask == {"06", "08", "0f"}  # another member's ids up to its newest are asked
    assert ids.newest(P1) == "0f"
    # A lake that holds less than remembered (restored from a backup): nothing is
    # vouched for from memory any more.
    ids.record({P0: 14}, {P0: ["11", "12"]})
    ids.sync({P0: StoredPosition(12, "08")})
    assert _new(ids, ["11", "12"]) == {"11", "12"}
    assert ids.newest(P0) == "08"


def test_sync_refuses_a_row_whose_max_event_id_is_unknown() -> None:
    ids = StoredEventIds()
    with pytest.raises(ValueError, match="max_event_id"):
        ids.sync({P0: StoredPosition(10, "05"), P1: StoredPosition(3, None)})
    assert not ids.is_current({P0: 10, P1: 3})


def test_record_before_sync_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        StoredEventIds().record({P0: 1}, {P0: ["01"]})


def test_max_recent_below_two_is_refused() -> None:
    with pytest.raises(ValueError):
        StoredEventIds(max_recent=1)


def test_forgotten_ids_are_left_to_the_lake_never_called_new() -> None:
    ids = _synced({P0: StoredPosition(0, NO_EVENT_ID)}, max_recent=4)
    # Out of order on purpose: the oldest ids (not the first recorded) are forgotten.
    ids.record({P0: 3}, {P0: ["05", "01", "03"]})
    ids.record({P0: 5}, {P0: ["02", "04"]})  # 5 > 4: keep the newest 2
    stored, ask = ids.split(["01", "02", "03", "04", "05", "06"])
    assert ask == {"01", "02", "03"}
    assert stored == {"04", "05"}
    assert _new(ids, ["01", "02", "03", "04", "05", "06"]) == {"06"}
    # Further batches keep forgetting the oldest, never an id they must answer for.
    ids.record({P0: 8}, {P0: ["07", "08", "09"]})
    all_ids = [f"{i:02x}" for i in range(1, 10)]
    stored, ask = ids.split(all_ids)
    assert stored | ask == set(all_ids)
    assert stored == {"08", "09"}
    assert ids.newest(P0) == "09"


hex_ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=4)
# A batch: who commits it (this member or another one) and the ids per partition.
batches = st.tuples(
    st.booleans(),
    st.dictionaries(st.integers(0, 3), st.lists(hex_ids, max_size=6), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(batches, max_size=10),
    max_recent=st.integers(2, 12),
    probes=st.lists(hex_ids, max_size=20),
)
def test_no_stored_id_is_ever_called_new_and_no_unstored_id_is_called_stored(
    steps: list[tuple[bool, dict[int, list[str]]]], max_recent: int, probes: list[str]
) -> None:
    lake: set[str] = set()
    # consumer_offsets: next offset and largest stored id per partition.
    offsets: dict[tuple[str, int], int] = {}
    newest: dict[tuple[str, int], str] = {}
    memory = StoredEventIds(max_recent=max_recent)
    for mine, batch in steps:
        if mine and not memory.is_current(offsets):  # what BatchProcessor._in_step does
            memory.sync(
                {tp: StoredPosition(o, newest.get(tp, NO_EVENT_ID)) for tp, o in offsets.items()}
            )
        # The reducer stores each id once, and only if the lake does not hold it yet.
        stored_now: dict[tuple[str, int], list[str]] = {}
        for p, ids in batch.items():
            tp = ("t", p)
            stored_now[tp] = [i for i in dict.fromkeys(ids) if i not in lake]
            lake.update(ids)
            offsets[tp] = offsets.get(tp, 0) + len(ids)
            newest[tp] = max([newest.get(tp, NO_EVENT_ID), *stored_now[tp]])
        if mine:
            memory.record({tp: offsets[tp] for tp in stored_now}, stored_now)
            assert memory.is_current(offsets)
            assert all(memory.newest(tp) == newest[tp] for tp in stored_now)
            stored, ask = memory.split([*lake, *probes])
            assert lake <= stored | ask  # safety: a retry of a stored event is never new
            assert stored <= lake  # safety: a new event is never dropped as stored
