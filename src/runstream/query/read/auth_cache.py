"""The access-control directory of the lake, reloaded at most once a second.

Every authenticated request needs the directory (users, tokens, grants). Reading
four small tables per request would cost more than the search it guards, so one
copy is kept and reloaded when it is older than ``max_age_s``: a grant or a
revocation takes effect within that time of reaching the lake (the auth API
also drops the copy after each change it publishes). While one thread reloads,
the others keep using the previous copy.
"""

from __future__ import annotations

import threading
import time

from runstream.auth.directory import AuthDirectory
from runstream.auth.store import load_directory
from runstream.events import Permission
from runstream.query.read.session import LakeAccess


class DirectoryCache:
    """See the module docstring; the constructor reads nothing."""

    def __init__(self, lake: LakeAccess, default: Permission, max_age_s: float = 1.0) -> None:
        self._lake = lake
        self._default = default
        self.max_age_s = max_age_s
        self._current: AuthDirectory | None = None
        self._loaded_at = 0.0
        self._reload = threading.Lock()

    def fresh(self) -> AuthDirectory | None:
        """The copy if it is young enough, else None (call :meth:`get`)."""
        if self._current is not None and time.monotonic() - self._loaded_at < self.max_age_s:
            return self._current
        return None

    def get(self) -> AuthDirectory:
        """The directory, reloaded first when stale (blocking: call from a worker thread).

        Raises:
            LakeError: the lake cannot be read and there is no previous copy.
        """
        current = self.fresh()
        if current is not None:
            return current
        if not self._reload.acquire(blocking=self._current is None):
            assert self._current is not None
            return self._current
        try:
            if (found := self.fresh()) is not None:
                return found
            with self._lake.session() as session:
                loaded = load_directory(session, self._default)
            self._current, self._loaded_at = loaded, time.monotonic()
            return loaded
        finally:
            self._reload.release()

    def invalidate(self) -> None:
        """Reload on next use (after a change was published)."""
        self._loaded_at = 0.0


__all__ = ["DirectoryCache"]
