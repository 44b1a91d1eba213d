"""Offline logging: where the spool lives and when the SDK writes to it from the start.

``RUNSTREAM_OFFLINE=1`` sends every event to the spool (``runstream.sdk.spool``) and
keeps every artifact on local disk, without trying the broker or S3; otherwise the
SDK switches to the spool when the broker stays unreachable, and keeps an artifact
locally when its upload fails. ``RUNSTREAM_SPOOL_DIR`` names the folder (default
``<RUNSTREAM_HOME>/spool``, i.e. ``.runstream/spool``); ``runstream sync`` publishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runstream.sdk.spool import SpoolSink

if TYPE_CHECKING:
    from runstream.sdk.transport import EventSink

ARTIFACTS_FOLDER = "_artifacts"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class OfflineMode:
    """The offline spool's place, and whether to use it from the first event.

    Attributes:
        root: the spool folder (events per Kafka key, artifacts under ``_artifacts``).
        forced: ``RUNSTREAM_OFFLINE`` is set: never try the broker or S3.
    """

    root: Path
    forced: bool

    @property
    def artifacts_root(self) -> Path:
        """Where artifacts wait, as ``<bucket>/<key>``."""
        return self.root / ARTIFACTS_FOLDER

    def spool_sink(self, topic_registry: str) -> Callable[[], EventSink]:
        """A factory of sinks appending to this spool."""
        return lambda: SpoolSink(self.root, topic_registry)


def offline_mode(environ: Mapping[str, str]) -> OfflineMode:
    """Reads ``RUNSTREAM_OFFLINE``, ``RUNSTREAM_SPOOL_DIR`` and ``RUNSTREAM_HOME``."""
    home = Path(environ.get("RUNSTREAM_HOME") or ".runstream")
    root = Path(environ.get("RUNSTREAM_SPOOL_DIR") or home / "spool")
    return OfflineMode(root, environ.get("RUNSTREAM_OFFLINE", "").lower() in _TRUE)


def offline_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without tracking URIs: endpoints from settings, no service asked."""
    drop = {"RUNSTREAM_TRACKING_URI", "MLFLOW_TRACKING_URI"}
    return {k: v for k, v in environ.items() if k not in drop}


__all__ = ["ARTIFACTS_FOLDER", "OfflineMode", "offline_environ", "offline_mode"]
