"""Read-your-writes: a read waits, bounded, until the lake holds what was written before it.

The rules of positions live in :mod:`runstream.core.positions`; this module applies
them to one request. Contract of :meth:`ReadAfter.wait`:

1. The positions to wait for are those of the request's
   ``X-Runstream-Read-After`` header (the SDK sends the highest position it
   produced per partition). Without the header (MLflow's client), they are the
   last positions the broker reports *at read time* for the partitions holding
   what the request reads: the partition of each run, experiment or model key
   (hashed as the producer does), or every partition of the topic for searches.
   End offsets come through the :class:`EndOffsets` protocol, which the
   composition root fills with a Kafka-backed implementation; the query package
   never talks to the broker itself.
2. The lake's ``consumer_offsets`` are observed through one shared, single-flight
   read (concurrent waiters share each observation). Offsets only grow, so an
   observation that holds the positions keeps holding them: a waiter whose
   positions are held by the newest observation returns at once.
3. Otherwise the waiter observes again every ``poll_s`` until the positions are
   held or ``timeout_s`` has passed since the wait began; an observation still
   running at the deadline is not waited for.
4. The result names the snapshot of the observation that held the positions; the
   request's read session then reads that snapshot or a newer one, and skips a
   run index older than it. A timed-out wait still answers (with what the lake
   has) and says so. When the broker cannot tell its end offsets (down, slow),
   the wait ends at once with status ``unknown``; a read is never failed by it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from runstream.core.positions import (
    TopicPartition,
    holds,
    last_positions,
    parse_read_after,
    partition_for_key,
)
from runstream.errors import RunstreamError
from runstream.query.read.health import lake_offsets
from runstream.query.read.session import LakeAccess

log = logging.getLogger("runstream.query.read_after")

FreshnessStatus = Literal["held", "timed-out", "unknown", "none", "mirrored"]
"""``held``: the lake holds the positions; ``timed-out``: it did not within the bound;
``unknown``: the broker could not say what to wait for; ``none``: nothing to wait for;
``mirrored``: answered from this server's own writes, which the lake does not hold yet."""

DEFAULT_POLL_S: Final = 0.01
# The broker must answer an end-offsets request within this (or the read goes on).
END_OFFSETS_TIMEOUT_S: Final = 1.0


class EndOffsets(Protocol):
    """The broker's end offsets, as the query service needs them (Kafka-backed in production)."""

    async def start(self) -> None:
        """Prepare (connect lazily if the broker is not up yet); never raises for a down broker."""
        ...

    async def stop(self) -> None:
        """Close connections."""
        ...

    async def partition_count(self, topic: str) -> int:
        """Partitions of ``topic``.

        Raises:
            BrokerError: the broker did not answer.
        """
        ...

    async def end_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset the broker will write in each partition.

        Raises:
            BrokerError: the broker did not answer.
        """
        ...


@dataclass(frozen=True)
class ReadScope:
    """What one read reads, as the log partitions it: keys per topic, or whole topics.

    Attributes:
        keys: ``(topic, key)`` of each run, experiment or model read by key.
        topics: topics read across all their partitions (searches, SQL).
    """

    keys: tuple[tuple[str, str], ...] = ()
    topics: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing of the log is read."""
        return not self.keys and not self.topics


@dataclass(frozen=True)
class LakeObservation:
    """The lake's ``consumer_offsets`` as one snapshot held them."""

    snapshot_id: int
    next_offsets: Mapping[TopicPartition, int]


@dataclass(frozen=True)
class Freshness:
    """What a read waited for, and how it went.

    Attributes:
        status: see :data:`FreshnessStatus`.
        snapshot_id: the lake snapshot seen holding the positions (0: none observed).
        waited_s: time spent waiting.
        wanted: the positions waited for (highest offset per partition).
    """

    status: FreshnessStatus
    snapshot_id: int = 0
    waited_s: float = 0.0
    wanted: Mapping[TopicPartition, int] | None = None


NO_WAIT: Final = Freshness("none")

LakeOffsets = Callable[[], Awaitable[LakeObservation]]


