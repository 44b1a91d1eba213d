"""Read-your-writes: positions, the header, key partitioning and the bounded wait."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import pytest
from aiokafka.partitioner import DefaultPartitioner

from runstream.core.positions import (
    Position,
    format_read_after,
    holds,
    last_positions,
    missing,
    parse_read_after,
    partition_for_key,
)
from runstream.errors import BrokerError, LakeError, ValidationError
from runstream.query.http.read_scope import read_scope
from runstream.query.read.read_after import LakeObservation, ReadAfter, ReadScope

TopicPartition = tuple[str, int]


def test_partition_for_key_matches_the_producers_partitioner() -> None:
    partitioner = DefaultPartitioner()
    for size in range(300):
        key = os.urandom(size % 41)
        for count in (1, 3, 8, 13):
            everything = list(range(count))
            assert partition_for_key(key, count) == partitioner(key, everything, everything)
    with pytest.raises(ValueError):
        partition_for_key(b"run", 0)


def test_header_round_trip_keeps_the_highest_offset_per_partition() -> None:
    positions = [Position("rs.events", 1, 5), Position("rs.events", 1, 9), Position("rs.reg", 0, 2)]
    header = format_read_after(positions)
    assert header == "rs.events:1:9,rs.reg:0:2"
    assert parse_read_after(header + ", rs.events:1:3") == {("rs.events", 1): 9, ("rs.reg", 0): 2}
    assert parse_read_after(" ") == {}


@pytest.mark.parametrize(
    "bad",
    ["rs.events:1", "rs.events:x:1", ":1:1", "rs events:1:1", "t:1:-1", f"t:1:{2**63}", "t:1:1e3"],
)
def test_malformed_headers_are_the_callers_mistake(bad: str) -> None:
    with pytest.raises(ValidationError, match="X-Runstream-Read-After"):
        parse_read_after(bad)


def test_too_many_positions_are_refused() -> None:
    with pytest.raises(ValidationError, match="at most"):
        parse_read_after(",".join(f"t:{p}:1" for p in range(3000)))


def test_the_lake_holds_a_position_once_its_next_offset_is_past_it() -> None:
    wanted = {("t", 0): 4, ("t", 1): 0}
    assert not holds({("t", 0): 4, ("t", 1): 1}, wanted)
    assert holds({("t", 0): 5, ("t", 1): 1}, wanted)
    assert missing({("t", 0): 5}, wanted) == {("t", 1): 0}
    assert last_positions({("t", 0): 0, ("t", 1): 7}) == {("t", 1): 6}


def test_read_scope_by_key_and_by_topic() -> None:
    def scope(path: str, **args: object) -> ReadScope:
        return read_scope(path, args, events_topic="e", registry_topic="r")

    assert scope("/api/2.0/mlflow/runs/get", run_id="ab").keys == (("e", "ab"),)
    assert scope("/api/v1/runs/ab").topics == ("e",)
    assert scope("/api/v1/runs/{run_id}", run_id="ab").keys == (("e", "ab"),)
    assert scope("/api/2.0/mlflow/runs/search", experiment_ids=["1"]).topics == ("e",)
    assert scope("/api/2.0/mlflow/experiments/get", experiment_id="3").keys == (("e", "3"),)
    assert scope("/api/2.0/mlflow/experiments/get-by-name", experiment_name="x").topics == ("e",)
    assert scope("/api/2.0/mlflow/model-versions/get", name="m", version="1").keys == (
        ("r", "m"),
    )
    assert scope("/api/2.0/mlflow/registered-models/search").topics == ("r",)
    assert scope("/api/v1/sql").topics == ("e", "r")
    assert scope("/readyz").empty and scope("/ui/index.html").empty
    bulk = scope("/api/2.0/mlflow/metrics/get-history-bulk-interval", run_ids=["a", "b", "a"])
    assert bulk.keys == (("e", "a"), ("e", "b"))


class Lake:
    """The lake's offsets as a test moves them; counts observations."""

    def __init__(self) -> None:
        self.snapshot = 1
        self.offsets: dict[TopicPartition, int] = {}
        self.observations = 0
        self.down = False

    async def observe(self) -> LakeObservation:
        self.observations += 1
        await asyncio.sleep(0.001)
        if self.down:
            raise LakeError("the lake is not there yet")
        return LakeObservation(self.snapshot, dict(self.offsets))

    def commit(self, tp: TopicPartition, next_offset: int) -> None:
        self.snapshot += 1
        self.offsets[tp] = next_offset


