"""``runstream sync``: publish an offline spool exactly once, and say what is pending.

The contract, kept by :func:`sync_spool`:

1. Artifacts first: every file under ``_artifacts/<bucket>/<key>`` is uploaded to
   that bucket and key, then deleted locally; an ``artifact.logged`` event published
   later thus never points at a missing object. A repeated upload rewrites the same
   object.
2. Then, for each key's ``events.spool``, the complete records after the count in
   ``events.synced`` are sent in order, in chunks, to the topic their record names
   (events or registry, of *this* environment's topics).
3. Only after every message of a chunk is acknowledged does ``events.synced`` move
   past it (written to a temporary file and renamed, so it is never half written).
4. An interruption anywhere repeats at most the last chunk on the next sync; the
   materializer drops those duplicates by event id, so every complete event lands
   exactly once however often sync runs or is interrupted.
5. A torn last record (a process killed mid-write) is never sent; it is reported
   with its size, and the complete records before it are synced.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runstream.errors import DeliveryError
from runstream.kafka.producer import OutgoingMessage, SendFailure
from runstream.sdk.offline import ARTIFACTS_FOLDER
from runstream.sdk.spool import EVENTS_FILE, SYNCED_FILE, read_spool
from runstream.sdk.transport import EventSink

CHUNK = 500


class Uploader(Protocol):
    """Puts one local file into the object store (``ObjectStore.put_file``)."""

    def put_file(self, bucket: str, key: str, path: str, content_type: str = "") -> None:
        """Uploads ``path`` as ``bucket/key``."""


@dataclass(frozen=True)
class KeyStatus:
    """What one key's spool holds.

    Attributes:
        folder: the key's folder.
        complete: complete records in the file.
        synced: records already published.
        torn_bytes: bytes of a torn last record (never published).
    """

    folder: Path
    complete: int
    synced: int
    torn_bytes: int

    @property
    def pending(self) -> int:
        """Records still to publish."""
        return max(0, self.complete - self.synced)


@dataclass(frozen=True)
class SpoolStatus:
    """A spool's state: per key, and the artifact files waiting for upload."""

    keys: list[KeyStatus]
    artifacts_pending: int


def _synced(folder: Path) -> int:
    try:
        return int((folder / SYNCED_FILE).read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_synced(folder: Path, count: int) -> None:
    tmp = folder / (SYNCED_FILE + ".tmp")
    tmp.write_text(str(count))
    os.replace(tmp, folder / SYNCED_FILE)


def _artifact_files(root: Path) -> list[Path]:
    base = root / ARTIFACTS_FOLDER
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def spool_status(root: Path) -> SpoolStatus:
    """Reads what a spool holds and what is still to publish (nothing is sent)."""
    keys = []
    for file in sorted(root.glob(f"*/{EVENTS_FILE}")):
        records, torn = read_spool(file)
        keys.append(KeyStatus(file.parent, len(records), _synced(file.parent), torn))
    return SpoolStatus(keys, len(_artifact_files(root)))


def upload_artifacts(root: Path, store: Uploader) -> int:
    """Step 1: uploads and removes every waiting artifact file; returns how many."""
    base = root / ARTIFACTS_FOLDER
    count = 0
    for path in _artifact_files(root):
        bucket, _, key = path.relative_to(base).as_posix().partition("/")
        store.put_file(bucket, key, str(path))
        path.unlink()
        count += 1
    return count


async def publish_events(
    root: Path,
    sink_factory: Callable[[], EventSink],
    topic_of: Callable[[bool], str],
    stop_after: int | None = None,
) -> int:
    """Steps 2-5: publishes every key's pending records; returns how many were sent.

    Args:
        root: the spool folder.
        sink_factory: the broker's producer.
        topic_of: topic name for ``registry`` True or False.
        stop_after: stop after this many chunks (tests of an interrupted sync).

    Raises:
        DeliveryError: a message was not acknowledged (the count stays before its chunk).
    """
    sink = sink_factory()
    await sink.start()
    sent = chunks = 0
    try:
        for file in sorted(root.glob(f"*/{EVENTS_FILE}")):
            records, _torn = read_spool(file)
            done = _synced(file.parent)
            for start in range(done, len(records), CHUNK):
                if stop_after is not None and chunks >= stop_after:
                    return sent
                part = records[start : start + CHUNK]
                messages = [OutgoingMessage(topic_of(r.registry), r.key, r.value) for r in part]
                results = await sink.send_all(messages)
                failures = [f for f in results if isinstance(f, SendFailure)]
                if failures:
                    raise DeliveryError(
                        f"{len(failures)} of {len(part)} events of {file} were not delivered "
                        f"({failures[0].reason}); run `runstream sync` again"
                    )
                _write_synced(file.parent, start + len(part))
                sent += len(part)
                chunks += 1
    finally:
        await sink.stop()
    return sent


def sync_spool(
    root: Path,
    store: Uploader,
    sink_factory: Callable[[], EventSink],
    topic_of: Callable[[bool], str],
    stop_after: int | None = None,
) -> tuple[int, int]:
    """Publishes a spool (the module's contract); returns (artifacts uploaded, events sent)."""
    uploaded = upload_artifacts(root, store)
    sent = asyncio.run(publish_events(root, sink_factory, topic_of, stop_after))
    return uploaded, sent


__all__ = [
    "KeyStatus",
    "SpoolStatus",
    "publish_events",
    "spool_status",
    "sync_spool",
    "upload_artifacts",
]
