"""The HTTP server's composition root: the query service, the write gateway, the broker.

``runstream serve --role read|write|all`` builds its app here. The query package
never imports the Kafka adapter, so this is where the Kafka-backed parts are
plugged in: the broker's end offsets for read-your-writes, and (roles ``write``
and ``all``) the MLflow write gateway with its producer.
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI

from runstream.config import Settings
from runstream.kafka.offsets import KafkaEndOffsets
from runstream.query.http.app import create_app

Role = Literal["read", "write", "all"]
ROLES: tuple[Role, ...] = ("read", "write", "all")


def build_app(settings: Settings, role: Role = "all") -> FastAPI:
    """The app of one server process.

    Args:
        settings: this process's settings.
        role: ``read`` (queries only; MLflow writes answer 501), ``write`` (the MLflow
            write gateway only) or ``all`` (both on one address, as MLflow's server).

    Returns:
        The FastAPI app.
    """
    return create_app(settings, end_offsets=KafkaEndOffsets(settings.bootstrap))


__all__ = ["ROLES", "Role", "build_app"]
