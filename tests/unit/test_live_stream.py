"""The live stream's frames and cursors, over an in-memory log (no broker needed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from runstream.errors import ValidationError
from runstream.events import encode, make_event
from runstream.events.event_types import EventType
from runstream.kafka.records import Record
from runstream.kafka.tail import partition_for_key
from runstream.query.live.cursor import format_cursor, parse_cursor
from runstream.query.live.stream import LiveRequest, live_frames

RUN = "a" * 32
OTHER = "b" * 32


@dataclass
class MemoryLog:
    """A log held in memory: records of each partition in offset order."""

    records: list[Record]
    topic: str = "t.events"

    async def partition_of(self, key: str) -> int:
        return 0

    @contextlib.asynccontextmanager
    async def reader(self, starts: Mapping[int, int]) -> AsyncIterator[MemoryReader]:
        yield MemoryReader([r for r in self.records if r.offset >= starts.get(r.partition, 0)])


@dataclass
class MemoryReader:
    pending: list[Record]

    async def poll(self, timeout_s: float, max_records: int = 500) -> Sequence[Record]:
        out, self.pending = self.pending[:max_records], self.pending[max_records:]
        if not out:
            await asyncio.sleep(timeout_s)
        return out


def metric_record(offset: int, run_id: str, steps: list[int], value: float = 1.0) -> Record:
    event = make_event(
        EventType.RUN_METRICS,
        {
            "keys": ["loss"] * len(steps),
            "values": [value] * len(steps),
            "steps": steps,
            "timestamps": [1000 + s for s in steps],
        },
        run_id=run_id,
    )
    return Record("t.events", 0, offset, run_id.encode(), encode(event))


def parse(raw: bytes) -> tuple[str, str, dict[str, object]]:
    lines = dict(line.split(": ", 1) for line in raw.decode().strip().split("\n"))
    return lines["event"], lines["id"], orjson.loads(lines["data"])


Parsed = tuple[str, str, dict[str, object]]


async def take(log: MemoryLog, req: LiveRequest, n: int) -> list[Parsed]:
    out = []
    stop = False

    async def disconnected() -> bool:
        return stop

    async for raw in live_frames(log, req, disconnected, poll_s=0.01, covered_every_s=0.05):
        out.append(parse(raw))
        if len(out) >= n:
            stop = True
    return out


def test_cursor_round_trip_and_errors() -> None:
    assert format_cursor({3: 88, 2: 1043}) == "2:1043,3:88"
    assert parse_cursor("2:1043,3:88") == {2: 1043, 3: 88}
    for bad in ("", "x", "1:", ":4", "1:-2", "a:1"):
        with pytest.raises(ValidationError):
            parse_cursor(bad)


def test_frames_show_the_watched_run_once_each_with_the_cursor_after_it() -> None:
    dup = metric_record(2, RUN, [1])
    log = MemoryLog(
        [
            metric_record(0, OTHER, [0]),
            metric_record(1, RUN, [0], float("nan")),
            dup,
            Record("t.events", 0, 3, RUN.encode(), dup.value),  # a producer retry
            Record("t.events", 0, 4, RUN.encode(), b"not json"),  # the lake rejects it too
            metric_record(5, RUN, [2]),
        ]
    )
    req = LiveRequest((RUN,), {0: 0}, {0: 0}, 7)
    got = asyncio.run(take(log, req, 5))
    names = [g[0] for g in got]
    assert names == ["hello", "metrics", "metrics", "metrics", "covered"]
    assert got[0][1] == "0:0" and got[0][2]["lake_snapshot"] == 7
    assert [g[2]["steps"] for g in got[1:4]] == [[0], [1], [2]]
    assert got[1][2]["values"] == ["NaN"]  # non-finite values keep their wire form
    assert [g[1] for g in got[1:4]] == ["0:2", "0:3", "0:6"]
    assert got[4][2]["offsets"] == {"0": 6}


def test_partition_for_key_is_where_the_producer_sends_the_key() -> None:
    partitioner = DefaultPartitioner()
    for i in range(400):
        key = f"{i:032x}".encode()
        assert partition_for_key(key, 4) == partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])
