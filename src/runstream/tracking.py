"""``runstream.tracking``: ``MlflowClient`` as users of ``mlflow.tracking`` type it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runstream.sdk.client import RunstreamClient as MlflowClient


def __getattr__(name: str) -> Any:
    """``MlflowClient`` is :class:`~runstream.sdk.client.RunstreamClient` (imported on use)."""
    if name == "MlflowClient":
        from runstream.sdk.client import RunstreamClient

        return RunstreamClient
    raise AttributeError(f"module 'runstream.tracking' has no attribute {name!r}")


__all__ = ["MlflowClient"]
