"""Reads carry the client's own acknowledged positions, after its queued events are flushed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from test_sdk_unit_support import MemorySink, offline_settings, sink_factory

from runstream.kafka.producer import OutgoingMessage
from runstream.sdk.client import RunstreamClient
from runstream.sdk.read_after import READ_AFTER_HEADER, WrittenPositions


@dataclass(frozen=True)
class Ack:
    topic: str
    partition: int
    offset: int


class PositionSink(MemorySink):
    """A memory sink that acknowledges each message at an offset of partition 0 or 1."""

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[object]:  # type: ignore[override]
        results = await super().send_all(messages)
        return [
            Ack(m.topic, len(m.key) % 2, len(self.messages) - len(messages) + i)
            if r is None
            else r
            for i, (m, r) in enumerate(zip(messages, results, strict=True))
        ]


def test_the_highest_offset_per_partition_is_kept() -> None:
    positions = WrittenPositions()
    assert positions.header() is None
    for ack in (Ack("t.events", 1, 7), Ack("t.events", 1, 3), Ack("t.events", 0, 2), None):
        positions.record(ack)
    positions.record(Ack("t.registry", 0, 9))
    assert positions.header() == "t.events:0:2,t.events:1:7,t.registry:0:9"


def test_a_read_after_a_write_flushes_and_sends_the_writes_positions() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get(READ_AFTER_HEADER))
        return httpx.Response(404)

    sink = PositionSink()
    client = RunstreamClient(
        settings=offline_settings(tracking_uri="http://tracking:5000"),
        environ={},
        sink_factory=sink_factory(sink),
        http_transport=httpx.MockTransport(answer),
    )
    try:
        assert client.get_experiment_by_name("before-any-write") is None
        experiment_id = client.create_experiment("ryw")  # queued, not yet delivered
        assert client.get_experiment_by_name("ryw") is None
    finally:
        client.close(1.0)
    assert seen[0] is None and len(sink.messages) == 1
    topic = sink.messages[0].topic
    assert seen[-1] == f"{topic}:{len(experiment_id.encode()) % 2}:0"
