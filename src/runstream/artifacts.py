"""``runstream.artifacts``: ``download_artifacts`` with ``mlflow.artifacts``' arguments."""

from __future__ import annotations

from pathlib import Path

from runstream.errors import ValidationError


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Downloads a run's artifact (or folder), or any model URI, to ``dst_path``; returns it.

    Either ``artifact_uri`` (``runs:/<run>/<path>``, ``models:/...``, ``s3://...``) or
    ``run_id`` with an optional ``artifact_path``, as in MLflow.

    Raises:
        ValidationError: both or neither of ``artifact_uri`` and ``run_id``.
        NotFoundError: nothing there.
    """
    from runstream.sdk.fluent import get_client
    from runstream.sdk.models import download_model

    if (artifact_uri is None) == (run_id is None):
        raise ValidationError("give exactly one of artifact_uri and run_id")
    client = get_client()
    if run_id is not None:
        return client.download_artifacts(run_id, artifact_path or "", dst_path)
    assert artifact_uri is not None
    dest = Path(dst_path) if dst_path else None
    return str(download_model(client, artifact_uri, dest))


__all__ = ["download_artifacts"]
