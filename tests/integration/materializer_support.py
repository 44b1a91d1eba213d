"""Helpers for materializer integration tests: produce, run, wait, read the lake."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from runstream.config import Ports, Settings
from runstream.errors import LakeError
from runstream.events import Envelope, encode, event_key, topic_kind
from runstream.lake.reader import DuckLakeReader
from runstream.materializer.loop import run_materializer
from runstream.materializer.options import MaterializerOptions

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def topic_of(settings: Settings, event: Envelope[Any]) -> str:
    """The topic an event belongs to."""
    registry = topic_kind(event.type) == "registry"
    return settings.topic_registry if registry else settings.topic_events


def messages(settings: Settings, events: Sequence[Envelope[Any]]) -> list[tuple[str, bytes, bytes]]:
    """``(topic, key, value)`` of events, ready for :func:`produce`."""
    return [(topic_of(settings, e), event_key(e), encode(e)) for e in events]


def produce(settings: Settings, items: Sequence[tuple[str, bytes | None, bytes]]) -> None:
    """Send raw messages, in order, and wait until the broker has them all."""

    async def go() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap,
            acks="all",
            enable_idempotence=False,
            max_request_size=8 * 1024 * 1024,
            linger_ms=5,
        )
        await producer.start()
        try:
            futures = [await producer.send(t, v, key=k) for t, k, v in items]
            for f in futures:
                await f
        finally:
            await producer.stop()

    asyncio.run(go())


def read_topic(settings: Settings, topic: str, expected: int, timeout_s: float = 20.0) -> list[Any]:
    """Read ``expected`` messages of a topic from the beginning (or fail after the timeout)."""

    async def go() -> list[Any]:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=settings.bootstrap, auto_offset_reset="earliest",
            enable_auto_commit=False, group_id=None,
        )
        await consumer.start()
        out: list[Any] = []
        try:
            deadline = time.monotonic() + timeout_s
            while len(out) < expected and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for msgs in batches.values():
                    out.extend(msgs)
        finally:
            await consumer.stop()
        return out

    return asyncio.run(go())


def options(settings: Settings, **overrides: Any) -> MaterializerOptions:
    """Test tuning: short batches and no scheduled maintenance."""
    # A short session: Tansu completes a join after about half of it.
    values: dict[str, Any] = {"max_ms": 200, "maintenance_every_s": 0, "status_every_s": 1.0,
                              "session_timeout_ms": 4000}
    values.update(overrides)
    return MaterializerOptions.from_settings(settings, **values)


@contextmanager
def materializer(settings: Settings, **overrides: Any) -> Iterator[threading.Thread]:
    """Run a materializer in a thread for the duration of the block."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_materializer(settings, stop, options(settings, **overrides))
        except BaseException as exc:  # surfaced by the test below
            errors.append(exc)

    thread = threading.Thread(target=target, name="materializer", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive(), "materializer did not stop within 60 s"
    if errors:
        raise errors[0]


def wait_for(what: str, probe: Callable[[], T], done: Callable[[T], bool],
             timeout_s: float = 60.0) -> T:
    """Poll ``probe`` until ``done(value)``; fail with the last value after the timeout."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        time.sleep(0.25)
        value = probe()
    return value


class LakeProbe:
    """Reads the lake read-only, as the query service would."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._reader: DuckLakeReader | None = None

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        if self._reader is None:
            reader = DuckLakeReader(self.settings)
            try:
                reader.start()
            except LakeError:
                return []  # the materializer has not created the lake yet
            self._reader = reader
        try:
            return self._reader.query(sql, params).rows
        except LakeError as exc:
            if "does not exist" in str(exc):
                return []  # tables are created right after the lake itself
            raise

    def scalar(self, sql: str, *params: object) -> Any:
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table}") or 0)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def settings_json(settings: Settings) -> str:
    """Serialize settings for a materializer subprocess."""
    data = dataclasses.asdict(settings)
    data["home"] = str(settings.home)
    return json.dumps(data)


def settings_from_json(text: str) -> Settings:
    """Inverse of :func:`settings_json`."""
    data = json.loads(text)
    data["home"] = Path(data["home"])
    data["ports"] = Ports(**data["ports"])
    return Settings(**data)


def spawn_materializer(
    settings: Settings, log_path: Path, **overrides: Any
) -> subprocess.Popen[bytes]:
    """Start a materializer in a child process (the crash tests kill it)."""
    env = {**os.environ, "RUNSTREAM_TEST_SETTINGS": settings_json(settings),
           "RUNSTREAM_TEST_OPTIONS": json.dumps(overrides),
           "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "src")])}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(HERE / "materializer_process.py")],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
