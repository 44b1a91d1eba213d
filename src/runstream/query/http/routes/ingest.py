"""``GET /api/v1/ingest-config``: where clients publish, so they need only the tracking URI."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from runstream.query.http.deps import SettingsDep
from runstream.query.http.schemas.ops import INGEST_CONFIG, IngestConfig

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.get("/ingest-config", response_model=IngestConfig, summary="Ingest configuration")
def ingest_config(settings: SettingsDep) -> Response:
    """Broker addresses, topic names and the artifact bucket; never a credential."""
    return INGEST_CONFIG.response(IngestConfig.of(settings))


__all__ = ["router"]
