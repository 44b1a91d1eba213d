"""One ASGI middleware for every request: token check, snapshot header, metrics.

Steps, in order:

1. Every path except the probes, the UI's static files and its session
   endpoint needs credentials: with auth on (``RUNSTREAM_AUTH``), whatever
   :mod:`runstream.auth.authenticator` accepts, from the ``Authorization`` header
   or the web UI's session cookie (its rules in :mod:`.session`), and the
   principal and the directory it was checked against go into the request scope
   for :mod:`.access`; with auth off and ``settings.api_token`` set,
   ``Authorization: Bearer <token>`` (compared in constant time). Otherwise the
   answer is 401 (429 over the failure limit) in the envelope of the API asked.
2. When the response starts, the snapshot read by the request's lake session
   (if any) goes into the ``X-Runstream-Snapshot`` header, and the outcome of its
   read-your-writes wait into ``X-Runstream-Freshness`` (``held``, ``timed-out``,
   ``unknown`` or ``none``) and ``X-Runstream-Wait-Ms``.
3. When the request ends, its route template, method, status and duration are
   counted for ``/metrics``.
"""

from __future__ import annotations

import dataclasses
import hmac
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runstream.errors import AuthenticationError, LakeError, TooManyAttemptsError
from runstream.query.http.access import DIRECTORY_KEY, PRINCIPAL_KEY, address_of
from runstream.query.http.deps import FRESHNESS_KEY, SESSION_KEY, AppState
from runstream.query.http.errors import answer_for, answer_for_status, error_body
from runstream.query.http.session import from_the_ui, request_credential
from runstream.query.read.read_after import Freshness

SNAPSHOT_HEADER = b"x-runstream-snapshot"
FRESHNESS_HEADER = b"x-runstream-freshness"
WAIT_HEADER = b"x-runstream-wait-ms"
# The session endpoint authenticates what it needs itself (signing in has no credentials yet).
_OPEN_PATHS = frozenset({"/healthz", "/readyz", "/", "/favicon.ico", "/api/v1/auth/session"})
_OPEN_PREFIXES = ("/ui/",)


def _authorized(scope: Scope, token: str) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, given = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), token.encode()
            )
    return False


def _read_headers(state: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """The snapshot and freshness headers of a request that read the lake (step 2)."""
    headers: list[tuple[bytes, bytes]] = []
    session: Any = state.get(SESSION_KEY)
    snapshot = session.snapshot_id if session is not None else 0
    if snapshot:
        headers.append((SNAPSHOT_HEADER, str(snapshot).encode()))
    freshness: Freshness | None = state.get(FRESHNESS_KEY)
    if freshness is not None:
        headers.append((FRESHNESS_HEADER, freshness.status.encode()))
        headers.append((WAIT_HEADER, f"{freshness.waited_s * 1000:.1f}".encode()))
    return headers


class ServiceMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]
        path: str = scope.get("path", "")
        token = self.state.settings.api_token
        try:
            is_open = path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES)
            edge = self.state.auth
            if edge is not None and not is_open:
                try:
                    credential, by_cookie = request_credential(scope)
                    principal, directory = await edge.authenticate(credential, address_of(scope))
                except (AuthenticationError, LakeError) as exc:
                    status[0] = answer_for(exc).status
                    await self._refuse(path, send, exc, challenge=not from_the_ui(scope))
                    return
                if by_cookie:
                    principal = dataclasses.replace(principal, via="session")
                scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
                scope["state"][DIRECTORY_KEY] = directory
            elif token and not is_open and not _authorized(scope, token):
                status[0] = 401
                await self._unauthorized(path, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = int(message["status"])
                    extra = _read_headers(scope.get("state", {}))
                    if extra:
                        message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.state.metrics.observe(
                template, scope.get("method", ""), status[0], time.perf_counter() - started
            )

    async def _refuse(self, path: str, send: Send, exc: Exception, *, challenge: bool) -> None:
        answer = answer_for(exc)
        body = orjson.dumps(error_body(path, answer, str(exc)))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if isinstance(exc, TooManyAttemptsError):
            headers.append((b"retry-after", str(exc.retry_after_s).encode()))
        elif answer.status == 401 and challenge:
            headers.append((b"www-authenticate", b'Basic realm="runstream"'))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _unauthorized(self, path: str, send: Send) -> None:
        answer = answer_for_status(401)
        body = orjson.dumps(error_body(path, answer, "a valid bearer token is required"))
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


__all__ = ["FRESHNESS_HEADER", "SNAPSHOT_HEADER", "WAIT_HEADER", "ServiceMiddleware"]
