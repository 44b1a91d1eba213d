"""``GET /api/v1/ingest-config``: where clients publish, so they need only the tracking URI."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from runstream.query.http.deps import SettingsDep
from runstream.query.http.schemas.common import json_response
from runstream.query.http.schemas.ops import IngestConfig

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.get("/ingest-config", response_model=IngestConfig, summary="Ingest configuration")
def ingest_config(settings: SettingsDep) -> Response:
    """Broker addresses, topic names and the artifact bucket; never a credential."""
    return json_response(
        {
            "schema_version": 1,
            "kafka": {"bootstrap_servers": settings.bootstrap},
            "topics": {
                "events": settings.topic_events,
                "registry": settings.topic_registry,
                "dlq": settings.topic_dlq,
            },
            "artifacts": {
                "bucket": settings.artifacts_bucket,
                "endpoint_url": settings.s3_url,
                "region": settings.s3_region,
            },
        }
    )


__all__ = ["router"]
