"""The MLflow write gateway: MLflow's REST writes become v1 events on the log.

Unchanged MLflow code (``MLFLOW_TRACKING_URI=http://<runstream>:5000``) logs
through these routes. The gateway never touches the lake: it validates as MLflow's
server does, publishes events and answers once the broker has acknowledged them
(:mod:`runstream.gateway.publisher`); what it must know of earlier writes comes
through :class:`~runstream.gateway.lookup.Lookup`. :class:`MlflowGateway` is what
the composition root (``runstream.server``) mounts beside the query service.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from runstream.auth.directory import Grant
from runstream.core.run_mirror import RunMirror
from runstream.gateway import routes
from runstream.gateway.artifacts import ArtifactProxy
from runstream.gateway.context import GatewayContext
from runstream.gateway.lookup import Lookup
from runstream.gateway.probes import probe_router
from runstream.gateway.publisher import Publisher
from runstream.objectstore.client import ObjectStore


class MlflowGateway:
    """The gateway's routes and lifespan; the constructor opens nothing.

    Args:
        publisher: puts events on the log.
        lookup: reads of earlier writes.
        artifacts_bucket: the artifacts bucket.
        store: the S3 adapter of the artifact proxy.
    """

    def __init__(
        self, publisher: Publisher, lookup: Lookup, artifacts_bucket: str, store: ObjectStore
    ) -> None:
        self.context = GatewayContext(publisher, lookup, artifacts_bucket)
        self.proxy = ArtifactProxy(self.context, store)

    def routers(self) -> list[APIRouter]:
        """The write routes and the artifact proxy, under both MLflow prefixes."""
        return [
            probe_router(),
            *routes.routers(self.context),
            *routes.artifact_routers(self.proxy),
        ]

    def expect_grants(self, expect: Callable[[Grant], None]) -> None:
        """Announce creator grants to the server's directory cache (auth on)."""
        self.context.expect_grant = expect

    def run_mirror(self, run_id: str) -> RunMirror | None:
        """A run this gateway started, as the lake will hold it after its writes so far."""
        return self.context.mirrors.get(run_id)

    async def start(self) -> None:
        """Connect the producer (a down broker is retried on the first write)."""
        await self.context.publisher.start()

    async def stop(self) -> None:
        """Close the producer."""
        await self.context.publisher.stop()


__all__ = ["MlflowGateway"]
