"""The materializer: a consumer-group member that projects the log into the lake.

Run it with :func:`run_materializer` (the ``runstream materialize`` command). Lake
work happens in a worker thread so the event loop keeps heart-beating the group
while Parquet files are written. Every wait of the event loop is bounded or ends on
a stop, so a member stops within seconds of SIGTERM and keeps reporting its status
whatever state the broker and the object store are in.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Iterable

from runstream.config import Settings
from runstream.errors import BrokerError, LakeConflictError, LakeError
from runstream.events.records import Record, TopicPartition
from runstream.kafka.consumer import ConsumerOptions, EventConsumer
from runstream.kafka.dlq import DeadLetterPublisher
from runstream.lake.connection import Lake, open_lake, stale_inlined_table
from runstream.lake.writer import LakeWriter
from runstream.materializer.batch import (
    BatchProcessor,
    Decoded,
    PreparedBatch,
    dead_letters,
    decode_records,
)
from runstream.materializer.memory import release_memory
from runstream.materializer.options import MaterializerOptions
from runstream.materializer.stats import Stats
from runstream.materializer.status import StatusReporter
from runstream.materializer.stopping import StopSignal
from runstream.materializer.upkeep import Maintainer

log = logging.getLogger("runstream.materializer")

GIL_SWITCH_INTERVAL_S = 0.0005
# Assumed message size before the first fetch: a run.metrics event of 1,000 points.
_FIRST_RECORD_BYTES = 64 * 1024
# Shutdown budget (a stop must be served within 10 s whatever the broker's state):
# the last Kafka commit, leaving the group, closing the dead-letter producer.
_STOP_COMMIT_S = 1.0
_STOP_CONSUMER_S = 3.0
_STOP_DLQ_S = 2.0
# A commit that lost to another writer (maintenance, another member) is written again
# at once, this many times in all, before the usual backoff.
_CONFLICT_ATTEMPTS = 5


class Materializer:
    """One member of the materializer group. Construct, then ``await run(stop)``."""

    def __init__(self, settings: Settings, options: MaterializerOptions | None = None) -> None:
        self.settings = settings
        self.options = options or MaterializerOptions.from_settings(settings)
        self.stats = Stats()
        # Per owned partition: the next offset the lake holds (None: nothing stored yet).
        self._positions: dict[TopicPartition, int | None] = {}
        self._lock = asyncio.Lock()
        self._writer: LakeWriter | None = None
        self._processor: BatchProcessor | None = None
        self._consumer: EventConsumer | None = None
        self._dlq: DeadLetterPublisher | None = None
        self._stop = StopSignal(threading.Event())
        self._status: StatusReporter | None = None
        # Bumped at every seek: records fetched under an older generation are stale.
        self._generation = 0
        self.maintainer: Maintainer | None = None
        # Mean message size of the last fetch, to size the next one (see _collect).
        self._record_bytes = float(_FIRST_RECORD_BYTES)
        # The last committed batch's Kafka commit, memory release and maintenance.
        self._aftermath: asyncio.Task[None] | None = None

    async def run(self, stop: threading.Event) -> None:
        """Consume and materialize until ``stop`` is set.

        Raises:
            LakeError: the lake cannot be opened at start.
            BrokerError: the broker cannot be reached at start.
        """
        s, o = self.settings, self.options
        self._writer = LakeWriter(await asyncio.to_thread(self._open_lake))
        self._processor = BatchProcessor(self._writer, artifact_root=f"s3://{s.artifacts_bucket}")
        self._consumer = EventConsumer(
            s.bootstrap,
            [s.topic_events, s.topic_registry],
            ConsumerOptions(
                group_id=o.group_id, client_id=o.member_id, session_timeout_ms=o.session_timeout_ms
            ),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
        )
        self._dlq = DeadLetterPublisher(s.bootstrap, s.topic_dlq)
        self._status = StatusReporter(
            o.member_id, self.stats, self._lag,
            every_s=o.status_every_s, idle_every_s=o.idle_status_every_s,
        )
        if o.maintenance_every_s:
            self.maintainer = Maintainer(
                s, self._lock, every_s=o.maintenance_every_s, budget_s=o.maintenance_budget_s,
                memory_limit_mb=o.maintenance_memory_limit_mb,
            )
        tasks: list[asyncio.Task[None]] = []
        try:
            async with StopSignal(stop) as self._stop:
                await self._consumer.start()
                await self._dlq.start()
                log.info("materializer %s started (group %s)", o.member_id, o.group_id)
                tasks.append(asyncio.create_task(self._status.run(), name="status"))
                if self.maintainer is not None:
                    tasks.append(asyncio.create_task(self.maintainer.run(self._stop)))
                await self._pipeline(stop)
                if tasks[1:]:  # the maintainer sees the stop: it interrupts its pass, closes
                    await asyncio.wait(tasks[1:], timeout=_STOP_CONSUMER_S)
        finally:
            for task in tasks:
                task.cancel()
            await self._consumer.stop(_STOP_CONSUMER_S)
            await self._dlq.stop(_STOP_DLQ_S)
            await asyncio.to_thread(self._writer.lake.close)
            log.info("materializer %s stopped: %s", o.member_id, self.stats.summary())

    async def _pipeline(self, stop: threading.Event) -> None:
        """Fetch and decode batch N+1 while batch N is written (two cores, two stages)."""
        pending: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                generation = self._generation
                records = await self._collect(stop)
                decoded = await asyncio.to_thread(decode_records, records) if records else None
                if pending is not None:
                    await pending
                    pending = None
                if self._generation != generation:
                    # Batch N failed, was fenced or a rebalance re-seeked while these were
                    # fetched: they may not follow the lake's offsets. Drop and re-seek.
                    if records:
                        async with self._lock:
                            await self._resync(stop, list(self._positions))
                    continue
                if records and decoded is not None:
                    pending = asyncio.create_task(self._process(records, decoded, stop))
                else:
                    await self._idle()
        finally:
            if pending is not None:
                await pending
            await self._settle(_STOP_COMMIT_S)

    # -- partitions ---------------------------------------------------------------------

    async def _on_assign(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        async with self._lock:
            stored = await self._stored_offsets(tps)
            for tp in tps:
                self._positions[tp] = stored.get(tp)
            self._generation += 1
            # Report the new partitions at once: readiness probes wait for this row.
            if self._status is not None:
                self._status.report_now()
            log.info("assigned %s at lake offsets %s", sorted(tps), stored)
            return stored

    async def _on_revoke(self, tps: list[TopicPartition]) -> None:
        # Waiting for the lock lets an in-flight batch finish before the partitions go.
        async with self._lock:
            for tp in tps:
                self._positions.pop(tp, None)

    async def _stored_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        assert self._writer is not None
        return await asyncio.to_thread(self._writer.stored_offsets, list(tps))

    async def _resync(self, stop: threading.Event, tps: Iterable[TopicPartition]) -> None:
        """Re-read the lake's offsets and seek there (after a failed or fenced batch)."""
        assert self._consumer is not None
        wanted = [tp for tp in tps if tp in self._positions]
        delay = self.options.retry_min_s
        while not stop.is_set():
            try:
                stored = await self._stored_offsets(wanted)
                break
            except LakeError as exc:
                log.warning("lake unreadable, retrying in %.1f s: %s", delay, exc)
                await self._stop.sleep(delay)
                delay = min(delay * 2, self.options.retry_max_s)
        else:
            return
        offsets = {tp: stored.get(tp) for tp in wanted}
        self._positions.update(offsets)
        self._generation += 1
        await self._consumer.seek(offsets)

    def _open_lake(self) -> Lake:
        o = self.options
        return open_lake(
            self.settings, read_only=False,
            memory_limit_mb=o.lake_memory_limit_mb, threads=o.lake_threads,
        )

    async def _reattach(self) -> None:
        """A fresh attach for the writer after DuckLake's stale inlined-table error
        (:func:`~runstream.lake.connection.stale_inlined_table`): a retry on the old
        one fails the same way, for good."""
        assert self._writer is not None
        try:
            fresh = await asyncio.to_thread(self._open_lake)
        except LakeError as exc:
            log.warning("cannot attach the lake again (the next failure tries again): %s", exc)
            return
        old = self._writer.replace_lake(fresh)
        await asyncio.to_thread(old.close)
        log.info("attached the lake again after a stale inlined-data table")

    # -- batches --------------------------------------------------------------------------

    async def _collect(self, stop: threading.Event) -> list[Record]:
        """Fetch until the batch is full (events or bytes) or its time is up."""
        assert self._consumer is not None
        o = self.options
        out: list[Record] = []
        size = 0
        deadline = time.monotonic() + o.max_ms / 1000
        while len(out) < o.max_events and size < o.max_bytes and not stop.is_set():
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            # One fetch hands over all the consumer has prefetched (tens of MB) up to the
            # record count asked: ask for about as many as fit in the bytes left, or a
            # batch overshoots max_bytes and RSS follows.
            fit = max(1, int((o.max_bytes - size) / self._record_bytes))
            # Once the batch holds something, a quiet log closes it (``idle_ms``).
            wait_ms = min(remaining_ms, o.idle_ms) if out and o.idle_ms else remaining_ms
            try:
                got = await self._consumer.fetch(min(o.max_events - len(out), fit), wait_ms)
            except BrokerError as exc:
                log.warning("fetch failed: %s", exc)
                await self._stop.sleep(o.retry_min_s)
                break
            if not got:
                if out and wait_ms < remaining_ms:
                    break  # caught up: commit now
                continue
            fetched = sum(len(r.value or b"") for r in got)
            self._record_bytes = max(1.0, fetched / len(got))
            out.extend(got)
            size += fetched
        return out

    async def _process(
        self, records: list[Record], decoded: Decoded, stop: threading.Event
    ) -> None:
        """Materialize one batch; keeps the delivery contract of :func:`run_materializer`."""
        assert self._processor is not None and self._consumer is not None
        async with self._lock:
            positions = self._positions
            batch = [r for r in records if self._unstored(r)]
            if not batch:
                return
            expected = {r.tp: positions[r.tp] for r in batch}
            started = time.monotonic()
            assert self._status is not None
            status = self._status.take()
            try:
                for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
                    prepared = await asyncio.to_thread(
                        self._processor.prepare, batch, expected, status=status,
                        decoded=decoded,
                    )
                    if prepared is None:
                        log.warning("offsets moved under this member (rebalance); re-seeking")
                        await self._resync(stop, list(positions))
                        return
                    if not await self._stop.unless_stopped(self._dead_letters(prepared, batch)):
                        await asyncio.to_thread(self._processor.abort)  # replayed after restart
                        return
                    try:
                        await asyncio.to_thread(self._processor.commit)
                        break
                    except LakeConflictError as exc:
                        if attempt == _CONFLICT_ATTEMPTS:
                            raise
                        log.info("batch commit lost to another writer, writing it again: %s",
                                 str(exc).splitlines()[-1])
            except (LakeError, BrokerError) as exc:
                await asyncio.to_thread(self._processor.abort)
                if stale_inlined_table(exc):
                    await self._reattach()
                self.stats.failures += 1
                delay = min(self.options.retry_min_s * 2 ** min(self.stats.failures, 8),
                            self.options.retry_max_s)
                log.warning("batch of %d failed, retrying in %.1f s: %s", len(batch), delay, exc)
                if not await self._stop.sleep(delay):
                    await self._write_status()  # the broker may be gone, the lake not
                    await self._resync(stop, expected)
                return
            assert prepared is not None
            self.stats.failures = 0
            positions.update(prepared.offsets)
            self.stats.record(prepared, (time.monotonic() - started) * 1000)
            log.debug("batch of %d committed in %.0f ms", len(batch), self.stats.last_commit_ms)
        # Steps 8 and after run behind the next batch's write, not before it (about
        # 30-90 ms a batch): one such task at a time, in batch order.
        await self._settle()
        self._aftermath = asyncio.create_task(self._after_commit(prepared.offsets))

    async def _after_commit(self, offsets: dict[TopicPartition, int]) -> None:
        """After a lake commit: offsets to Kafka (contract step 8), memory back."""
        assert self._consumer is not None
        await self._consumer.commit(offsets)
        # The batch's objects are gone once _process returned; hand their pages back.
        await asyncio.to_thread(release_memory)

    async def _settle(self, timeout_s: float | None = None) -> None:
        """Wait for the previous batch's after-commit work, at most ``timeout_s``.

        Past the timeout it is cancelled: its Kafka commit is bookkeeping only.
        """
        aftermath, self._aftermath = self._aftermath, None
        if aftermath is None:
            return
        if timeout_s is None:
            await aftermath
            return
        done, _ = await asyncio.wait({aftermath}, timeout=timeout_s)
        if not done:
            aftermath.cancel()
            await asyncio.wait({aftermath})

    def _unstored(self, record: Record) -> bool:
        """True for a record of an owned partition that the lake does not hold yet."""
        if record.tp not in self._positions:
            return False
        position = self._positions[record.tp]
        return position is None or record.offset >= position

    async def _dead_letters(self, prepared: PreparedBatch, batch: list[Record]) -> None:
        assert self._dlq is not None
        letters = dead_letters(prepared, batch)
        if letters:
            await self._dlq.publish(letters)
        for j in letters[:5]:
            log.warning("rejected %s:%d@%d: %s", j.topic, j.partition, j.offset, j.reason[:300])

    # -- status ---------------------------------------------------------------------------

    def _lag(self) -> dict[str, int]:
        assert self._consumer is not None
        out: dict[str, int] = {}
        for tp, high in self._consumer.highwaters().items():
            pos = self._positions.get(tp)
            out[f"{tp[0]}:{tp[1]}"] = max(0, high - (pos or 0))
        return out

    async def _idle(self) -> None:
        async with self._lock:
            await self._write_status()

    async def _write_status(self) -> None:
        """Write the status row alone if one is due (caller holds the lock)."""
        status = self._status.take_alone() if self._status is not None else None
        if status is None or self._writer is None:
            return
        try:
            await asyncio.to_thread(self._writer.write_status, status)
        except LakeError as exc:
            log.warning("status not written: %s", exc)


