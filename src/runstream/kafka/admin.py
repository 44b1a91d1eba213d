"""Topic administration and the broker readiness probe (aiokafka lives in this package)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from runstream.config import Settings
from runstream.errors import BrokerError


async def _with_admin(bootstrap: str, timeout_s: float) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(timeout_s * 1000),
        client_id="runstream-admin",
    )
    await admin.start()
    return admin


async def list_topics_async(bootstrap: str, timeout_s: float = 5.0) -> list[str]:
    """Topic names, through a real metadata request."""
    try:
        admin = await asyncio.wait_for(_with_admin(bootstrap, timeout_s), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(
            f"broker at {bootstrap} did not answer a metadata request: {exc}"
        ) from exc
    try:
        return sorted(await asyncio.wait_for(admin.list_topics(), timeout_s))
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(f"listing topics at {bootstrap} failed: {exc}") from exc
    finally:
        await admin.close()


async def ensure_topics_async(
    bootstrap: str, topics: Sequence[str], partitions: int, timeout_s: float = 10.0
) -> list[str]:
    """Create the topics that are missing; returns the ones created."""
    try:
        admin = await asyncio.wait_for(_with_admin(bootstrap, timeout_s), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(f"broker at {bootstrap} is unreachable: {exc}") from exc
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # A concurrent starter may create them between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
        return missing
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(f"creating topics {list(topics)} at {bootstrap} failed: {exc}") from exc
    finally:
        await admin.close()


def list_topics(bootstrap: str, timeout_s: float = 5.0) -> list[str]:
    """Blocking wrapper of :func:`list_topics_async` for CLI and tests."""
    return asyncio.run(list_topics_async(bootstrap, timeout_s))


def ensure_topics(settings: Settings) -> list[str]:
    """Create Runstream's three topics with the configured partition count."""
    topics = [settings.topic_events, settings.topic_registry, settings.topic_dlq]
    return asyncio.run(ensure_topics_async(settings.bootstrap, topics, settings.partitions))


__all__ = [
    "ensure_topics",
    "ensure_topics_async",
    "list_topics",
    "list_topics_async",
]
