"""The S3 object store behind one small class; minio is imported here only.

Every minio or urllib3 failure is translated into
:class:`~runstream.errors.ObjectStoreError` (or ``NotFoundError``) so the rest of
Runstream never sees a third-party exception type.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.error import MinioException, S3Error

from runstream.config import Settings
from runstream.errors import NotFoundError, ObjectStoreError

# Parts of 16 MiB keep memory flat for multi-GB artifacts and stay well above
# S3's 5 MiB minimum part size.
PART_SIZE = 16 * 1024 * 1024


@dataclass(frozen=True)
class ListedEntry:
    """One entry of a one-level listing: an object, or a common prefix (a "directory")."""

    name: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object."""

    key: str
    size: int
    etag: str


class ObjectStore:
    """A thin, typed S3 client for one endpoint.

    The constructor opens nothing; the first call connects.
    """

    def __init__(
        self,
        endpoint_url: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        timeout_s: float = 30.0,
    ) -> None:
        parts = urlsplit(endpoint_url)
        if not parts.hostname:
            raise ObjectStoreError(f"bad S3 endpoint URL: {endpoint_url!r}")
        self.endpoint_url = endpoint_url
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(5.0, timeout_s), read=timeout_s),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504)),
            maxsize=8,
        )
        self._client = Minio(
            parts.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parts.scheme == "https",
            region=region,
            http_client=http,
        )

    @classmethod
    def from_settings(cls, settings: Settings, timeout_s: float = 30.0) -> ObjectStore:
        """Build a client for the settings' endpoint and credentials."""
        return cls(
            settings.s3_url,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_region,
            timeout_s=timeout_s,
        )

    def _fail(self, action: str, exc: Exception) -> ObjectStoreError:
        return ObjectStoreError(f"S3 {action} failed at {self.endpoint_url}: {exc}")

    def list_buckets(self) -> list[str]:
        """Names of every bucket (also the readiness probe)."""
        try:
            return [bucket.name for bucket in self._client.list_buckets()]
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail("list buckets", exc) from exc

    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket unless it exists."""
        try:
            if not self._client.bucket_exists(bucket):
                self._client.make_bucket(bucket)
        except S3Error as exc:
            if exc.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return
            raise self._fail(f"create bucket {bucket}", exc) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"create bucket {bucket}", exc) from exc

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        """Store a small object from memory."""
        self.put_stream(bucket, key, io.BytesIO(data), len(data), content_type)

    def put_stream(
        self, bucket: str, key: str, stream: BinaryIO, size: int, content_type: str = ""
    ) -> None:
        """Store an object from a stream; large ones go up in multipart parts."""
        try:
            self._client.put_object(
                bucket,
                key,
                stream,
                size,
                content_type=content_type or "application/octet-stream",
                part_size=PART_SIZE,
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(f"put {bucket}/{key}", exc) from exc

    def put_file(self, bucket: str, key: str, path: str, content_type: str = "") -> None:
        """Upload a file; multipart above one part size."""
        try:
            self._client.fput_object(
                bucket,
                key,
                path,
                content_type=content_type or "application/octet-stream",
                part_size=PART_SIZE,
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(f"upload {path} to {bucket}/{key}", exc) from exc

    def get_bytes(self, bucket: str, key: str) -> bytes:
        """Read a whole object into memory."""
        return b"".join(self.iter_object(bucket, key))

    def iter_object(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream an object in chunks, releasing the connection at the end."""
        try:
            response = self._client.get_object(bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                raise NotFoundError(f"no object {bucket}/{key}") from exc
            raise self._fail(f"get {bucket}/{key}", exc) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"get {bucket}/{key}", exc) from exc
        try:
            yield from response.stream(chunk_size)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"read {bucket}/{key}", exc) from exc
        finally:
            response.close()
            response.release_conn()

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under a prefix, recursively, in key order."""
        try:
            for obj in self._client.list_objects(bucket, prefix=prefix, recursive=True):
                if obj.object_name is None or obj.is_dir:
                    continue
                yield ObjectInfo(obj.object_name, obj.size or 0, obj.etag or "")
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"list {bucket}/{prefix}", exc) from exc

    def list_level(self, bucket: str, prefix: str) -> list[ListedEntry]:
        """The objects and sub-prefixes directly under ``prefix`` (which ends in ``/``)."""
        try:
            out = []
            for obj in self._client.list_objects(bucket, prefix=prefix, recursive=False):
                if obj.object_name is None:
                    continue
                name = obj.object_name[len(prefix) :].rstrip("/")
                if name:
                    size = None if obj.is_dir else obj.size
                    out.append(ListedEntry(name, bool(obj.is_dir), size))
            return out
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"list {bucket}/{prefix}", exc) from exc

    def create_multipart(self, bucket: str, key: str, content_type: str = "") -> str:
        """Start a multipart upload; returns its upload id."""
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Content-Type": content_type or "application/octet-stream"
        }
        try:
            return str(self._client._create_multipart_upload(bucket, key, headers))
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(f"start a multipart upload of {bucket}/{key}", exc) from exc

    def presigned_part_url(
        self, bucket: str, key: str, upload_id: str, part_number: int, expires_s: int = 3600
    ) -> str:
        """A URL that uploads one part of a multipart upload without credentials (PUT)."""
        try:
            return self._client.get_presigned_url(
                "PUT",
                bucket,
                key,
                expires=timedelta(seconds=expires_s),
                extra_query_params={"partNumber": str(part_number), "uploadId": upload_id},
            )
        except (MinioException, ValueError) as exc:
            raise self._fail(f"presign part {part_number} of {bucket}/{key}", exc) from exc

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        """Finish a multipart upload from its ``(part number, etag)`` pairs."""
        try:
            self._client._complete_multipart_upload(
                bucket, key, upload_id, [Part(n, etag) for n, etag in sorted(parts)]
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(f"complete the multipart upload of {bucket}/{key}", exc) from exc

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Abandon a multipart upload and its parts."""
        try:
            self._client._abort_multipart_upload(bucket, key, upload_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(f"abort the multipart upload of {bucket}/{key}", exc) from exc

    def bucket_size(self, bucket: str) -> int:
        """Bytes stored in a bucket."""
        return sum(obj.size for obj in self.list_objects(bucket))

    def presigned_get_url(self, bucket: str, key: str, expires_s: int = 3600) -> str:
        """A URL that downloads one object without credentials, for a limited time."""
        try:
            return self._client.presigned_get_object(
                bucket, key, expires=timedelta(seconds=expires_s)
            )
        except (MinioException, ValueError) as exc:
            raise self._fail(f"presign {bucket}/{key}", exc) from exc

    def delete_object(self, bucket: str, key: str) -> None:
        """Remove one object (missing is fine)."""
        try:
            self._client.remove_object(bucket, key)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._fail(f"delete {bucket}/{key}", exc) from exc


__all__ = ["PART_SIZE", "ListedEntry", "ObjectInfo", "ObjectStore"]
