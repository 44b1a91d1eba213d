"""Offline logging: where the spool lives and when the SDK writes to it from the start.

``RUNSTREAM_OFFLINE=1`` sends every event to the spool (``runstream.sdk.spool``) and
keeps every artifact on local disk, without trying the broker or S3; otherwise the
SDK switches to the spool when the broker stays unreachable, and keeps an artifact
locally when its upload fails. ``RUNSTREAM_SPOOL_DIR`` names the folder (default
``<RUNSTREAM_HOME>/spool``, i.e. ``.runstream/spool``); ``runstream sync`` publishes it,
and so does the SDK itself when the broker answers again (tried every
``RUNSTREAM_SPOOL_RETRY_S`` seconds, default 30; ``0`` turns it off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runstream.errors import ConfigError
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
        retry_s: how often a process on the spool tries the broker again (0: never).
    """

    root: Path
    forced: bool
    retry_s: float = 30.0

    @property
    def artifacts_root(self) -> Path:
        """Where artifacts wait, as ``<bucket>/<key>``."""
        return self.root / ARTIFACTS_FOLDER

    def spool_sink(self, topic_registry: str) -> Callable[[], EventSink]:
        """A factory of sinks appending to this spool."""
        return lambda: SpoolSink(self.root, topic_registry)


def offline_mode(environ: Mapping[str, str]) -> OfflineMode:
    """Reads ``RUNSTREAM_OFFLINE``, ``RUNSTREAM_SPOOL_DIR``, ``RUNSTREAM_SPOOL_RETRY_S``
    and ``RUNSTREAM_HOME``.

    Raises:
        ConfigError: ``RUNSTREAM_SPOOL_RETRY_S`` is not a number of seconds >= 0.
    """
    home = Path(environ.get("RUNSTREAM_HOME") or ".runstream")
    root = Path(environ.get("RUNSTREAM_SPOOL_DIR") or home / "spool")
    raw = environ.get("RUNSTREAM_SPOOL_RETRY_S", "30")
    try:
        retry_s = float(raw)
    except ValueError:
        retry_s = -1.0
    if not retry_s >= 0:
        raise ConfigError(f"RUNSTREAM_SPOOL_RETRY_S={raw!r}: expected a number of seconds >= 0")
    forced = environ.get("RUNSTREAM_OFFLINE", "").lower() in _TRUE
    return OfflineMode(root, forced, retry_s)


def offline_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without tracking URIs: endpoints from settings, no service asked."""
    drop = {"RUNSTREAM_TRACKING_URI", "MLFLOW_TRACKING_URI"}
    return {k: v for k, v in environ.items() if k not in drop}


__all__ = ["ARTIFACTS_FOLDER", "OfflineMode", "offline_environ", "offline_mode"]
