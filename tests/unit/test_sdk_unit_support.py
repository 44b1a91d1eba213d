"""An in-memory event sink and a client factory for the SDK's unit tests (no tests here).

The sink is a real implementation of the transport's ``EventSink`` protocol that
keeps messages in a list and can be told to fail, so unit tests exercise the real
buffer, sender thread and retry logic without a broker.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any

from runstream.config import Settings
from runstream.core.positions import Position
from runstream.events import decode
from runstream.kafka.producer import OutgoingMessage, SendFailure, SendResult
from runstream.sdk.client import RunstreamClient
from runstream.sdk.transport import EventSink


class MemorySink:
    """Keeps delivered messages; ``fail_next`` attempts fail with ``failure``."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []
        self.attempts = 0
        self.fail_next = 0
        self.failure = SendFailure(True, "broker down (simulated)")
        self.fail_when: Callable[[OutgoingMessage], SendFailure | None] | None = None
        self.lock = threading.Lock()

    async def start(self) -> None:
        """Nothing to connect."""

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Delivers, or fails the whole attempt while ``fail_next`` > 0."""
        with self.lock:
            self.attempts += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return [self.failure] * len(messages)
            results: list[SendResult] = []
            for message in messages:
                failure = self.fail_when(message) if self.fail_when else None
                if failure is None:
                    self.messages.append(message)
                    # One partition per topic: the offset is the message's place in the list.
                    results.append(Position(message.topic, 0, len(self.messages) - 1))
                else:
                    results.append(failure)
            return results

    async def stop(self) -> None:
        """Nothing to close."""

    def events(self) -> list[Any]:
        """Every delivered event, decoded (which validates it)."""
        with self.lock:
            return [decode(m.value) for m in self.messages]


def sink_factory(sink: MemorySink) -> Callable[[], EventSink]:
    """A factory that always hands out the same sink."""
    return lambda: sink


def offline_settings(**changes: Any) -> Settings:
    """Settings whose query-service port answers nothing (connection refused)."""
    from runstream.stack import free_ports

    settings = Settings()
    ports = dataclasses.replace(settings.ports, api=free_ports(1)[0])
    return dataclasses.replace(settings, ports=ports, **changes)


def memory_client(sink: MemorySink, **kwargs: Any) -> RunstreamClient:
    """A client whose events go to ``sink``, with no query service."""
    return RunstreamClient(
        settings=kwargs.pop("settings", offline_settings()),
        environ={},
        sink_factory=sink_factory(sink),
        **kwargs,
    )
