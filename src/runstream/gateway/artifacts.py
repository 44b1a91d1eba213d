"""MLflow's artifact proxy, ``/api/2.0/mlflow-artifacts/``, onto the artifacts bucket.

MLflow's client sees every location in our bucket as ``mlflow-artifacts:/<key>``
(:mod:`runstream.core.artifact_uris`) and moves bytes through these routes, so it
needs no S3 credentials. A proxy path is an S3 key of the artifacts bucket; it is
checked as every artifact path is (``core.limits.check_artifact_path``: relative,
normalised, no ``..``, no control characters) before anything touches the store.

Upload contract (``PUT artifacts/<path>``):

1. The body is spooled to a temporary file while its size and SHA-256 are counted
   (memory stays flat for large files).
2. The file goes to the bucket (multipart above one part, by the S3 adapter).
3. When the path lies under a run's artifact root (``.../<run id>/artifacts/<rel>``),
   an ``artifact.logged`` event for ``<rel>`` is published and acknowledged, so
   Runstream's own API lists the file too. Only then the answer is 200.

Multipart uploads (``mpu/create|complete|abort``) are MLflow's: the client PUTs the
parts to presigned S3 URLs, then completes; ``complete`` publishes the event.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from runstream.core.limits import check_artifact_path
from runstream.errors import ArtifactPathError, ValidationError
from runstream.events import EventType, make_event
from runstream.events.fields import RUN_ID_PATTERN
from runstream.gateway.body import read_body, to_int
from runstream.gateway.context import GatewayContext
from runstream.gateway.errors import mlflow_json
from runstream.objectstore.client import ObjectStore

_RUN_SEGMENT = re.compile(RUN_ID_PATTERN)
_SPOOL_BYTES = 8 * 1024 * 1024
MAX_PARTS = 10_000


def checked_path(path: str | None, *, allow_root: bool = False) -> str:
    """A proxy path made safe, or :class:`~runstream.errors.ArtifactPathError`."""
    cleaned = (path or "").strip("/")
    if not cleaned and allow_root:
        return ""
    try:
        return check_artifact_path(cleaned)
    except ValidationError as exc:
        raise ArtifactPathError(f"Invalid path: {path!r} ({exc})") from exc


def run_artifact(key: str) -> tuple[str, str] | None:
    """``(run id, path in the run)`` when ``key`` lies under ``<run id>/artifacts/``."""
    parts = key.split("/")
    for i in range(len(parts) - 2):
        if parts[i + 1] == "artifacts" and _RUN_SEGMENT.search(parts[i]):
            return parts[i], "/".join(parts[i + 2 :])
    return None


def _media_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class ArtifactProxy:
    """The proxy's handlers (see the module docstring).

    Args:
        ctx: the gateway's shared state (publisher, bucket).
        store: the S3 adapter.
    """

    def __init__(self, ctx: GatewayContext, store: ObjectStore) -> None:
        self.ctx = ctx
        self.store = store
        self.bucket = ctx.artifacts_bucket

    async def _logged(self, key: str, size: int, sha256: str) -> None:
        """Step 3: the ``artifact.logged`` event of a file under a run's root."""
        found = run_artifact(key)
        if found is None:
            return
        run_id, rel = found
        body = {"path": rel, "uri": f"s3://{self.bucket}/{key}", "size": size,
                "sha256": sha256, "media_type": _media_type(key)}
        await self.ctx.publish([make_event(EventType.ARTIFACT_LOGGED, body, run_id=run_id)])

    async def upload(self, request: Request, path: str) -> Response:
        """``PUT artifacts/<path>`` (steps 1-3)."""
        key = checked_path(path)
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            async for chunk in request.stream():
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(spool.write, chunk)
            spool.seek(0)
            await asyncio.to_thread(self._put, key, cast(BinaryIO, spool), size)
        await self._logged(key, size, digest.hexdigest())
        return mlflow_json({})

    def _put(self, key: str, stream: BinaryIO, size: int) -> None:
        self.store.put_stream(self.bucket, key, stream, size, _media_type(key))

    async def download(self, path: str) -> Response:
        """``GET artifacts/<path>``: the bytes, streamed."""
        key = checked_path(path)
        chunks = self.store.iter_object(self.bucket, key)
        first = await asyncio.to_thread(next, chunks, b"")  # a missing object fails here

        def body() -> Iterator[bytes]:
            yield first
            yield from chunks

        return StreamingResponse(body(), media_type=_media_type(key))

    async def listing(self, request: Request) -> Response:
        """``GET artifacts?path=<dir>``: one level, names relative to ``dir`` (MLflow's)."""
        prefix = checked_path(request.query_params.get("path"), allow_root=True)
        entries = await asyncio.to_thread(
            self.store.list_level, self.bucket, f"{prefix}/" if prefix else ""
        )
        files: list[dict[str, Any]] = []
        for e in sorted(entries, key=lambda e: e.name):
            item: dict[str, Any] = {"path": e.name, "is_dir": e.is_dir}
            if e.size is not None:
                item["file_size"] = e.size
            files.append(item)
        return mlflow_json({"files": files})

    async def delete(self, path: str) -> Response:
        """``DELETE artifacts/<path>``: the object (a missing one is fine, as in S3)."""
        key = checked_path(path)
        await asyncio.to_thread(self.store.delete_object, self.bucket, key)
        return mlflow_json({})

    async def mpu_create(self, request: Request, path: str) -> Response:
        """``POST mpu/create/<path>``: an upload id and one presigned URL per part."""
        key = checked_path(path)
        body = await read_body(request)
        parts = to_int(body.data.get("num_parts"), "num_parts") or 0
        if not 1 <= parts <= MAX_PARTS:
            raise ValidationError(f"num_parts must be between 1 and {MAX_PARTS}, got {parts}")
        upload_id = await asyncio.to_thread(
            self.store.create_multipart, self.bucket, key, _media_type(key)
        )
        urls = await asyncio.to_thread(
            lambda: [
                self.store.presigned_part_url(self.bucket, key, upload_id, n)
                for n in range(1, parts + 1)
            ]
        )
        credentials = [{"part_number": n, "url": u, "headers": {}} for n, u in enumerate(urls, 1)]
        return mlflow_json({"upload_id": upload_id, "credentials": credentials})

    async def mpu_complete(self, request: Request, path: str) -> Response:
        """``POST mpu/complete/<path>``: finish, then publish the artifact event."""
        key = checked_path(path)
        body = await read_body(request)
        upload_id = body.required("upload_id")
        parts = [(to_int(p.get("part_number"), "part_number") or 0, str(p.get("etag") or ""))
                 for p in body.items("parts")]
        await asyncio.to_thread(self.store.complete_multipart, self.bucket, key, upload_id, parts)
        await self._after_multipart(key)
        return mlflow_json({})

    async def _after_multipart(self, key: str) -> None:
        if run_artifact(key) is None:
            return
        digest = hashlib.sha256()
        size = 0

        def count() -> None:
            nonlocal size
            for chunk in self.store.iter_object(self.bucket, key):
                digest.update(chunk)
                size += len(chunk)

        await asyncio.to_thread(count)
        await self._logged(key, size, digest.hexdigest())

    async def mpu_abort(self, request: Request, path: str) -> Response:
        """``POST mpu/abort/<path>``."""
        key = checked_path(path)
        body = await read_body(request)
        await asyncio.to_thread(
            self.store.abort_multipart, self.bucket, key, body.required("upload_id")
        )
        return mlflow_json({})


__all__ = ["MAX_PARTS", "ArtifactProxy", "checked_path", "run_artifact"]
