"""The SDK's event producer: aiokafka behind one small async interface.

This is the only module the SDK and the write gateway reach aiokafka through. It
sends already-encoded events and reports, per message, either the position the
broker acknowledged it at (topic, partition, offset: what a later read waits for,
see ``runstream.core.positions``) or why it was not delivered and whether trying
again can help. It never raises an aiokafka type.

Settings that matter for delivery:

- ``acks="all"``: a message counts as delivered once every in-sync replica has it.
- No idempotence and no transactions: Tansu does not support them with aiokafka.
  Retries may therefore duplicate a message; the materializer drops duplicates by
  event id, which is the contract.
- aiokafka keeps at most one batch in flight per partition, so messages of one key
  (one run, one model) reach the broker in the order they were sent, retries included,
  as long as a batch does not expire (``request_timeout_s``). The caller handles the
  expired case (see ``runstream.sdk.transport``).
- ``max_request_size`` fits the largest event allowed by ``core.limits`` plus the
  record overhead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runstream.core.limits import LIMITS
from runstream.core.positions import Position
from runstream.errors import BrokerError

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

# Room for the record header, key and batch framing around the largest event.
_RECORD_OVERHEAD = 16 * 1024


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One encoded event on its way to a topic."""

    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class SendFailure:
    """Why one message was not delivered.

    Attributes:
        retriable: True when sending it again may succeed (broker down, leader moving,
            timeout); False for errors that repeat (too large, not authorized).
        reason: a short human-readable reason, with the library's error name.
    """

    retriable: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ProducerOptions:
    """Tuning of the producer; the defaults suit the SDK.

    Attributes:
        client_id: shown in the broker's logs.
        linger_ms: how long aiokafka waits to fill a batch per partition.
        request_timeout_s: how long one message may wait for delivery (also its
            batch's time to live inside aiokafka) before it is reported as failed.
        max_batch_size: bytes per partition batch (larger events go alone).
        retry_backoff_ms: pause between aiokafka's own retries.
    """

    client_id: str = "runstream-sdk"
    linger_ms: int = 5
    request_timeout_s: float = 10.0
    max_batch_size: int = 512 * 1024
    retry_backoff_ms: int = 200


SendResult = Position | SendFailure
"""What became of one message: where the broker acknowledged it, or why it was not."""

_NOT_SENT = SendFailure(True, "not sent")


def _failure(exc: BaseException) -> SendFailure:
    """Classifies an aiokafka (or socket) error."""
    from aiokafka import errors

    # Errors that the same request hits again however often it is retried.
    permanent = (
        errors.InvalidTopicError,
        errors.MessageSizeTooLargeError,
        errors.RecordListTooLargeError,
        errors.TopicAuthorizationFailedError,
        errors.UnsupportedVersionError,
    )
    return SendFailure(not isinstance(exc, permanent), f"{type(exc).__name__}: {exc}")


class KafkaEventProducer:
    """Sends encoded events with aiokafka; one instance per event loop.

    The constructor opens nothing; :meth:`start` connects. aiokafka is imported on
    first start, so that ``import runstream`` stays cheap.
    """

    def __init__(self, bootstrap: str, options: ProducerOptions | None = None) -> None:
        self.bootstrap = bootstrap
        self.options = options or ProducerOptions()
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connects to the broker and fetches its metadata.

        Raises:
            BrokerError: the broker did not answer within the request timeout.
        """
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        opts = self.options
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=opts.client_id,
            acks="all",
            enable_idempotence=False,
            linger_ms=opts.linger_ms,
            request_timeout_ms=int(opts.request_timeout_s * 1000),
            max_batch_size=opts.max_batch_size,
            max_request_size=LIMITS.message_bytes + _RECORD_OVERHEAD,
            retry_backoff_ms=opts.retry_backoff_ms,
        )
        try:
            await asyncio.wait_for(producer.start(), opts.request_timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            await self._close_quietly(producer)
            raise BrokerError(
                f"cannot connect a producer to the broker at {self.bootstrap}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._producer = producer

    async def send_all(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Sends messages and waits until each one is delivered or has failed.

        Messages are handed to aiokafka in order; those with the same key go to one
        partition and are written in that order unless a batch expires.

        Args:
            messages: the messages, in the order they must be written per key.

        Returns:
            One entry per message: its acknowledged position when delivered, else
            why it failed.

        Raises:
            BrokerError: :meth:`start` was not called.
        """
        from aiokafka.errors import KafkaError

        producer = self._producer
        if producer is None:
            raise BrokerError("the producer is not started")
        results: list[SendResult] = [_NOT_SENT] * len(messages)
        futures: list[tuple[int, asyncio.Future[Any]]] = []
        for index, message in enumerate(messages):
            try:
                future = await producer.send(message.topic, message.value, key=message.key)
            except (KafkaError, OSError) as exc:
                # Metadata for the topic could not be fetched, or the queue stayed full:
                # the broker is down or the topic is missing; every later message of
                # this call would wait the same timeout, so fail them all now.
                failure = _failure(exc)
                for rest in range(index, len(messages)):
                    results[rest] = failure
                break
            futures.append((index, future))
        for index, future in futures:
            try:
                meta = await future
            except (KafkaError, OSError) as exc:
                results[index] = _failure(exc)
            else:
                results[index] = Position(meta.topic, meta.partition, meta.offset)
        return results

    async def stop(self) -> None:
        """Closes the connections; undelivered messages inside aiokafka are dropped."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._close_quietly(producer)

    async def _close_quietly(self, producer: AIOKafkaProducer) -> None:
        """Stops a producer; closing a dead connection is not worth an error."""
        from aiokafka.errors import KafkaError

        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await asyncio.wait_for(producer.stop(), self.options.request_timeout_s)


__all__ = [
    "KafkaEventProducer",
    "OutgoingMessage",
    "Position",
    "ProducerOptions",
    "SendFailure",
    "SendResult",
]
