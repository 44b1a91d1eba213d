"""Helpers shared by the SDK's integration tests (no tests here).

``read_topic`` reads every message of a topic back from the real broker, from the
first offset to the end, without a consumer group, so tests see exactly what the
SDK published.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from runstream.events import decode, validate_with_schema


async def _read(bootstrap: str, topic: str, timeout_s: float) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout_s
        while not partitions and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[int, list[tuple[int, bytes, bytes]]] = {tp.partition: [] for tp in tps}
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} did not reach the end offsets")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                out[tp.partition].extend((r.offset, r.key or b"", r.value or b"") for r in records)
        # Per partition in offset order; partitions one after the other.
        return [(k, v) for p in sorted(out) for _, k, v in sorted(out[p])]
    finally:
        await consumer.stop()


def read_topic(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of a topic, partition by partition in offset order."""
    return asyncio.run(_read(bootstrap, topic, timeout_s))


def read_events(bootstrap: str, topic: str, *, schema: bool = True) -> list[Any]:
    """Every event of a topic, decoded; each also validated with the JSON Schema files.

    Schema validation is slow on large metric batches, so it can be switched off for
    tests that publish many points (decode validates the same contract).
    """
    events = []
    for _key, value in read_topic(bootstrap, topic):
        if schema:
            validate_with_schema(orjson.loads(value))
        events.append(decode(value))
    return events


def metric_points(events: list[Any], run_id: str) -> list[tuple[str, float, int, int]]:
    """Every metric point of a run, in the order the events carry them."""
    points: list[tuple[str, float, int, int]] = []
    for event in events:
        if event.type == "run.metrics" and event.run_id == run_id:
            body = event.body
            points.extend(zip(body.keys, body.values, body.steps, body.timestamps, strict=True))
    return points
