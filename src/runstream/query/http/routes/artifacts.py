"""A run's artifacts: paged listing, streamed download, presigned URL.

Downloads are sent as attachments with ``nosniff`` and a sandboxing CSP, so an
HTML or SVG artifact can never run script on the API's origin (where the UI
keeps its token); only images and plain text may be shown inline.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from runstream.query.http.access import AccessDep
from runstream.query.http.deps import SessionDep, SettingsDep, StoreDep
from runstream.query.http.schemas.artifacts import (
    ARTIFACTS_PAGE,
    PRESIGNED_URL,
    ArtifactsPage,
    PresignedUrl,
)
from runstream.query.read.artifacts import list_artifacts, locate_artifact

router = APIRouter(prefix="/api/v1/runs/{run_id}/artifacts", tags=["artifacts"])
_INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "text/plain")
PRESIGN_MAX_S_WITH_AUTH = 300
_PATH = Query(max_length=4096, description="path relative to the run's artifact root")


@router.get("", response_model=ArtifactsPage, summary="List artifacts")
def get_artifacts(
    session: SessionDep,
    access: AccessDep,
    settings: SettingsDep,
    run_id: str,
    path: Annotated[str | None, _PATH] = None,
    recursive: bool = False,
    max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    """Files and directories right under ``path`` (every file below it with ``recursive``)."""
    access.require_runs(session, [run_id])
    root, page = list_artifacts(
        session,
        run_id,
        path,
        bucket=settings.artifacts_bucket,
        recursive=recursive,
        max_results=max_results,
        page_token=page_token,
    )
    return ARTIFACTS_PAGE.response(ArtifactsPage.read(root, page, session.snapshot_id))


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Start the download now, so a missing object is a 404 before any byte is sent."""
    first = next(chunks, b"")
    return chain([first], chunks)


@router.get("/download", summary="Download one artifact (streamed)")
async def download_artifact(
    session: SessionDep,
    access: AccessDep,
    settings: SettingsDep,
    store: StoreDep,
    run_id: str,
    path: Annotated[str, _PATH],
    inline: bool = False,
) -> Response:
    """Stream one artifact file from the object store."""
    await run_in_threadpool(access.require_runs, session, [run_id])
    obj = await run_in_threadpool(locate_artifact, session, run_id, path, settings.artifacts_bucket)
    chunks = await run_in_threadpool(_primed, store.iter_object(obj.bucket, obj.key))
    name = quote(obj.path.rsplit("/", 1)[-1], safe="")
    show_inline = inline and obj.media_type in _INLINE_TYPES
    disposition = "inline" if show_inline else "attachment"
    # No Content-Length from the lake's row: if the object was replaced, a wrong
    # length would cut the stream; chunked transfer is always right.
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{name}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    media_type = obj.media_type if show_inline else "application/octet-stream"
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


@router.get("/presign", response_model=PresignedUrl, summary="Presigned download URL")
def presign_artifact(
    session: SessionDep,
    access: AccessDep,
    settings: SettingsDep,
    store: StoreDep,
    run_id: str,
    path: Annotated[str, _PATH],
    expires_in: Annotated[int, Query(ge=1, le=7 * 24 * 3600)] = 3600,
) -> Response:
    """A URL that downloads the artifact straight from the object store, for a while.

    The URL is signed for this one object; with auth on it lives at most
    ``PRESIGN_MAX_S_WITH_AUTH`` seconds, whatever was asked.
    """
    access.require_runs(session, [run_id])
    if settings.auth:
        expires_in = min(expires_in, PRESIGN_MAX_S_WITH_AUTH)
    obj = locate_artifact(session, run_id, path, settings.artifacts_bucket)
    url = store.presigned_get_url(obj.bucket, obj.key, expires_s=expires_in)
    link = PresignedUrl(url, obj.path, obj.size, expires_in, session.snapshot_id)
    return PRESIGNED_URL.response(link)


__all__ = ["router"]