def run_materializer(
    settings: Settings, stop_event: threading.Event, options: MaterializerOptions | None = None
) -> None:
    """Run one materializer until ``stop_event`` is set (``runstream materialize``).

    Delivery contract, kept by :meth:`Materializer._process` for every micro-batch:

    1. On assignment (start and every rebalance) each partition is positioned at the
       next offset stored in the lake's ``consumer_offsets`` (its beginning if none);
       Kafka's committed offsets are never read.
    2. A batch closes at ``max_events`` messages, ``max_bytes`` bytes or ``max_ms``, or when
       no message came for ``idle_ms`` after the last (the log is caught up).
       Records below the position of their partition (already in the lake) and of
       partitions no longer owned are dropped.
    3. One lake transaction opens. It first checks that ``consumer_offsets`` still
       holds this member's positions; if another member moved them (a rebalance
       raced this batch), the batch is dropped and the partitions re-seek (step 1).
    4. Messages are decoded; undecodable ones become rejections. Decoded events are
       deduplicated by event id, within the batch and against the lake (ids above
       every partition's ``consumer_offsets.max_event_id`` are answered from memory
       while no other member commits: ``core.stored_ids``; the rest from ``events``),
       then reduced (``core.projection``) against the state the lake holds.
    5. In the same transaction: the projected rows, the metric points and latest
       metrics, the raw accepted events, the rejected events, and the new offsets
       (last offset + 1 per partition, rejected and duplicate messages included)
       with each partition's largest stored event id.
    6. Rejections are published to the dead-letter topic and acknowledged by the
       broker BEFORE the commit (at-least-once to the DLQ).
    7. The transaction commits: rows and offsets become visible together, or not at
       all. Any failure in steps 3-7 rolls back, waits (exponential backoff while the
       object store or broker is down) and re-seeks to the lake's offsets.
    8. Only then are offsets committed to Kafka, for lag tools; a failure there is
       ignored because step 1 never reads them.

    A crash at any point therefore replays exactly the messages after the last
    committed batch; nothing is lost and nothing is applied twice.

    Args:
        settings: this process's settings.
        stop_event: set it (from a signal handler or another thread) to stop after
            the current batch.
        options: tuning; defaults from ``settings``.
    """
    # The writer thread re-takes the GIL after every DuckDB call while the decoder
    # thread holds it; at Python's default 5 ms switch interval each hand-over waited
    # up to 5 ms (measured: batch state reads 90-270 ms instead of about 25 ms).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    asyncio.run(Materializer(settings, options).run(stop_event))


__all__ = ["Materializer", "run_materializer"]
