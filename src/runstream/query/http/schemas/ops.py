"""Operational responses: ingest configuration, health and readiness."""

from __future__ import annotations

from pydantic import BaseModel


class KafkaConfig(BaseModel):
    """Where to publish events."""

    bootstrap_servers: str


class TopicsConfig(BaseModel):
    """Topic names."""

    events: str
    registry: str
    dlq: str


class ArtifactsConfig(BaseModel):
    """Where artifact bytes go (credentials are not served)."""

    bucket: str
    endpoint_url: str
    region: str


class IngestConfig(BaseModel):
    """Everything a client needs to publish, given only the tracking URI; no secrets."""

    schema_version: int
    kafka: KafkaConfig
    topics: TopicsConfig
    artifacts: ArtifactsConfig


class Health(BaseModel):
    """Liveness: the process answers."""

    status: str


class MaterializerOut(BaseModel):
    """One materializer process, from ``materializer_status``."""

    member_id: str
    updated_at: int | None
    age_s: float | None
    events_per_s: float | None
    rows_per_s: float | None
    last_commit_ms: float | None
    rejected_total: int | None
    lag: int | None


class Readiness(BaseModel):
    """Readiness: the lake answers; how far behind the log it is."""

    ready: bool
    lake_reachable: bool
    snapshot_id: int | None
    snapshot_age_s: float | None
    materializer_lag: int | None
    materializers: list[MaterializerOut]
    error: str | None


__all__ = [
    "ArtifactsConfig",
    "Health",
    "IngestConfig",
    "KafkaConfig",
    "MaterializerOut",
    "Readiness",
    "TopicsConfig",
]
