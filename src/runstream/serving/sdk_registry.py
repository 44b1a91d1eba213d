"""The registry and artifacts as serving sees them: the SDK's client (query service API + S3)."""

from __future__ import annotations

from pathlib import Path

from runstream.sdk.client import RunstreamClient
from runstream.sdk.models import download_model
from runstream.serving.targets import Resolution


class SdkRegistry:
    """Resolves ``models:/`` URIs through the query service and downloads with the SDK."""

    def __init__(self, client: RunstreamClient) -> None:
        self._client = client

    def resolve(self, uri: str) -> Resolution | None:
        """The version a ``models:/`` URI names now, or None."""
        found = self._client.resolve_model_uri(uri)
        if found is None:
            return None
        return Resolution(found.name, str(found.version), found.source)

    def fetch(self, uri: str, dest: Path) -> Path:
        """Downloads a model folder into ``dest`` (a local folder is used in place)."""
        return download_model(self._client, uri, dest)


__all__ = ["SdkRegistry"]
