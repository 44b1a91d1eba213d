"""UUIDv7 event ids and run ids: format, time order, monotonicity, uniqueness."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from runstream.errors import ValidationError
from runstream.events import ids
from runstream.events.ids import is_uuid7, new_event_id, new_run_id, uuid7_timestamp_ms


def test_event_id_is_a_canonical_uuid7() -> None:
    event_id = new_event_id()
    parsed = uuid.UUID(event_id)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == event_id  # canonical lowercase text
    assert is_uuid7(event_id)


def test_run_id_is_32_lowercase_hex_of_a_uuid7() -> None:
    run_id = new_run_id()
    assert len(run_id) == 32
    assert run_id == run_id.lower()
    assert uuid.UUID(hex=run_id).version == 7
    assert not is_uuid7(run_id)  # is_uuid7 is for the text form only


def test_ids_carry_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    event_id, run_id = new_event_id(), new_run_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid7_timestamp_ms(event_id) <= after + 1
    assert before <= uuid7_timestamp_ms(run_id) <= after + 1


def test_ids_strictly_increase_within_one_millisecond() -> None:
    made = [new_event_id() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    runs = [new_run_id() for _ in range(5_000)]
    assert runs == sorted(runs)
    stamps = [uuid7_timestamp_ms(i) for i in made]
    assert len(set(stamps)) < len(stamps)  # several ids shared a millisecond


def test_ids_keep_increasing_when_the_clock_goes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = ids._Uuid7Generator()
    clock = iter([5_000_000_000_000, 4_000_000_000_000, 4_000_000_000_000, 5_000_000_000_000])
    monkeypatch.setattr("runstream.events.ids.time.time_ns", lambda: next(clock))
    made = [generator.next_int() for _ in range(4)]
    assert made == sorted(made) and len(set(made)) == 4
    assert {m >> 80 for m in made} == {5_000_000}  # stayed at the latest millisecond


def test_counter_overflow_moves_to_the_next_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = ids._Uuid7Generator()
    monkeypatch.setattr("runstream.events.ids.time.time_ns", lambda: 7_000_000_000)
    first = generator.next_int()
    generator._counter = ids._COUNTER_MAX
    second = generator.next_int()
    assert second > first
    assert second >> 80 == (first >> 80) + 1


def test_ids_are_unique_and_ordered_per_thread_across_threads() -> None:
    results: list[list[str]] = [[] for _ in range(8)]

    def work(out: list[str]) -> None:
        out.extend(new_event_id() for _ in range(3_000))

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for r in results for i in r]
    assert len(set(everything)) == len(everything)
    assert all(r == sorted(r) for r in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_a_fresh_sequence() -> None:
    new_event_id()  # the parent has a state the child must not reuse
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        fresh = ids._GENERATOR._last_ms == -1
        payload = (
            ("fresh" if fresh else "reused") + "," + ",".join(new_event_id() for _ in range(500))
        )
        os.write(write_end, payload.encode())
        os._exit(0)
    os.close(write_end)
    parent_ids = {new_event_id() for _ in range(500)}
    with os.fdopen(read_end) as pipe:
        state, *child_ids = pipe.read().split(",")
    os.waitpid(pid, 0)
    assert state == "fresh"
    assert len(child_ids) == 500
    assert not parent_ids & set(child_ids)


@pytest.mark.parametrize(
    "value",
    [
        str(uuid.uuid4()),
        "01901234-5678-7abc-8def-0123456789AB",
        "{01901234-5678-7abc-8def-0123456789ab}",
        "01901234-5678-7abc-cdef-0123456789ab",  # wrong variant
        "01901234-5678-7abc-8def-0123456789ab\n",
        "0190123456787abc8def0123456789ab",
        None,
        42,
    ],
)
def test_is_uuid7_rejects_other_shapes(value: object) -> None:
    assert not is_uuid7(value)


def test_uuid7_timestamp_rejects_non_uuid7() -> None:
    with pytest.raises(ValidationError, match="not a UUIDv7"):
        uuid7_timestamp_ms(str(uuid.uuid4()))
