"""The access-control directory of the lake, refreshed in the background.

Every authenticated request needs the directory (users, tokens, grants). Reading
four small tables per request would cost more than the search it guards, so one
copy is kept:

1. the first request loads it (and waits for it);
2. afterwards a request always gets the copy at once; when the copy is older
   than ``max_age_s``, one background thread checks it (measured: reloading in
   the request that found it stale put a 2 s tail on 5% of searches on a
   loaded machine): one small query of ``auth_audit``, which every change adds
   a row to, and the four tables only when that changed;
3. so a grant, a revocation or a new user takes effect within ``max_age_s`` plus
   one reload of reaching the lake; the auth API reloads synchronously
   (:meth:`DirectoryCache.reload`) after each change it publishes;
4. a grant this process published and must honour at once (the write gateway's
   MANAGE for the creator of an experiment or model) is *expected*
   (:meth:`DirectoryCache.expect`): every copy handed out includes it until a
   loaded directory holds it, or for ``PENDING_TTL_S`` at most.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from runstream.auth.directory import AuthDirectory, Grant
from runstream.auth.store import directory_version, load_directory
from runstream.errors import RunstreamError
from runstream.events import Permission
from runstream.query.read.session import LakeAccess

log = logging.getLogger("runstream.query.auth")

PENDING_TTL_S = 60.0


class DirectoryCache:
    """See the module docstring; the constructor reads nothing."""

    def __init__(self, lake: LakeAccess, default: Permission, max_age_s: float = 1.0) -> None:
        self._lake = lake
        self._default = default
        self.max_age_s = max_age_s
        self._current: AuthDirectory | None = None
        self._version: tuple[object, ...] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()  # one reload at a time
        self._flag = threading.Lock()  # guards _refreshing only: never held during I/O
        self._refreshing = False
        self._pending: dict[Grant, float] = {}
        self._overlaid: tuple[AuthDirectory, frozenset[Grant], AuthDirectory] | None = None

    def expect(self, grant: Grant) -> None:
        """Rule 4: hand out ``grant`` with every copy until the lake's directory has it."""
        self._pending = {**self._pending, grant: time.monotonic() + PENDING_TTL_S}

    def _with_pending(self, current: AuthDirectory) -> AuthDirectory:
        if not self._pending:
            return current
        now, held = time.monotonic(), set(current.grants)
        pending = {g: t for g, t in self._pending.items() if t > now and g not in held}
        self._pending = pending
        if not pending:
            return current
        wanted = frozenset(pending)
        cached = self._overlaid
        if cached is not None and cached[0] is current and cached[1] == wanted:
            return cached[2]
        overlaid = dataclasses.replace(current, grants=(*current.grants, *pending))
        self._overlaid = (current, wanted, overlaid)
        return overlaid

    def peek(self) -> AuthDirectory | None:
        """The copy, at once (a stale one starts a background reload); None before the first."""
        current = self._current
        if current is None:
            return None
        if time.monotonic() - self._loaded_at >= self.max_age_s:
            self._refresh_in_background()
        return self._with_pending(current)

    def get(self) -> AuthDirectory:
        """The copy, loading the first one (blocking: call from a worker thread).

        Raises:
            LakeError: the lake cannot be read and there is no copy yet.
        """
        return self.peek() or self._with_pending(self.reload())

    def reload(self, *, if_changed: bool = False) -> AuthDirectory:
        """Read the directory now (blocking) and keep it.

        Args:
            if_changed: keep the current copy when the audit says nothing changed.
        """
        with self._lock:
            with self._lake.session() as session:
                version = directory_version(session)
                if if_changed and self._current is not None and version == self._version:
                    self._loaded_at = time.monotonic()
                    return self._current
                loaded = load_directory(session, self._default)
            self._current, self._version = loaded, version
            self._loaded_at = time.monotonic()
            return loaded

    def _refresh_in_background(self) -> None:
        with self._flag:
            if self._refreshing:
                return
            self._refreshing = True

        def refresh() -> None:
            try:
                self.reload(if_changed=True)
            except RunstreamError as exc:  # keep serving the last copy
                log.warning("cannot reload the access-control directory: %s", exc)
            finally:
                self._refreshing = False

        threading.Thread(target=refresh, name="auth-directory", daemon=True).start()


__all__ = ["DirectoryCache"]
