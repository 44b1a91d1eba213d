"""The offline spool: an append-only, checksummed local file of events per run.

When the broker cannot be reached (or with ``RUNSTREAM_OFFLINE=1``) the SDK's sender
delivers to a :class:`SpoolSink` instead of Kafka; training never notices. Each Kafka
key (a run, an experiment, a model) has its own folder, so a run's events and its
artifacts live together::

    <spool>/<key>/events.spool      records, in the order the sender delivered them
    <spool>/<key>/artifacts/...     artifact files that could not be uploaded
    <spool>/<key>/events.synced     how many records ``runstream sync`` published

A record is ``b"RS" | u32 length | u32 crc32(payload) | payload`` with
``payload = u8 registry | u16 key length | key | value``. A process killed in the
middle of a write leaves a torn last record: :func:`read_spool` returns every
complete record before it and the number of bytes it could not read.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runstream.errors import DeliveryError
from runstream.kafka.producer import OutgoingMessage, SendFailure

EVENTS_FILE = "events.spool"
SYNCED_FILE = "events.synced"
ARTIFACTS_DIR = "artifacts"
_MAGIC = b"RS"
_HEADER = struct.Struct(">2sII")
_KEY_LEN = struct.Struct(">BH")


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    """One event read back from a spool.

    Attributes:
        registry: True for the registry topic, False for the events topic.
        key: the Kafka key.
        value: the encoded event.
    """

    registry: bool
    key: bytes
    value: bytes


def encode_record(registry: bool, key: bytes, value: bytes) -> bytes:
    """One record's bytes."""
    payload = _KEY_LEN.pack(int(registry), len(key)) + key + value
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


def read_spool(path: Path) -> tuple[list[SpooledEvent], int]:
    """Every complete record of a spool file, and how many bytes after them are torn.

    Reading stops at the first record that is cut short or fails its checksum:
    records are appended in order, so nothing after a torn one was complete.
    """
    data = path.read_bytes() if path.exists() else b""
    events: list[SpooledEvent] = []
    at = 0
    while at + _HEADER.size <= len(data):
        magic, length, crc = _HEADER.unpack_from(data, at)
        start, end = at + _HEADER.size, at + _HEADER.size + length
        if magic != _MAGIC or end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        registry, key_len = _KEY_LEN.unpack_from(data, start)
        key_at = start + _KEY_LEN.size
        events.append(
            SpooledEvent(
                bool(registry), data[key_at : key_at + key_len], data[key_at + key_len : end]
            )
        )
        at = end
    return events, len(data) - at


def key_folder(root: Path, key: bytes) -> Path:
    """The folder of one Kafka key (a run id, experiment id or model name) in the spool."""
    name = key.decode()
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"
    return root / safe


class SpoolSink:
    """An ``EventSink`` that appends to the spool instead of sending to Kafka.

    Args:
        root: the spool folder.
        topic_registry: the registry topic's name (its messages are marked registry).
    """

    def __init__(self, root: Path, topic_registry: str) -> None:
        self.root = root
        self._registry = topic_registry
        self._files: dict[bytes, IO[bytes]] = {}

    async def start(self) -> None:
        """Creates the spool folder.

        Raises:
            DeliveryError: it cannot be created.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create the offline spool {self.root}: {exc}") from exc

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[SendFailure | None]:
        """Appends every message to its key's file, then flushes them to the OS.

        A flush per round, not an fsync per message: a killed process loses nothing
        the OS has; a power cut may lose the last round (its tail is then torn).
        """
        results: list[SendFailure | None] = []
        touched: set[bytes] = set()
        for message in messages:
            try:
                handle = self._files.get(message.key) or self._open(message.key)
                handle.write(
                    encode_record(message.topic == self._registry, message.key, message.value)
                )
                touched.add(message.key)
                results.append(None)
            except OSError as exc:
                results.append(SendFailure(True, f"cannot write the offline spool: {exc}"))
        for key in touched:
            self._files[key].flush()
        return results

    def _open(self, key: bytes) -> IO[bytes]:
        folder = key_folder(self.root, key)
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / EVENTS_FILE).open("ab")
        self._files[key] = handle
        return handle

    async def stop(self) -> None:
        """Closes the files (with an fsync: the process is ending)."""
        for handle in self._files.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        self._files.clear()


__all__ = [
    "ARTIFACTS_DIR",
    "EVENTS_FILE",
    "SYNCED_FILE",
    "SpoolSink",
    "SpooledEvent",
    "encode_record",
    "key_folder",
    "read_spool",
]
