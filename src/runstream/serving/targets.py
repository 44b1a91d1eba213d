"""What a server serves: targets (a URI, a weight, an arm name) and the model each holds now.

A target served by stage or alias (``models:/churn/Production``, ``models:/churn@champion``,
``models:/churn/latest``) follows the registry. The swap contract:

1. A watcher thread asks the registry (through the query service API, never the lake)
   which version the URI names, every ``poll_s`` seconds.
2. When it names another version, that version is downloaded and loaded in the
   watcher thread; requests keep being answered by the current model meanwhile.
3. Only a fully loaded model is swapped in, by one reference assignment (atomic under
   the GIL): a request sees the old model or the new one, never a half-loaded one.
4. A failed load keeps the old model serving, is logged, and is retried after
   ``retry_s`` (not at every poll).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runstream.serving.fast_path import FastPlan, plan_for

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolution:
    """What a registry URI names now."""

    name: str
    version: str
    source: str


class Registry(Protocol):
    """How serving reaches the registry and the artifacts (the SDK client in production)."""

    def resolve(self, uri: str) -> Resolution | None:
        """The version a ``models:/`` URI names now, or None."""
        ...

    def fetch(self, uri: str, dest: Path) -> Path:
        """Downloads a model folder (any URI the SDK resolves) into ``dest``; returns it."""
        ...


@dataclass(frozen=True)
class Loaded:
    """A loaded model and which version it is."""

    model: Any
    input_schema: Any
    version: str
    name: str | None
    source: str
    loaded_at: float
    fast: FastPlan | None = None


Loader = Callable[[Path], Any]


def follows(uri: str) -> bool:
    """Whether a URI names a moving version (stage, alias or latest) in the registry."""
    if not uri.startswith("models:/"):
        return False
    ref = uri.rstrip("/").rsplit("/", 1)[-1]
    return "@" in uri or not ref.isdigit()


def arm_name(uri: str) -> str:
    """A short arm label from a URI: the alias, stage or version, else the URI."""
    if uri.startswith("models:/"):
        path = uri[len("models:/") :].rstrip("/")
        if "@" in path:
            return path.rpartition("@")[2]
        if "/" in path:
            return path.rpartition("/")[2]
    return uri


class Target:
    """One served URI: its arm, weight and the model answering for it now."""

    def __init__(
        self, arm: str, uri: str, weight: float, registry: Registry, loader: Loader
    ) -> None:
        self.arm = arm
        self.uri = uri
        self.weight = weight
        self.current: Loaded | None = None
        self._registry = registry
        self._loader = loader
        self._failed: dict[str, float] = {}

    def _load(self, version: str, name: str | None, source: str) -> Loaded:
        dest = Path(tempfile.mkdtemp(prefix="runstream-serve-"))
        folder = self._registry.fetch(source, dest)
        model = self._loader(folder)
        schema = model.metadata.get_input_schema()
        return Loaded(model, schema, version, name, source, time.time(), plan_for(model, schema))

    def load_initial(self) -> Loaded:
        """Loads what the URI names now (at start; raises if it cannot)."""
        if self.uri.startswith("models:/"):
            found = self._registry.resolve(self.uri)
            if found is None:
                from runstream.errors import NotFoundError

                raise NotFoundError(f"{self.uri}: no such registered model version, stage or alias")
            loaded = self._load(found.version, found.name, found.source)
        else:
            loaded = self._load("", None, self.uri)
            uuid = getattr(loaded.model.metadata, "model_uuid", None) or "local"
            loaded = dataclasses.replace(loaded, version=str(uuid))
        self.current = loaded
        return loaded

    def check(self, retry_s: float) -> bool:
        """One watch step (steps 1-4 of the module's contract); True when it swapped."""
        found = self._registry.resolve(self.uri)
        now = self.current
        if found is None or (now is not None and found.version == now.version):
            return False
        if time.monotonic() < self._failed.get(found.version, 0.0):
            return False
        try:
            loaded = self._load(found.version, found.name, found.source)
        except Exception:
            self._failed[found.version] = time.monotonic() + retry_s
            _log.exception(
                "loading %s version %s failed; version %s keeps serving",
                self.uri, found.version, now.version if now else "-",
            )
            return False
        self.current = loaded
        _log.info("%s: now serving version %s (was %s)", self.uri, found.version,
                  now.version if now else "-")
        return True


class Watcher:
    """The background thread that keeps following targets (see the module's contract)."""

    def __init__(self, targets: list[Target], poll_s: float, retry_s: float = 30.0) -> None:
        self._targets = [t for t in targets if follows(t.uri)]
        self._poll_s = poll_s
        self._retry_s = retry_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts following (does nothing when no target follows the registry)."""
        if not self._targets or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="registry-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            for target in self._targets:
                try:
                    target.check(self._retry_s)
                except Exception:
                    _log.warning("registry check of %s failed", target.uri, exc_info=True)

    def stop(self) -> None:
        """Stops the thread (waits for a load in progress at most a few seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)


__all__ = ["Loaded", "Loader", "Registry", "Resolution", "Target", "Watcher", "arm_name",
           "follows"]