class Broker:
    """End offsets as a test sets them (an in-memory EndOffsets)."""

    def __init__(self, partitions: int = 4) -> None:
        self.partitions = partitions
        self.ends: dict[TopicPartition, int] = {}
        self.down = False

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def partition_count(self, topic: str) -> int:
        if self.down:
            raise BrokerError("broker down")
        return self.partitions

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        if self.down:
            raise BrokerError("broker down")
        return {tp: self.ends.get(tp, 0) for tp in partitions}


def test_a_header_read_waits_until_the_lake_holds_its_positions() -> None:
    lake = Lake()
    waiter = ReadAfter(lake.observe, None, timeout_s=2.0, poll_s=0.005)

    async def go() -> None:
        async def materialize_later() -> None:
            await asyncio.sleep(0.05)
            lake.commit(("e", 2), 8)

        task = asyncio.ensure_future(materialize_later())
        result = await waiter.wait("e:2:7", ReadScope())
        await task
        assert result.status == "held" and result.snapshot_id == lake.snapshot
        assert 0.04 <= result.waited_s < 1.0
        again = await waiter.wait("e:2:3", ReadScope())
        assert again.status == "held" and again.waited_s < 0.01

    asyncio.run(go())


def test_a_read_without_header_waits_for_the_end_offset_of_its_keys_partition() -> None:
    lake, broker = Lake(), Broker(partitions=4)
    waiter = ReadAfter(lake.observe, broker, timeout_s=0.2, poll_s=0.005)
    part = partition_for_key(b"run-1", 4)
    broker.ends[("e", part)] = 10
    broker.ends[("e", (part + 1) % 4)] = 50  # another partition's backlog does not matter
    scope = ReadScope(keys=(("e", "run-1"),))

    async def go() -> None:
        timed_out = await waiter.wait(None, scope)
        assert timed_out.status == "timed-out" and timed_out.waited_s >= 0.2
        assert timed_out.wanted == {("e", part): 9}
        lake.commit(("e", part), 10)
        held = await waiter.wait(None, scope)
        assert held.status == "held" and held.snapshot_id == lake.snapshot
        assert (await waiter.wait(None, ReadScope(topics=("e",)))).status == "timed-out"

    asyncio.run(go())


def test_the_wait_never_fails_a_read() -> None:
    lake, broker = Lake(), Broker()
    broker.ends[("e", 0)] = 3
    waiter = ReadAfter(lake.observe, broker, timeout_s=1.0)

    async def go() -> None:
        broker.down = True
        assert (await waiter.wait(None, ReadScope(topics=("e",)))).status == "unknown"
        broker.down = False
        lake.down = True
        assert (await waiter.wait(None, ReadScope(topics=("e",)))).status == "unknown"
        assert (await waiter.wait(None, ReadScope())).status == "none"
        assert (await ReadAfter(lake.observe, None, 1.0).wait(None, ReadScope(topics=("e",)))
                ).status == "none"
        assert (await ReadAfter(lake.observe, broker, 0).wait(None, ReadScope(topics=("e",)))
                ).status == "none"

    asyncio.run(go())


def test_concurrent_waiters_share_observations_of_the_lake() -> None:
    lake = Lake()
    waiter = ReadAfter(lake.observe, None, timeout_s=2.0, poll_s=0.01)

    async def go() -> None:
        async def materialize_later() -> None:
            await asyncio.sleep(0.1)
            lake.commit(("e", 0), 1)

        task = asyncio.ensure_future(materialize_later())
        results = await asyncio.gather(*(waiter.wait("e:0:0", ReadScope()) for _ in range(50)))
        await task
        assert {r.status for r in results} == {"held"}
        # About one observation per poll interval, not one per waiter and interval.
        assert lake.observations < 40

    asyncio.run(go())