class ReadAfter:
    """Waits for the lake to hold a read's positions; see the module docstring.

    The constructor opens nothing.

    Args:
        lake_offsets: reads the lake's ``consumer_offsets`` once (async; runs the
            read off the event loop).
        end_offsets: the broker's end offsets, or None (reads without the header
            then do not wait).
        timeout_s: the longest wait (``0``: never wait).
        poll_s: pause between observations of the lake.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        lake_offsets: LakeOffsets,
        end_offsets: EndOffsets | None,
        timeout_s: float,
        *,
        poll_s: float = DEFAULT_POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lake_offsets = lake_offsets
        self.end_offsets = end_offsets
        self.timeout_s = timeout_s
        self._poll_s = poll_s
        self._clock = clock
        self._newest: LakeObservation | None = None
        self._newest_at = float("-inf")
        self._inflight: asyncio.Future[LakeObservation] | None = None

    async def wanted(
        self, header: str | None, scope: ReadScope
    ) -> dict[TopicPartition, int] | None:
        """The positions a read must wait for (step 1); None when the broker cannot tell.

        Raises:
            ValidationError: a malformed header (the caller's 400).
        """
        if header is not None and header.strip():
            return parse_read_after(header)
        if self.end_offsets is None or scope.empty:
            return {}
        try:
            partitions = await asyncio.wait_for(self._partitions(scope), END_OFFSETS_TIMEOUT_S)
            ends = await asyncio.wait_for(
                self.end_offsets.end_offsets(partitions), END_OFFSETS_TIMEOUT_S
            )
        except (RunstreamError, TimeoutError) as exc:
            log.debug("no end offsets for %s: %s", scope, exc)
            return None
        return last_positions(ends)

    async def _partitions(self, scope: ReadScope) -> list[TopicPartition]:
        assert self.end_offsets is not None
        counts: dict[str, int] = {}
        for topic in {*scope.topics, *(t for t, _k in scope.keys)}:
            counts[topic] = await self.end_offsets.partition_count(topic)
        out = {(t, p) for t in scope.topics for p in range(counts[t])}
        out.update((t, partition_for_key(k.encode(), counts[t])) for t, k in scope.keys)
        return sorted(out)

    async def wait(self, header: str | None, scope: ReadScope) -> Freshness:
        """Wait until the lake holds what this read must see (steps 1-4).

        Raises:
            ValidationError: a malformed header.
        """
        if self.timeout_s <= 0 and not header:
            return NO_WAIT
        started = self._clock()
        wanted = await self.wanted(header, scope)
        if wanted is None:
            return Freshness("unknown", waited_s=self._clock() - started)
        if not wanted:
            return NO_WAIT
        deadline = started + self.timeout_s
        while True:
            newest = self._newest
            if newest is not None and holds(newest.next_offsets, wanted):
                return Freshness("held", newest.snapshot_id, self._clock() - started, wanted)
            now = self._clock()
            if now >= deadline:
                snapshot = newest.snapshot_id if newest is not None else 0
                return Freshness("timed-out", snapshot, now - started, wanted)
            pause = self._newest_at + self._poll_s - now
            if newest is not None and pause > 0:
                await asyncio.sleep(min(pause, deadline - now))
            try:
                # A slow observation (a loaded machine) must not carry the wait past its bound.
                await asyncio.wait_for(self._observe(), max(0.001, deadline - self._clock()))
            except TimeoutError:
                continue
            except RunstreamError as exc:  # the lake is not there yet: the read says so itself
                log.debug("cannot observe the lake's offsets: %s", exc)
                return Freshness("unknown", waited_s=self._clock() - started, wanted=wanted)

    def holding(self, wanted: Mapping[TopicPartition, int]) -> LakeObservation | None:
        """The newest observation if it holds ``wanted``, else None; never waits.

        For a caller with another way to answer (a mirror of its own writes). When
        the newest observation does not hold ``wanted``, a new one is started in the
        background (shared with every waiter), so a later call sees the lake catch up.
        """
        newest = self._newest
        if newest is not None and holds(newest.next_offsets, wanted):
            return newest
        if self._inflight is None:
            task = asyncio.ensure_future(self._observe())
            task.add_done_callback(_ignore_failure)
        return None

    async def _observe(self) -> LakeObservation:
        """One observation of the lake, shared by every waiter that asks meanwhile (step 2).

        The read runs as its own task, so a waiter that goes away (the client
        hung up) does not cancel it for the others.
        """
        inflight = self._inflight
        if inflight is None:
            inflight = asyncio.ensure_future(self._lake_offsets())
            inflight.add_done_callback(self._observed)
            self._inflight = inflight
        return await asyncio.shield(inflight)

    def _observed(self, task: asyncio.Future[LakeObservation]) -> None:
        if self._inflight is task:
            self._inflight = None
        if task.cancelled() or task.exception() is not None:
            return
        observation = task.result()
        newest = self._newest
        if newest is None or observation.snapshot_id >= newest.snapshot_id:
            self._newest = observation
            self._newest_at = self._clock()


def _ignore_failure(task: asyncio.Future[LakeObservation]) -> None:
    """A background observation that failed leaves the newest one in place."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("a background observation of the lake failed: %s", task.exception())


def lake_observer(lake: LakeAccess) -> LakeOffsets:
    """Observations of the lake's ``consumer_offsets``, read off the event loop."""

    def observe() -> LakeObservation:
        with lake.session() as session:
            offsets = lake_offsets(session)
            return LakeObservation(session.snapshot_id, offsets)

    async def observe_async() -> LakeObservation:
        return await asyncio.to_thread(observe)

    return observe_async


__all__ = [
    "DEFAULT_POLL_S",
    "END_OFFSETS_TIMEOUT_S",
    "NO_WAIT",
    "EndOffsets",
    "Freshness",
    "FreshnessStatus",
    "LakeObservation",
    "LakeOffsets",
    "ReadAfter",
    "ReadScope",
    "lake_observer",
]
