"""One micro-batch, from Kafka records to one lake transaction.

:class:`BatchProcessor` is synchronous and does blocking lake I/O; the async loop
runs it in a worker thread. It is also what ``rebuild`` replays the archive with,
so the live lake and a rebuilt one are made by the same code.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runstream.core.projection import (
    BatchResult,
    Delivered,
    Rejection,
    reduce_batch,
    state_keys,
)
from runstream.core.stored_ids import StoredEventIds, StoredPosition
from runstream.errors import EventDecodeError
from runstream.events import EventType, decode
from runstream.kafka.dlq import DeadLetter
from runstream.kafka.records import Record, TopicPartition
from runstream.lake.writer import LakeWriter, StatusRow, metric_columns

log = logging.getLogger("runstream.materializer.batch")

Decoded = tuple[list[Delivered], list[Rejection]]


def decode_records(records: Sequence[Record]) -> Decoded:
    """Decode records into events; undecodable ones become rejections with the reason.

    Metric points are also converted to Arrow columns here: the pipeline decodes the
    next batch while the current one is written, so this work leaves the writer's
    critical path.
    """
    delivered: list[Delivered] = []
    rejected: list[Rejection] = []
    for r in records:
        value = r.value or b""
        try:
            event = decode(value)
        except EventDecodeError as exc:
            detail = f"{exc} (at {exc.path})" if exc.path else str(exc)
            rejected.append(
                Rejection(r.topic, r.partition, r.offset, value, None, exc.reason, detail)
            )
            continue
        columns = None
        if event.type is EventType.RUN_METRICS:
            body = event.body
            columns = metric_columns(body.keys, body.values, body.steps, body.timestamps)
        delivered.append(Delivered(r.topic, r.partition, r.offset, value, event, columns))
    return delivered, rejected


def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last record of the batch."""
    out: dict[TopicPartition, int] = {}
    for r in records:
        out[r.tp] = max(out.get(r.tp, 0), r.offset + 1)
    return out


@dataclass
class PreparedBatch:
    """A batch reduced and written, its transaction still open.

    Attributes:
        result: the reducer's output (rejections include undecodable records).
        offsets: next offset per partition, stored with the rows.
        records: number of records in the batch.
        rows: rows written (metric points included).
    """

    result: BatchResult
    offsets: dict[TopicPartition, int]
    records: int
    rows: int


def _ids_by_partition(events: Sequence[Delivered]) -> dict[TopicPartition, list[str]]:
    out: dict[TopicPartition, list[str]] = defaultdict(list)
    for d in events:
        out[(d.topic, d.partition)].append(d.event.event_id)
    return out


