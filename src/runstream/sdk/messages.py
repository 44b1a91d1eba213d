"""Buffer entries to Kafka messages: metric chunks become columnar ``run.metrics`` events.

Runs in the sender thread. Metric points were validated one by one in the caller's
thread; here they are validated again as a whole event (the same contract the
materializer applies), encoded, and split in halves when an event comes out larger
than the message limit (long keys or very large steps beat the size estimate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runstream.errors import LimitExceededError, ValidationError
from runstream.events.codec import encode, make_event
from runstream.events.event_types import EventType
from runstream.kafka.producer import OutgoingMessage, SendFailure
from runstream.sdk.buffer import EncodedEvent, Entry, MetricChunk


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """One message of a sender round and the buffer items it stands for.

    Attributes:
        message: what goes to the broker.
        items: buffer items it carries (its points, or 1 for another event).
        points: metric points it carries.
        event_type: for reports.
        failure: set when the entry could not be turned into a message at all.
    """

    message: OutgoingMessage
    items: int
    points: int
    event_type: str
    failure: SendFailure | None = None


def _metric_messages(
    run_id: str,
    columns: tuple[list[str], list[float], list[int], list[int]],
    topic: str,
) -> list[PreparedMessage]:
    """Encodes points as one event, or as several when one would be too large."""
    keys, values, steps, timestamps = columns
    count = len(keys)
    try:
        envelope = make_event(
            EventType.RUN_METRICS,
            {"keys": keys, "values": values, "steps": steps, "timestamps": timestamps},
            run_id=run_id,
        )
        value = encode(envelope)
    except LimitExceededError:
        if count == 1:
            raise
        half = count // 2
        return _metric_messages(
            run_id, (keys[:half], values[:half], steps[:half], timestamps[:half]), topic
        ) + _metric_messages(
            run_id, (keys[half:], values[half:], steps[half:], timestamps[half:]), topic
        )
    message = OutgoingMessage(topic, run_id.encode(), value)
    return [PreparedMessage(message, count, count, EventType.RUN_METRICS.value)]


def prepare_entries(entries: list[Entry], topic_of: Callable[[bool], str]) -> list[PreparedMessage]:
    """Turns buffer entries into messages, in order.

    Args:
        entries: what the sender took from the buffer.
        topic_of: the topic name for ``registry`` True or False.

    Returns:
        One or more messages per entry. An entry that cannot be encoded (which the
        caller-side checks should make impossible) comes back with ``failure`` set,
        so the transport reports it instead of losing it silently.
    """
    prepared: list[PreparedMessage] = []
    for entry in entries:
        if isinstance(entry, EncodedEvent):
            message = OutgoingMessage(topic_of(entry.registry), entry.key, entry.value)
            prepared.append(PreparedMessage(message, 1, 0, entry.event_type))
        elif isinstance(entry, MetricChunk):
            prepared.extend(_chunk_messages(entry, topic_of(False)))
    return prepared


def _chunk_messages(chunk: MetricChunk, topic: str) -> list[PreparedMessage]:
    """Messages of one metric chunk, or one failed placeholder standing for all its points."""
    columns = (chunk.keys, chunk.values, chunk.steps, chunk.timestamps)
    try:
        return _metric_messages(chunk.run_id, columns, topic)
    except ValidationError as exc:
        count = len(chunk.keys)
        message = OutgoingMessage(topic, chunk.run_id.encode(), b"")
        failure = SendFailure(False, f"metrics of run {chunk.run_id} are not valid: {exc}")
        return [PreparedMessage(message, count, count, EventType.RUN_METRICS.value, failure)]


__all__ = ["PreparedMessage", "prepare_entries"]
