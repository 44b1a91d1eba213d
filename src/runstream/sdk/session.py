"""One client's connections, each opened on first use: transport, query service, S3.

A :class:`Session` resolves its endpoints (``runstream.sdk.endpoints``) the first
time something needs them, so building a client performs no I/O. The tracking and
registry halves of :class:`~runstream.sdk.client.RunstreamClient` share one session.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runstream.config import Settings
from runstream.errors import DeliveryError, ServiceError
from runstream.events.models import Envelope
from runstream.sdk.artifacts import ArtifactUploader, store_factory
from runstream.sdk.delivery import loud
from runstream.sdk.endpoints import Endpoints, resolve_endpoints
from runstream.sdk.offline import OfflineMode, offline_environ, offline_mode
from runstream.sdk.spool_switch import Recover
from runstream.sdk.transport import EventSink, Transport, TransportOptions

if TYPE_CHECKING:
    import httpx

    from runstream.sdk.query_client import QueryClient

logger = logging.getLogger("runstream.sdk")

# After the optional query service failed to answer, look-ups skip it for this long,
# so a script without one does not pay a connection attempt per call.
_UNREACHABLE_GRACE_S = 30.0


class Session:
    """Lazily opened connections of one client.

    Args:
        tracking_uri: a tracking URI given by the user (wins over the environment).
        settings: explicit settings (the SDK then needs no query service).
        environ: the environment to read (``os.environ`` by default).
        sink_factory: where events go instead of Kafka (unit tests).
        http_transport: an ``httpx`` transport for the query client (unit tests).
        end_run_timeout_s: how long ending a run waits for its events' delivery.
        exit_timeout_s: how long the flush at interpreter exit keeps trying.
        read_after_timeout_s: how long a read of this process's own writes waits for
            the query service to hold them.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        environ: Mapping[str, str] | None = None,
        sink_factory: Callable[[], EventSink] | None = None,
        http_transport: httpx.BaseTransport | None = None,
        end_run_timeout_s: float = 30.0,
        exit_timeout_s: float = 30.0,
        read_after_timeout_s: float = 5.0,
    ) -> None:
        self._tracking_uri = tracking_uri
        self._settings = settings
        self._environ = environ
        self._sink_factory = sink_factory
        self._http_transport = http_transport
        self.end_run_timeout_s = end_run_timeout_s
        self.exit_timeout_s = exit_timeout_s
        self.read_after_timeout_s = read_after_timeout_s
        self._endpoints: Endpoints | None = None
        self._transport: Transport | None = None
        self._query: QueryClient | None = None
        self._uploader: ArtifactUploader | None = None
        self._unreachable_until = 0.0
        self._offline: OfflineMode | None = None

    @property
    def endpoints(self) -> Endpoints:
        """The resolved endpoints (resolved on first use).

        Raises:
            ConfigError: a bad variable or tracking URI.
            ServiceError: a named tracking URI whose service does not answer.
        """
        if self._endpoints is None:
            environ = os.environ if self._environ is None else self._environ
            fetch = None
            if self._http_transport is not None:
                fetch = self._fetch_ingest_config
            try:
                self._endpoints = resolve_endpoints(
                    environ,
                    settings=self._settings,
                    tracking_uri=self._tracking_uri,
                    fetch_ingest_config=fetch,
                )
            except ServiceError:
                if not self.offline.forced:
                    raise
                # Offline on purpose: the topics and bucket are the defaults; sync
                # publishes to wherever its own environment points.
                self._endpoints = resolve_endpoints(offline_environ(environ))
        return self._endpoints

    def _fetch_ingest_config(self, uri: str, token: str) -> Any:
        from runstream.sdk.query_client import QueryClient

        client = QueryClient(uri, token=token, transport=self._http_transport)
        try:
            return client.ingest_config()
        finally:
            client.close()

    @property
    def offline(self) -> OfflineMode:
        """Where the offline spool is, and whether to use it from the start."""
        if self._offline is None:
            environ = os.environ if self._environ is None else self._environ
            self._offline = offline_mode(environ)
        return self._offline

    @property
    def transport(self) -> Transport:
        """The event transport (its thread starts with the first event).

        With ``RUNSTREAM_OFFLINE=1`` events go straight to the offline spool; otherwise
        to the broker, and to the spool once the broker stayed unreachable.
        """
        if self._transport is None:
            ep = self.endpoints
            spool = self.offline.spool_sink(ep.topic_registry)
            sink = self._sink_factory or _kafka_sink(ep.bootstrap)
            options = TransportOptions(
                topic_events=ep.topic_events,
                topic_registry=ep.topic_registry,
                destination=f"the broker at {ep.bootstrap}",
                capacity=ep.buffer_events,
                block_timeout_s=ep.buffer_timeout_s,
                exit_timeout_s=self.exit_timeout_s,
                fallback=None if self._sink_factory is not None else spool,
                recover=None
                if self._sink_factory is not None or not self.offline.retry_s
                else self._recover(sink),
                recover_every_s=self.offline.retry_s,
            )
            self._transport = Transport(spool if self.offline.forced else sink, options)
        return self._transport

    def _recover(self, sink: Callable[[], EventSink]) -> Recover:
        """The transport's way back from the spool: ``runstream sync`` from inside the SDK."""
        from runstream.sdk.sync import publish_events, upload_artifacts

        ep = self.endpoints
        root = self.offline.root

        def topic_of(registry: bool) -> str:
            return ep.topic_registry if registry else ep.topic_events

        async def recover() -> int:
            await asyncio.to_thread(upload_artifacts, root, self.uploader.store)
            return await publish_events(root, sink, topic_of)

        return recover

    @property
    def uploader(self) -> ArtifactUploader:
        """The artifact uploader (its S3 client connects on first upload)."""
        if self._uploader is None:
            ep = self.endpoints
            self._uploader = ArtifactUploader(
                store_factory(ep.s3_endpoint, ep.s3_access_key, ep.s3_secret_key, ep.s3_region),
                self.offline.artifacts_root,
                offline=self.offline.forced,
            )
        return self._uploader

    def publish(self, envelope: Envelope[Any]) -> None:
        """Queues one event (validated and encoded in the caller's thread)."""
        self.transport.publish(envelope)

    def flush(self, timeout_s: float) -> None:
        """Waits until everything queued so far is delivered.

        Raises:
            DeliveryError: not delivered in time, or some events were given up.
        """
        if self._transport is not None:
            self._transport.flush(timeout_s)

    def flush_quietly(self, what: str) -> None:
        """Flushes for ``end_run_timeout_s``; on failure says so loudly and goes on."""
        try:
            self.flush(self.end_run_timeout_s)
        except DeliveryError as exc:
            loud(f"runstream: {what}: {exc}")

    def query(self) -> QueryClient:
        """The query-service client (built on first use, no request made).

        Raises:
            ServiceError: the endpoints cannot be resolved.
        """
        if self._query is None:
            from runstream.sdk.query_client import QueryClient

            ep = self.endpoints
            self._query = QueryClient(
                ep.tracking_uri,
                token=ep.api_token,
                transport=self._http_transport,
                read_after=self._read_after,
            )
        return self._query

    def _read_after(self) -> str | None:
        """This client's acknowledged positions, after flushing what is still queued.

        The flush is bounded by ``read_after_timeout_s``; what it could not deliver in
        that time is not waited for (the read says what it saw, and the events stay
        queued).
        """
        transport = self._transport
        if transport is None:
            return None
        if transport.buffer.pending:
            try:
                transport.flush(self.read_after_timeout_s)
            except DeliveryError as exc:
                logger.warning("runstream: reading before every write was delivered: %s", exc)
        return transport.positions.header()

    def optional_query(self, call: Callable[[QueryClient], Any]) -> tuple[bool, Any]:
        """Runs a look-up that may be skipped when the query service is optional.

        Returns:
            ``(True, result)`` when the service answered, ``(False, None)`` when it is
            optional (no tracking URI named) and did not answer.

        Raises:
            ServiceError: the user named a tracking URI and its service did not answer.
        """
        required = self.endpoints.tracking_required
        if not required and time.monotonic() < self._unreachable_until:
            return False, None
        try:
            return True, call(self.query())
        except ServiceError as exc:
            if required:
                raise
            logger.debug("runstream: query service not used: %s", exc)
            self._unreachable_until = time.monotonic() + _UNREACHABLE_GRACE_S
            return False, None

    def close(self, timeout_s: float | None = None) -> None:
        """Flushes and stops the transport; closes the query client."""
        if self._transport is not None:
            report = self._transport.close(timeout_s)
            if not report.ok:
                loud(report.describe(self._transport.options.destination))
        if self._query is not None:
            self._query.close()


def _kafka_sink(bootstrap: str) -> Callable[[], EventSink]:
    """A factory of Kafka producers; aiokafka is imported inside the sender thread."""

    def make() -> EventSink:
        from runstream.kafka.producer import KafkaEventProducer

        return KafkaEventProducer(bootstrap)

    return make


__all__ = ["Session"]
