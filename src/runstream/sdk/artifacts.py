"""Artifacts: checked paths, digests, uploads to S3, and the body of the event that follows.

Layout (``docs/contracts.md``): a run's artifacts live under
``s3://<bucket>/<experiment_id>/<run_id>/artifacts/`` and an artifact's object key
is that prefix plus its normalised relative path. Paths are checked by
``core.limits.check_artifact_path`` (relative, no ``..`` or ``.`` segments, no
backslashes or control characters) before anything is read or uploaded. The
``artifact.logged`` body is built only from a finished upload, so the event never
points at bytes that are not there.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import posixpath
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runstream.core.limits import check_artifact_path
from runstream.errors import ArtifactPathError, NotFoundError, ObjectStoreError, ValidationError

if TYPE_CHECKING:
    from runstream.objectstore.client import ObjectStore

_READ_CHUNK = 1024 * 1024
_EXTRA_TYPES = {
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown",
    ".parquet": "application/vnd.apache.parquet",
    ".pkl": "application/octet-stream",
}


def artifact_dir(artifact_path: str | None) -> str:
    """Normalises the directory argument of ``log_artifact(s)``: ``""`` is the run's root.

    ``None``, ``""`` and ``"."`` mean the root; one trailing ``/`` is accepted, as
    MLflow users write ``"plots/"``. Everything else must already be normalised.

    Raises:
        ArtifactPathError: absolute, ``..``, backslashes, ``//`` and the like.
    """
    if artifact_path is None or artifact_path in ("", "."):
        return ""
    if not isinstance(artifact_path, str):
        raise ArtifactPathError(
            f"artifact path must be a string, not {type(artifact_path).__name__}"
        )
    trimmed = (
        artifact_path[:-1]
        if artifact_path.endswith("/") and len(artifact_path) > 1
        else artifact_path
    )
    return check_artifact_path(trimmed)


def join_path(directory: str, name: str) -> str:
    """Joins a checked directory and a relative name, and checks the result.

    Raises:
        ArtifactPathError: the result is not a normalised relative path.
    """
    return check_artifact_path(f"{directory}/{name}" if directory else name)


def media_type(path: str) -> str:
    """Guesses the media type from the file name (``application/octet-stream`` if unknown)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def file_digest(path: Path) -> tuple[str, int]:
    """Returns the sha256 (hex) and size of a file, reading it in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def iter_files(local_dir: Path) -> Iterator[tuple[Path, str]]:
    """Yields every regular file under a folder with its relative ``/`` path, sorted.

    Symbolic links to folders are not followed, so a link cannot pull in files from
    outside the folder; links to files are uploaded as the file they point to.
    """
    for root, dirs, files in os.walk(local_dir):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file():
                yield path, path.relative_to(local_dir).as_posix()


@dataclass(frozen=True)
class UploadedArtifact:
    """A finished upload: the fields of its ``artifact.logged`` event body."""

    path: str
    uri: str
    size: int
    sha256: str
    media_type: str


@dataclass(frozen=True)
class ArtifactRoot:
    """Where one run's artifacts live: a bucket and a key prefix.

    Attributes:
        bucket: the S3 bucket.
        prefix: the key prefix, without a trailing ``/`` (``<exp>/<run>/artifacts``).
    """

    bucket: str
    prefix: str

    @classmethod
    def for_run(cls, bucket: str, experiment_id: str, run_id: str) -> ArtifactRoot:
        """The contract's layout for a run in the default location."""
        return cls(bucket, f"{experiment_id}/{run_id}/artifacts")

    @classmethod
    def from_uri(cls, uri: str) -> ArtifactRoot:
        """Parses ``s3://bucket/prefix``.

        Raises:
            ValidationError: not an ``s3://`` URI with a bucket.
        """
        if not uri.startswith("s3://"):
            raise ValidationError(f"artifact location {uri!r} is not an s3:// URI")
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        if not bucket:
            raise ValidationError(f"artifact location {uri!r} names no bucket")
        return cls(bucket, prefix.strip("/"))

    @property
    def uri(self) -> str:
        """``s3://bucket/prefix``: the run's ``artifact_uri``."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, path: str) -> str:
        """The object key of a checked artifact path ("" is the root itself)."""
        if not path:
            return self.prefix
        return f"{self.prefix}/{path}" if self.prefix else path


class ArtifactUploader:
    """Uploads artifacts; each upload returns what its ``artifact.logged`` event carries.

    Args:
        store_factory: makes the S3 client on first use (no connection before that).
        offline_root: where files that cannot be uploaded are kept, as
            ``<root>/<bucket>/<key>`` (``runstream sync`` uploads them later); None:
            an upload failure raises.
        offline: keep every file there without trying S3 (``RUNSTREAM_OFFLINE=1``).
    """

    def __init__(
        self,
        store_factory: Callable[[], ObjectStore],
        offline_root: Path | None = None,
        *,
        offline: bool = False,
    ) -> None:
        self._store_factory = store_factory
        self._store: ObjectStore | None = None
        self._offline_root = offline_root
        self._offline = offline and offline_root is not None

    def _put(self, root: ArtifactRoot, path: str, data: bytes | Path, kind: str) -> None:
        """Uploads, or keeps the file locally when offline or when S3 fails."""
        if not self._offline:
            try:
                if isinstance(data, Path):
                    self.store.put_file(root.bucket, root.key(path), str(data), kind)
                else:
                    stream = io.BytesIO(data)
                    self.store.put_stream(root.bucket, root.key(path), stream, len(data), kind)
                return
            except ObjectStoreError:
                if self._offline_root is None:
                    raise
        self._keep(root, path, data)

    def _keep(self, root: ArtifactRoot, path: str, data: bytes | Path) -> None:
        """Offline: keeps the file where ``runstream sync`` will find it."""
        assert self._offline_root is not None
        target = self._offline_root / root.bucket / root.key(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copyfile(data, target)
        else:
            target.write_bytes(data)

    @property
    def store(self) -> ObjectStore:
        """The S3 client, created on first use."""
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def upload_file(self, root: ArtifactRoot, local_path: Path, path: str) -> UploadedArtifact:
        """Uploads one file (multipart when large) to a checked artifact path.

        Raises:
            ArtifactPathError: ``path`` is not a normalised relative path.
            ValidationError: ``local_path`` is not a readable file.
            ObjectStoreError: the upload failed (no event should follow).
        """
        check_artifact_path(path)
        if not local_path.is_file():
            raise ValidationError(f"{local_path} is not a file")
        sha256, size = file_digest(local_path)
        kind = media_type(path)
        self._put(root, path, local_path, kind)
        return UploadedArtifact(path, f"{root.uri}/{path}", size, sha256, kind)

    def upload_bytes(
        self, root: ArtifactRoot, data: bytes, path: str, kind: str | None = None
    ) -> UploadedArtifact:
        """Uploads bytes from memory (``log_text``, ``log_dict``, ``log_figure``)."""
        check_artifact_path(path)
        kind = kind or media_type(path)
        self._put(root, path, data, kind)
        sha256 = hashlib.sha256(data).hexdigest()
        return UploadedArtifact(path, f"{root.uri}/{path}", len(data), sha256, kind)

    def download(self, root: ArtifactRoot, path: str, dest: Path) -> Path:
        """Downloads an artifact folder (its files keep their relative paths) or one file.

        Keys are checked again on the way down, so a hostile key cannot write outside
        ``dest``.

        Returns:
            ``dest`` for a folder, or the downloaded file's local path.

        Raises:
            NotFoundError: nothing is stored under the path.
        """
        prefix = root.key(path).rstrip("/") + "/"
        count = 0
        for info in self.store.list_objects(root.bucket, prefix):
            self._fetch(root.bucket, info.key, dest / check_artifact_path(info.key[len(prefix) :]))
            count += 1
        if count:
            return dest
        if path:  # not a folder: perhaps a single file
            key = root.key(path)
            if any(info.key == key for info in self.store.list_objects(root.bucket, key)):
                return self._fetch(root.bucket, key, dest / posixpath.basename(path))
        raise NotFoundError(f"no artifacts at s3://{root.bucket}/{root.key(path)}")

    def _fetch(self, bucket: str, key: str, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            for chunk in self.store.iter_object(bucket, key):
                handle.write(chunk)
        return target


def store_factory(
    endpoint: str, access_key: str, secret_key: str, region: str
) -> Callable[[], ObjectStore]:
    """Returns a factory of the S3 client, importing minio only when it is called."""

    def make() -> ObjectStore:
        from runstream.objectstore.client import ObjectStore

        return ObjectStore(endpoint, access_key, secret_key, region)

    return make


__all__ = [
    "ArtifactRoot",
    "ArtifactUploader",
    "UploadedArtifact",
    "artifact_dir",
    "file_digest",
    "iter_files",
    "join_path",
    "media_type",
    "store_factory",
]
