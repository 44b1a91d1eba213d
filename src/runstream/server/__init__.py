"""The HTTP server's composition root: the query service, the write gateway, the broker.

``runstream serve --role read|write|all`` builds its app here. The query package
never imports the Kafka adapter and the gateway never reads the lake, so this is
where the parts meet: the broker's end offsets for read-your-writes, the
gateway's producer, the gateway's lookups answered by the query readers, and the
live tail's reader of the events topic, and the sink of access-control changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from runstream.config import Settings
from runstream.errors import ConfigError
from runstream.gateway import MlflowGateway
from runstream.gateway.publisher import Publisher
from runstream.kafka.event_sink import KafkaEventSink
from runstream.kafka.offsets import KafkaEndOffsets
from runstream.kafka.producer import KafkaEventProducer, ProducerOptions
from runstream.kafka.tail import KafkaLogTail
from runstream.objectstore.client import ObjectStore
from runstream.query.http.app import create_app
from runstream.query.read.read_after import ReadAfter, lake_observer
from runstream.query.read.session import LakeAccess
from runstream.server.end_offsets import OwnWritesEndOffsets
from runstream.server.lookup import LakeLookup

Role = Literal["read", "write", "all"]
ROLES: tuple[Role, ...] = ("read", "write", "all")

# A write waits at most this long for the broker before the gateway answers 503.
WRITE_TIMEOUT_S = 5.0
PRODUCER_OPTIONS = ProducerOptions(
    client_id="runstream-gateway", linger_ms=0, request_timeout_s=4.0, retry_backoff_ms=100
)


def build_gateway(
    settings: Settings, lake: LakeAccess, broker: KafkaEndOffsets
) -> tuple[MlflowGateway, OwnWritesEndOffsets]:
    """The MLflow write gateway with its Kafka producer and lake-backed lookups.

    Returns:
        The gateway, and the end offsets reads should wait for (the broker's, raised
        to the gateway's own acknowledged writes).
    """
    publisher = Publisher(
        lambda: KafkaEventProducer(settings.bootstrap, PRODUCER_OPTIONS),
        topic_events=settings.topic_events,
        topic_registry=settings.topic_registry,
        timeout_s=WRITE_TIMEOUT_S,
    )
    end_offsets = OwnWritesEndOffsets(
        broker, publisher.acknowledged, with_broker=settings.read_after_broker
    )
    waiter = ReadAfter(lake_observer(lake), end_offsets, settings.read_after_timeout_s)
    lookup = LakeLookup(settings, lake, waiter)
    store = ObjectStore.from_settings(settings)
    gateway = MlflowGateway(publisher, lookup, settings.artifacts_bucket, store)
    return gateway, end_offsets


def _write_only_app(lake: LakeAccess, gateway: MlflowGateway,
                    end_offsets: OwnWritesEndOffsets) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(lake.start)
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()
            await end_offsets.stop()
            await run_in_threadpool(lake.close)

    app = FastAPI(title="Runstream MLflow write gateway", lifespan=lifespan)
    for router in gateway.routers():
        app.include_router(router)
    return app


def build_app(settings: Settings, role: Role = "all") -> FastAPI:
    """The app of one server process.

    Args:
        settings: this process's settings.
        role: ``read`` (queries only; MLflow writes answer 501), ``write`` (the MLflow
            write gateway only; refused with auth on) or ``all`` (both on one address,
            as MLflow's server).

    Returns:
        The FastAPI app.

    Raises:
        ConfigError: ``write`` with auth on.
    """
    broker = KafkaEndOffsets(settings.bootstrap)
    lake = LakeAccess(settings, index_searches=role != "write")
    live = KafkaLogTail(settings.bootstrap, settings.topic_events)
    sink = KafkaEventSink(settings.bootstrap, settings.topic_events, settings.topic_registry)
    if role == "read":
        return create_app(settings, lake=lake, end_offsets=broker, live=live, auth_sink=sink)
    if role == "write" and settings.auth:
        # The write-only app has no authentication of its own: refuse, never open.
        raise ConfigError(
            "`runstream serve --role write` does not authenticate callers; with "
            "RUNSTREAM_AUTH=1 serve writes with --role all (reads and writes on one address)"
        )
    gateway, end_offsets = build_gateway(settings, lake, broker)
    if role == "write":
        return _write_only_app(lake, gateway, end_offsets)
    return create_app(
        settings, lake=lake, end_offsets=end_offsets, write_api=gateway, live=live,
        auth_sink=sink,
    )


__all__ = ["ROLES", "Role", "build_app", "build_gateway"]
