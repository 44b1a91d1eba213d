"""The local stack's services answer real clients: S3 through minio, Kafka through aiokafka."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from runstream.config import Settings
from runstream.errors import NotFoundError
from runstream.kafka.admin import list_topics
from runstream.objectstore import ObjectStore
from runstream.stack import LocalStack


def test_s3_put_get_list_presign(stack_settings: Settings) -> None:
    store = ObjectStore.from_settings(stack_settings)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    store.ensure_bucket(bucket)
    store.put_bytes(bucket, "a/one.txt", b"first", "text/plain")
    store.put_bytes(bucket, "a/two.bin", b"\x00" * 1000)
    store.put_bytes(bucket, "b/three.txt", b"third")

    assert store.get_bytes(bucket, "a/one.txt") == b"first"
    listed = {(o.key, o.size) for o in store.list_objects(bucket, "a/")}
    assert listed == {("a/one.txt", 5), ("a/two.bin", 1000)}
    assert store.bucket_size(bucket) == 5 + 1000 + 5

    url = store.presigned_get_url(bucket, "b/three.txt", expires_s=60)
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"third"
    tampered = url.replace("b/three.txt", "a/one.txt")
    assert httpx.get(tampered).status_code == 403

    with pytest.raises(NotFoundError):
        store.get_bytes(bucket, "missing.txt")


def test_s3_multipart_upload_roundtrip(stack_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ObjectStore.from_settings(stack_settings)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    store.ensure_bucket(bucket)
    big = tmp_path / "big.bin"
    payload = bytes(range(256)) * (40 * 1024 * 1024 // 256)  # 40 MiB: three parts
    big.write_bytes(payload)
    store.put_file(bucket, "big.bin", str(big))
    assert store.get_bytes(bucket, "big.bin") == payload


def test_stack_created_buckets_and_topics(stack_settings: Settings) -> None:
    store = ObjectStore.from_settings(stack_settings)
    assert set(stack_settings.buckets) <= set(store.list_buckets())
    topics = set(list_topics(stack_settings.bootstrap))
    assert {"runstream.events", "runstream.registry", "runstream.dlq"} <= topics


def test_produce_and_consume_through_a_consumer_group(settings: Settings) -> None:
    async def scenario() -> list[tuple[int, bytes, bytes]]:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=5)
        await producer.start()
        try:
            for i in range(200):
                await producer.send(settings.topic_events, key=f"run-{i % 7}".encode(),
                                    value=f"event-{i}".encode())
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            settings.topic_events,
            bootstrap_servers=settings.bootstrap,
            group_id=f"g-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[tuple[int, bytes, bytes]] = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while len(got) < 200 and loop.time() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    got.extend((tp.partition, r.key or b"", r.value or b"") for r in records)
            await consumer.commit()
            assignment = consumer.assignment()
            assert len(assignment) == settings.partitions
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(scenario())
    assert sorted(v for _, _, v in got) == sorted(f"event-{i}".encode() for i in range(200))
    # One key always lands on one partition: per-run ordering holds.
    partitions_by_key: dict[bytes, set[int]] = {}
    for partition, key, _ in got:
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_by_key.values())


def test_status_reports_running_services_and_sizes(stack: LocalStack) -> None:
    rows = {r.name: r for r in stack.status()}
    assert rows["s3"].state == "running" and rows["s3"].pid
    assert rows["broker"].state == "running"
    assert rows["s3"].data_bytes and rows["s3"].data_bytes > 0
    assert rows["s3"].address.endswith(str(stack.settings.ports.s3))
