"""Operational responses: ingest configuration, health and readiness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from runstream.config import Settings
from runstream.query.http.schemas.wire import Wire, WireShape, columns
from runstream.query.read.health import LakeHealth, MaterializerStatus, age_s


@dataclass(slots=True)
class KafkaConfig(WireShape):
    """Where to publish events."""

    bootstrap_servers: str


@dataclass(slots=True)
class TopicsConfig(WireShape):
    """Topic names."""

    events: str
    registry: str
    dlq: str


@dataclass(slots=True)
class ArtifactsConfig(WireShape):
    """Where artifact bytes go (credentials are not served)."""

    bucket: str
    endpoint_url: str
    region: str


@dataclass(slots=True)
class IngestConfig(WireShape):
    """Everything a client needs to publish, given only the tracking URI; no secrets."""

    schema_version: int
    kafka: KafkaConfig
    topics: TopicsConfig
    artifacts: ArtifactsConfig

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """The ingest configuration of these settings."""
        return cls(
            1,
            KafkaConfig(settings.bootstrap),
            TopicsConfig(settings.topic_events, settings.topic_registry, settings.topic_dlq),
            ArtifactsConfig(settings.artifacts_bucket, settings.s3_url, settings.s3_region),
        )


@dataclass(slots=True)
class Health(WireShape):
    """Liveness: the process answers."""

    status: str


@dataclass(frozen=True)
class MaterializerOut(MaterializerStatus, WireShape):
    """One materializer process, from ``materializer_status``, and how old its report is."""

    age_s: float | None


@dataclass(slots=True)
class Readiness(WireShape):
    """Readiness: the lake answers; how far behind the log it is."""

    ready: bool
    lake_reachable: bool
    snapshot_id: int | None
    snapshot_age_s: float | None
    materializer_lag: int | None
    materializers: list[MaterializerOut]
    error: str | None

    @classmethod
    def of(cls, health: LakeHealth, now: float) -> Self:
        """Ready: the lake answered with ``health`` at ``now`` (seconds since the epoch)."""
        members = [
            MaterializerOut(**columns(m), age_s=age_s(m.updated_at, now))
            for m in health.materializers
        ]
        age = age_s(health.snapshot_time_ms, now)
        return cls(True, True, health.snapshot_id, age, health.lag_total, members, None)

    @classmethod
    def unreachable(cls, error: str | None) -> Self:
        """Not ready: the lake did not answer."""
        return cls(False, False, None, None, None, [], error)


HEALTH = Wire(Health)
INGEST_CONFIG = Wire(IngestConfig)
READINESS = Wire(Readiness)

__all__ = [
    "HEALTH",
    "INGEST_CONFIG",
    "READINESS",
    "ArtifactsConfig",
    "Health",
    "IngestConfig",
    "KafkaConfig",
    "MaterializerOut",
    "Readiness",
    "TopicsConfig",
]
