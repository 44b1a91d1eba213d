"""Who is calling and what they may read: one object per request, for every route.

The middleware authenticates the request and leaves the principal and the
directory it used in the request scope; :func:`get_access` turns them into an
:class:`Access`. Routes never filter fetched rows: they pass the caller's
:class:`~runstream.auth.ReadScope` into the reader's query (searches), or check one
named resource before reading it (run, experiment, model, version). A caller
without READ gets 403, as MLflow's auth answers; searches just never see what
is hidden.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from runstream.auth import (
    EVERYTHING,
    AuthDirectory,
    Authenticator,
    Principal,
    ReadScope,
    at_least,
)
from runstream.auth.caller import DIRECTORY_KEY, PRINCIPAL_KEY, Caller, caller_of
from runstream.auth.changes import AuthEventSink
from runstream.errors import PermissionDeniedError, ServiceError
from runstream.events import Envelope, Permission, ResourceType
from runstream.query.read.auth_cache import DirectoryCache
from runstream.query.read.session import ReadSession
from runstream.query.read.sql_view import ADMIN, SqlCaller
from runstream.query.search.planner import RunSearch

NOTHING = ReadScope(allowed=frozenset())
_EXPERIMENTS_OF = (
    "SELECT DISTINCT experiment_id FROM runs WHERE run_id IN (SELECT unnest(?::VARCHAR[]))"
)
# A published access-control change is answered once the lake shows it, or after this.
VISIBLE_WITHIN_S = 10.0


def address_of(scope: Scope) -> str:
    """The client's address, the key of its failed-login count ("" when unknown)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


@dataclass(frozen=True)
class AuthEdge:
    """What the middleware authenticates with, when auth is on.

    Attributes:
        authenticator: credentials to principals.
        directories: the lake's directory, cached.
        sink: where access-control changes are published (None: read-only server).
    """

    authenticator: Authenticator
    directories: DirectoryCache
    sink: AuthEventSink | None = None

    async def directory(self) -> AuthDirectory:
        """The directory copy (the first one is loaded in a worker thread)."""
        directory = self.directories.peek()
        if directory is None:
            directory = await run_in_threadpool(self.directories.get)
        return directory

    async def authenticate(
        self, credential: str | None, address: str
    ) -> tuple[Principal, AuthDirectory]:
        """The caller an ``Authorization`` value names, and the directory it was checked in.

        A remembered password or a service token is checked on the event loop; the
        slow checks (argon2, a JWT whose issuer's keys may be fetched) and every
        refusal run in a worker thread.

        Raises:
            AuthenticationError: no or bad credentials (401).
            TooManyAttemptsError: over the failure limit (429).
        """
        directory = await self.directory()
        principal = self.authenticator.quick(credential, address, directory)
        if principal is None:
            principal = await run_in_threadpool(
                self.authenticator.authenticate, credential, address, directory
            )
        return principal, directory

    async def publish(
        self, events: Sequence[Envelope[Any]], shows: Callable[[AuthDirectory], bool]
    ) -> bool:
        """Publish changes, then wait (bounded) until the lake's directory ``shows`` them.

        Returns:
            Whether the lake showed them within :data:`VISIBLE_WITHIN_S`.

        Raises:
            ServiceError: this server has no broker to publish to.
            BrokerError: the broker did not take the events.
        """
        if self.sink is None:
            raise ServiceError("this query service has no broker to publish changes to")
        await self.sink.publish(events)
        deadline = time.monotonic() + VISIBLE_WITHIN_S
        while True:
            directory = await run_in_threadpool(self.directories.reload)
            if shows(directory):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)


@dataclass(frozen=True)
class Access(Caller):
    """The caller and the directory of this request (None: auth is off, all allowed)."""

    @property
    def caller(self) -> str:
        """The caller's name in fingerprints, "" when auth is off (tokens unchanged)."""
        return self.principal.username if self.directory is not None else ""

    @property
    def experiments(self) -> ReadScope:
        """The experiments the caller may read."""
        if self.directory is None:
            return EVERYTHING
        return self.directory.readable(self.principal, ResourceType.EXPERIMENT)

    @property
    def models(self) -> ReadScope:
        """The registered models the caller may read."""
        if self.directory is None:
            return EVERYTHING
        return self.directory.readable(self.principal, ResourceType.REGISTERED_MODEL)

    def require_admin(self, what: str, need: Permission = Permission.READ) -> None:
        """Raise unless the caller is an admin whose credential allows ``need`` (or auth is off).

        Raises:
            PermissionDeniedError: 403.
        """
        if self.directory is None:
            return
        if not self.principal.is_admin or not at_least(self.principal.cap, need):
            raise PermissionDeniedError(f"Permission denied: {what} is for admins")

    @property
    def sql_caller(self) -> SqlCaller:
        """Whose SQL this is: an admin's (or auth is off), or one that reads only its rows."""
        if self.directory is None:
            return ADMIN
        if not at_least(self.principal.cap, Permission.READ):
            return SqlCaller(admin=False, experiments=NOTHING, models=NOTHING)
        if self.principal.is_admin:
            return ADMIN
        return SqlCaller(admin=False, experiments=self.experiments, models=self.models)

    def require_runs(self, session: ReadSession, run_ids: Sequence[str]) -> None:
        """Raise unless the caller may read the experiment of every run named (one query).

        Unknown run ids pass here; the reader answers 404 for them.

        Raises:
            PermissionDeniedError: 403 for a run of a hidden experiment.
        """
        if self.directory is None or self.principal.is_admin or not run_ids:
            return
        scope = self.experiments
        for (experiment_id,) in session.fetch(_EXPERIMENTS_OF, [list(run_ids)]):
            if not scope.permits(str(experiment_id)):
                raise PermissionDeniedError(
                    f"Permission denied: {self.principal.username} needs READ on the "
                    "experiment of a requested run"
                )

    def restrict(self, search: RunSearch) -> RunSearch:
        """The run search over only the experiments the caller may read."""
        if self.directory is None:
            return search
        return search.restricted(self.experiments.permits, self.caller)


def get_access(request: Request) -> Access:
    """The request's :class:`Access` (set up by the middleware)."""
    caller = caller_of(request.scope.get("state", {}))
    return Access(caller.principal, caller.directory)


AccessDep = Annotated[Access, Depends(get_access)]

__all__ = [
    "DIRECTORY_KEY",
    "PRINCIPAL_KEY",
    "VISIBLE_WITHIN_S",
    "Access",
    "AccessDep",
    "AuthEdge",
    "address_of",
    "get_access",
]
