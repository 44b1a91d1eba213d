"""Logging artifacts of a run: upload first, then publish ``artifact.logged``.

The ``artifacts`` part of :class:`~runstream.sdk.client.RunstreamClient`, behind
``log_artifact``, ``log_artifacts``, ``log_text``, ``log_dict`` and ``log_figure``. Every path is
checked before the first byte is read; a directory is checked whole before any
file goes up, so a bad name inside it uploads nothing.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from runstream.core.limits import check_artifact_path
from runstream.errors import ValidationError
from runstream.events.codec import make_event
from runstream.events.event_types import EventType
from runstream.sdk.artifacts import (
    ArtifactRoot,
    UploadedArtifact,
    artifact_dir,
    iter_files,
    join_path,
)
from runstream.sdk.session import Session

_FIGURE_FORMATS = {"png", "jpg", "jpeg", "svg", "pdf", "eps", "ps", "tif", "tiff", "webp"}


class RunArtifacts:
    """Uploads a run's artifacts and publishes their events through a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _publish(self, run_id: str, uploaded: UploadedArtifact) -> None:
        self._session.publish(
            make_event(EventType.ARTIFACT_LOGGED, asdict(uploaded), run_id=run_id)
        )

    def log_file(
        self, root: ArtifactRoot, run_id: str, local_path: Path, artifact_path: str | None
    ) -> str:
        """Uploads one file as ``<artifact_path>/<file name>``; returns its artifact path.

        Raises:
            ArtifactPathError: a bad ``artifact_path`` or file name.
            ValidationError: ``local_path`` is not a file.
            ObjectStoreError: the upload failed (no event is published).
        """
        path = join_path(artifact_dir(artifact_path), local_path.name)
        if not local_path.is_file():
            raise ValidationError(f"log_artifact: {local_path} is not a file")
        self._publish(run_id, self._session.uploader.upload_file(root, local_path, path))
        return path

    def log_dir(
        self, root: ArtifactRoot, run_id: str, local_dir: Path, artifact_path: str | None
    ) -> list[str]:
        """Uploads every file under a folder, keeping its relative structure.

        Raises:
            ArtifactPathError: a bad ``artifact_path`` or a file name that is not a
                valid artifact path (nothing is uploaded then).
            ValidationError: ``local_dir`` is not a folder.
        """
        if not local_dir.is_dir():
            raise ValidationError(f"log_artifacts: {local_dir} is not a directory")
        base = artifact_dir(artifact_path)
        files = [(path, join_path(base, rel)) for path, rel in iter_files(local_dir)]
        for path, target in files:
            self._publish(run_id, self._session.uploader.upload_file(root, path, target))
        return [target for _, target in files]

    def log_bytes(
        self,
        root: ArtifactRoot,
        run_id: str,
        data: bytes,
        artifact_file: str,
        kind: str | None = None,
    ) -> str:
        """Uploads bytes as one artifact file; returns its artifact path."""
        path = check_artifact_path(artifact_file)
        self._publish(run_id, self._session.uploader.upload_bytes(root, data, path, kind))
        return path

    def log_text(self, root: ArtifactRoot, run_id: str, text: str, artifact_file: str) -> str:
        """Uploads text (UTF-8) as one artifact file."""
        if not isinstance(text, str):
            raise ValidationError(f"log_text needs a str, not {type(text).__name__}")
        return self.log_bytes(root, run_id, text.encode(), artifact_file)

    def log_dict(self, root: ArtifactRoot, run_id: str, dictionary: Any, artifact_file: str) -> str:
        """Uploads a dict as JSON, or as YAML when the file name ends in ``.yaml``/``.yml``."""
        suffix = os.path.splitext(artifact_file)[1].lower()
        if suffix in (".yaml", ".yml"):
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            try:
                text = json.dumps(dictionary, indent=2, allow_nan=True)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"log_dict: not JSON-serialisable: {exc}") from exc
        return self.log_text(root, run_id, text, artifact_file)

    def log_figure(
        self,
        root: ArtifactRoot,
        run_id: str,
        figure: Any,
        artifact_file: str,
        save_kwargs: dict[str, Any] | None = None,
    ) -> str:
        """Renders a matplotlib figure (anything with ``savefig``) and uploads the image.

        The format comes from the file name's extension (``.png``, ``.svg``, ...).

        Raises:
            ValidationError: not a figure, or an image format matplotlib does not write.
        """
        savefig = getattr(figure, "savefig", None)
        if not callable(savefig):
            raise ValidationError(
                f"log_figure needs a matplotlib figure, not {type(figure).__name__}"
            )
        fmt = os.path.splitext(artifact_file)[1].lower().lstrip(".") or "png"
        if fmt not in _FIGURE_FORMATS:
            raise ValidationError(
                f"log_figure: cannot write {artifact_file!r}; use one of "
                f"{', '.join(sorted(_FIGURE_FORMATS))}"
            )
        buffer = io.BytesIO()
        savefig(buffer, format=fmt, **(save_kwargs or {}))
        return self.log_bytes(root, run_id, buffer.getvalue(), artifact_file)


__all__ = ["RunArtifacts"]
