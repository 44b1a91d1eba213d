"""The live stream of runs' new metric points, read straight from the log.

The lake stays the source of truth; the stream only shows points before the lake
has them. Its frames are Server-Sent Events:

- ``hello``: the runs, the partition of each, and where the stream starts in each, and the
  offsets the lake held in the snapshot the start was taken from.
- ``metrics``: one ``run.metrics`` event of a watched run: its partition and offset,
  event id and the four columns (``keys``, ``steps``, ``timestamps``, ``values``;
  non-finite values as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``).
- ``status``: a watched run ended (``status``, ``end_time``).
- ``covered``: nothing to send for a while; the offsets read so far.

Every frame's ``id`` is the cursor after it (:mod:`runstream.query.live.cursor`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from runstream.errors import EventDecodeError
from runstream.events import decode
from runstream.events.event_types import EventType
from runstream.query.live.cursor import format_cursor
from runstream.query.live.port import LogRecord, LogTail

# Duplicates (producer retries) come close together: remember this many event ids.
_SEEN_IDS = 100_000


@dataclass(frozen=True)
class LiveRequest:
    """What one stream watches and where it starts.

    Attributes:
        run_ids: the watched runs.
        starts: partition -> next offset to read.
        lake_offsets: partition -> next offset the lake held in ``lake_snapshot``
            (the stream starts there unless resumed from a cursor).
        lake_snapshot: the snapshot ``lake_offsets`` were read from.
        resumed: the start came from a ``Last-Event-ID``.
        partitions: run id -> the partition holding its events.
    """

    run_ids: tuple[str, ...]
    starts: dict[int, int]
    lake_offsets: dict[int, int]
    lake_snapshot: int
    resumed: bool = False
    partitions: dict[str, int] = field(default_factory=dict)


@dataclass
class _Dedupe:
    seen: set[str] = field(default_factory=set)
    order: deque[str] = field(default_factory=deque)

    def first_time(self, event_id: str) -> bool:
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        self.order.append(event_id)
        if len(self.order) > _SEEN_IDS:
            self.seen.discard(self.order.popleft())
        return True


def frame(name: str, cursor: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event."""
    return b"event: %s\nid: %s\ndata: %s\n\n" % (name.encode(), cursor.encode(), orjson.dumps(data))


def _payload(record: LogRecord) -> tuple[str, dict[str, Any]] | None:
    """The frame name and data of one record of a watched run, or None to skip it.

    Only valid events are shown (the decoder's rules, as the materializer's): one
    it rejects never reaches the lake, so it must not reach a chart either.
    """
    if record.value is None:
        return None
    try:
        event = decode(record.value)
    except EventDecodeError:
        return None
    where = {"partition": record.partition, "offset": record.offset, "event_id": event.event_id}
    if event.type is EventType.RUN_METRICS:
        body = orjson.loads(record.value)["body"]  # the wire form keeps "NaN" as text
        return "metrics", {
            "run_id": event.run_id,
            **where,
            "keys": body["keys"],
            "steps": body["steps"],
            "timestamps": body["timestamps"],
            "values": body["values"],
        }
    if event.type is EventType.RUN_ENDED:
        body = orjson.loads(record.value)["body"]
        return "status", {
            "run_id": event.run_id,
            **where,
            "status": body.get("status"),
            "end_time": body.get("end_time"),
        }
    return None


async def live_frames(
    tail: LogTail,
    req: LiveRequest,
    disconnected: Callable[[], Awaitable[bool]],
    *,
    poll_s: float = 0.2,
    covered_every_s: float = 1.0,
) -> AsyncIterator[bytes]:
    """The stream's frames until the client goes away.

    Contract:

    1. The ``hello`` frame comes first; its id is the start cursor.
    2. Partitions are read from ``req.starts``; every record advances its
       partition's position, whether it is shown or not.
    3. A record is shown when its key is a watched run, it decodes, and its event
       id was not shown before on this stream (producer retries duplicate events;
       the lake drops the copies, so the stream does too).
    4. Each frame's id is the cursor after its record, so resuming from it never
       repeats that record nor skips a later one.
    5. Without anything to show for ``covered_every_s``, a ``covered`` frame says
       how far the stream has read, so a resume skips the records already looked at.
    """
    positions = dict(req.starts)
    wanted = {r.encode(): r for r in req.run_ids}
    dedupe = _Dedupe()
    yield frame(  # 1
        "hello",
        format_cursor(positions),
        {
            "run_ids": list(req.run_ids),
            "partitions": req.partitions,
            "topic": tail.topic,
            "starts": {str(p): o for p, o in positions.items()},
            "lake_offsets": {str(p): o for p, o in req.lake_offsets.items()},
            "lake_snapshot": req.lake_snapshot,
            "resumed": req.resumed,
        },
    )
    last_sent = time.monotonic()
    async with tail.reader(positions) as reader:  # 2
        while not await disconnected():
            for record in await reader.poll(poll_s):
                positions[record.partition] = record.offset + 1
                if record.key not in wanted:
                    continue
                shown = _payload(record)
                if shown is None or not dedupe.first_time(shown[1]["event_id"]):  # 3
                    continue
                yield frame(shown[0], format_cursor(positions), shown[1])  # 4
                last_sent = time.monotonic()
            if time.monotonic() - last_sent >= covered_every_s:  # 5
                offsets = {str(p): o for p, o in positions.items()}
                yield frame("covered", format_cursor(positions), {"offsets": offsets})
                last_sent = time.monotonic()


__all__ = ["LiveRequest", "frame", "live_frames"]
