"""Artifact listing and download-link responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Self

from runstream.query.http.schemas.wire import Wire, WireShape, wire_shape
from runstream.query.records import ArtifactEntry, Page

ArtifactOut = Annotated[ArtifactEntry, wire_shape()]
"""A file or a directory under a run's artifact root, as the reader lists it."""


@dataclass(slots=True)
class ArtifactsPage(WireShape):
    """A page of a run's artifacts."""

    root_uri: str
    files: list[ArtifactOut]
    next_page_token: str | None
    snapshot_id: int

    @classmethod
    def read(cls, root: str, page: Page[ArtifactEntry], snapshot_id: int) -> Self:
        """The response of ``page`` (under ``root``) read at ``snapshot_id``."""
        return cls(root, page.items, page.next_page_token, snapshot_id)


@dataclass(slots=True)
class PresignedUrl(WireShape):
    """A time-limited download URL that needs no credentials."""

    url: str
    path: str
    size: int
    expires_in: int
    snapshot_id: int


ARTIFACTS_PAGE = Wire(ArtifactsPage)
PRESIGNED_URL = Wire(PresignedUrl)

__all__ = ["ARTIFACTS_PAGE", "PRESIGNED_URL", "ArtifactOut", "ArtifactsPage", "PresignedUrl"]
