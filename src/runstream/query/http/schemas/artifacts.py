"""Artifact listing and download-link responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runstream.query.records import ArtifactEntry, Page


class ArtifactOut(BaseModel):
    """A file or a directory under a run's artifact root."""

    path: str
    is_dir: bool
    size: int | None
    sha256: str | None
    media_type: str | None
    logged_at: int | None


class ArtifactsPage(BaseModel):
    """A page of a run's artifacts."""

    root_uri: str
    files: list[ArtifactOut]
    next_page_token: str | None
    snapshot_id: int


class PresignedUrl(BaseModel):
    """A time-limited download URL that needs no credentials."""

    url: str
    path: str
    size: int
    expires_in: int
    snapshot_id: int


def artifacts_page_json(root: str, page: Page[ArtifactEntry], snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`ArtifactsPage`."""
    return {
        "root_uri": root,
        "files": [
            {
                "path": e.path,
                "is_dir": e.is_dir,
                "size": e.size,
                "sha256": e.sha256,
                "media_type": e.media_type,
                "logged_at": e.logged_at,
            }
            for e in page.items
        ],
        "next_page_token": page.next_page_token,
        "snapshot_id": snapshot_id,
    }


__all__ = ["ArtifactOut", "ArtifactsPage", "PresignedUrl", "artifacts_page_json"]