class BatchProcessor:
    """Turns record batches into lake transactions through one :class:`LakeWriter`."""

    def __init__(self, writer: LakeWriter, *, artifact_root: str) -> None:
        self._writer = writer
        self._artifact_root = artifact_root
        self._stored_ids = StoredEventIds()
        # The prepared batch's new positions and stored ids, applied to
        # ``_stored_ids`` once it commits.
        self._pending: tuple[dict[TopicPartition, StoredPosition], dict[TopicPartition, list[str]]]
        self._pending = ({}, {})

    def _in_step(self, expected: Mapping[TopicPartition, int | None]) -> bool:
        """Check the batch's partitions' offsets in the open transaction (fencing).

        False if the lake's offsets differ from ``expected`` (another member wrote
        there). Otherwise the memory of stored ids is brought in step with the lake.
        """
        stored = self._writer.stored_positions()
        for tp, offset in expected.items():
            pos = stored.get(tp)
            if (pos.next_offset if pos else None) != offset:
                return False
        if not self._stored_ids.is_current({tp: p.next_offset for tp, p in stored.items()}):
            self._stored_ids.sync(
                {
                    tp: p if p.max_event_id is not None
                    # a row from an older release: look the id up once
                    else StoredPosition(p.next_offset, self._writer.max_event_id(tp))
                    for tp, p in stored.items()
                }
            )
        return True

    def prepare(
        self,
        records: Sequence[Record],
        expected: Mapping[TopicPartition, int | None],
        *,
        status: StatusRow | None = None,
        decoded: Decoded | None = None,
    ) -> PreparedBatch | None:
        """Open a transaction, check fencing, reduce and write the batch; do not commit.

        Args:
            records: the batch, in log order per partition.
            expected: per partition of the batch, the offset this member believes the
                lake holds (None: none stored yet).
            status: a ``materializer_status`` row to write with the batch.
            decoded: ``decode_records`` of a superset of ``records``, done ahead of time
                (the pipeline decodes the next batch while this one is written).

        Returns:
            The prepared batch, or None if another member moved the offsets (fenced:
            the transaction is rolled back and the caller must re-seek).

        Raises:
            LakeError: the lake failed; the transaction is rolled back.
        """
        t0 = time.perf_counter()
        if decoded is None:
            delivered, undecodable = decode_records(records)
        else:
            # The caller may have dropped records (already stored, partition revoked).
            kept = {(r.topic, r.partition, r.offset) for r in records}
            delivered = [d for d in decoded[0] if (d.topic, d.partition, d.offset) in kept]
            undecodable = [j for j in decoded[1] if (j.topic, j.partition, j.offset) in kept]
        t1 = time.perf_counter()
        self._writer.begin()
        try:
            if not self._in_step(expected):
                self._writer.rollback()
                return None
            seen, ask = self._stored_ids.split(d.event.event_id for d in delivered)
            keys = dataclasses.replace(state_keys(delivered), event_ids=frozenset(ask))
            state = self._writer.load_state(keys)
            state.seen_event_ids |= seen
            t2 = time.perf_counter()
            result = reduce_batch(delivered, state, artifact_root=self._artifact_root)
            result.rejections[:0] = undecodable
            offsets = next_offsets(records)
            stored = _ids_by_partition(result.accepted)
            positions = {
                tp: StoredPosition(o, self._stored_ids.newest(tp, stored.get(tp, ())))
                for tp, o in offsets.items()
            }
            t3 = time.perf_counter()
            rows = self._writer.write_batch(
                result, positions, now_ms=time.time_ns() // 1_000_000, status=status
            )
        except BaseException:
            self._writer.rollback()
            raise
        self._pending = (positions, stored)
        t4 = time.perf_counter()
        log.debug(
            "batch of %d: decode %.0f ms, state %.0f ms, reduce %.0f ms, write %.0f ms",
            len(records), (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3,
        )
        return PreparedBatch(result, offsets, len(records), rows)

    def commit(self) -> None:
        """Commit the prepared batch (rows, raw events and offsets together).

        Raises:
            LakeError: the commit failed and nothing of the batch is visible.
        """
        started = time.perf_counter()
        positions, stored = self._pending
        self._pending = ({}, {})
        try:
            self._writer.commit()
        except BaseException:
            self._writer.rollback()
            raise
        self._stored_ids.record({tp: p.next_offset for tp, p in positions.items()}, stored)
        log.debug("commit %.0f ms", (time.perf_counter() - started) * 1e3)

    def abort(self) -> None:
        """Roll back a prepared batch (e.g. the dead-letter topic was unreachable)."""
        self._pending = ({}, {})
        self._writer.rollback()


def dead_letters(prepared: PreparedBatch, batch: Sequence[Record]) -> list[DeadLetter]:
    """The batch's rejections as dead letters, each with its original key."""
    keys = {(r.topic, r.partition, r.offset): r.key for r in batch}
    return [
        DeadLetter(
            j.topic, j.partition, j.offset, keys.get((j.topic, j.partition, j.offset)),
            j.payload, j.text, j.event_id,
        )
        for j in prepared.result.rejections
    ]


__all__ = [
    "BatchProcessor",
    "Decoded",
    "PreparedBatch",
    "dead_letters",
    "decode_records",
    "next_offsets",
]
