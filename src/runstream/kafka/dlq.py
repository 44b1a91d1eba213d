"""Dead-letter publisher: rejected events go to ``<prefix>.dlq`` with the reason.

Each dead letter carries the original bytes as its value (trimmed only if the
broker refuses the full size), the original key, and headers saying why and where
it came from. Delivery is at least once: the materializer publishes before it
commits the batch, so a crash in between publishes the letter again on replay.
Consumers of the DLQ deduplicate by ``(runstream-topic, -partition, -offset)``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError

from runstream.errors import BrokerError

# A letter the broker will not take whole is resent trimmed to this many bytes.
TRIMMED_BYTES = 64 * 1024
_MAX_REQUEST = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected message.

    Attributes:
        topic: where it was read.
        partition: its partition.
        offset: its offset.
        key: its key (may be None for undecodable messages).
        value: the bytes as received.
        reason: ``reason: detail``.
        event_id: its event id when known.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    reason: str
    event_id: str | None = None


def _headers(letter: DeadLetter, trimmed: bool) -> list[tuple[str, bytes]]:
    headers = [
        ("runstream-reason", letter.reason.encode()[:4096]),
        ("runstream-topic", letter.topic.encode()),
        ("runstream-partition", str(letter.partition).encode()),
        ("runstream-offset", str(letter.offset).encode()),
    ]
    if letter.event_id:
        headers.append(("runstream-event-id", letter.event_id.encode()))
    if trimmed:
        headers.append(("runstream-trimmed", str(len(letter.value)).encode()))
    return headers


class DeadLetterPublisher:
    """Publishes dead letters; the constructor opens nothing, :meth:`start` connects."""

    def __init__(self, bootstrap: str, topic: str, *, timeout_s: float = 15.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect to the broker.

        Raises:
            BrokerError: the broker did not answer in time.
        """
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="runstream-dlq",
            acks="all",
            enable_idempotence=False,  # not supported by Tansu; duplicates are documented
            max_request_size=_MAX_REQUEST,
            request_timeout_ms=int(self.timeout_s * 1000),
        )
        try:
            await asyncio.wait_for(producer.start(), self.timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            await _stop_quietly(producer)
            raise BrokerError(
                f"cannot connect the DLQ producer to {self.bootstrap}: {exc}"
            ) from exc
        self._producer = producer

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Flush and close, giving up after ``timeout_s``."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stop_quietly(producer, timeout_s)

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Publish every letter and wait until the broker has them all.

        Raises:
            BrokerError: some letter could not be delivered; the caller must not
                commit the batch that rejected it.
        """
        producer = self._producer
        if producer is None:
            raise BrokerError("the DLQ producer is not started")
        try:
            futures = [
                (letter, await producer.send(
                    self.topic, letter.value, key=letter.key, headers=_headers(letter, False)
                ))
                for letter in letters
            ]
        except (KafkaError, OSError) as exc:
            raise BrokerError(f"DLQ publish to {self.topic} failed: {exc}") from exc
        for letter, future in futures:
            try:
                await asyncio.wait_for(future, self.timeout_s)
            except (MessageSizeTooLargeError, RecordListTooLargeError):
                await self._send_trimmed(producer, letter)
            except (KafkaError, OSError, TimeoutError) as exc:
                raise BrokerError(f"DLQ publish to {self.topic} failed: {exc}") from exc

    async def _send_trimmed(self, producer: AIOKafkaProducer, letter: DeadLetter) -> None:
        try:
            future = await producer.send(
                self.topic, letter.value[:TRIMMED_BYTES], key=letter.key,
                headers=_headers(letter, True),
            )
            await asyncio.wait_for(future, self.timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise BrokerError(f"DLQ publish to {self.topic} failed: {exc}") from exc


async def _stop_quietly(producer: AIOKafkaProducer, timeout_s: float = 15.0) -> None:
    with contextlib.suppress(KafkaError, OSError, TimeoutError):
        await asyncio.wait_for(producer.stop(), timeout_s)


__all__ = ["TRIMMED_BYTES", "DeadLetter", "DeadLetterPublisher"]
