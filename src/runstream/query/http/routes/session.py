"""``/api/v1/auth/session``: the web UI signs in, asks who is signed in, and signs out.

The middleware lets this path through without credentials (signing in has none
yet); each route checks what it needs with the same authenticator as every other
request. What the session is, and when its cookie counts, is in
:mod:`runstream.query.http.session`.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from runstream.auth import AuthDirectory, Principal
from runstream.auth import changes as change
from runstream.auth.secrets import parse_token
from runstream.errors import AuthenticationError, ServiceError, TooManyAttemptsError
from runstream.events import TokenScope
from runstream.query.http.access import VISIBLE_WITHIN_S, AuthEdge, address_of
from runstream.query.http.deps import StateDep
from runstream.query.http.routes.auth import edge_of
from runstream.query.http.schemas.common import json_response
from runstream.query.http.session import (
    check_same_origin,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class SignIn(BaseModel):
    """A username and password typed into the sign-in form."""

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


def _user(principal: Principal, expires_at: int | None) -> dict[str, Any]:
    return {
        "username": principal.username,
        "groups": sorted(principal.groups),
        "is_admin": principal.is_admin,
        "expires_at": expires_at,
    }


def _expires_at(directory: AuthDirectory, token: str) -> int | None:
    parsed = parse_token(token)
    record = directory.tokens.get(parsed[0]) if parsed is not None else None
    return record.expires_at if record is not None else None


@router.get("/session", summary="Who is signed in to the web UI")
async def current_session(request: Request, state: StateDep) -> Response:
    """``auth``: whether this server asks for a sign-in; ``user``: who is signed in, or null.

    A session cookie that no longer counts (expired, revoked, its user deleted) is
    cleared; one sent from another origin, or while the address is over the
    failed-login limit, is only not counted.
    """
    edge = state.auth
    if edge is None:
        return json_response({"auth": False, "user": None})
    nobody = json_response({"auth": True, "user": None})
    token = session_token(request.scope)
    if token is None:
        return nobody
    try:
        check_same_origin(request.scope)
    except AuthenticationError:
        return nobody  # another origin must not learn who is signed in, nor sign them out
    try:
        principal, directory = await edge.authenticate(f"Bearer {token}", address_of(request.scope))
    except TooManyAttemptsError:
        return nobody  # the address is over the limit; the cookie may still be good
    except AuthenticationError:
        clear_session_cookie(nobody, request.scope)
        return nobody
    return json_response({"auth": True, "user": _user(principal, _expires_at(directory, token))})


@router.post("/session", summary="Sign in to the web UI")
async def sign_in(request: Request, state: StateDep, body: SignIn) -> Response:
    """Check the password, then set a session cookie holding a new read-scoped token.

    Answered once the lake holds the token, so the next request counts it on any
    replica. A wrong password is a 401, too many of them a 429, as for HTTP basic.

    Raises:
        AuthenticationError: a wrong username or password, or a request from
            another origin.
        TooManyAttemptsError: too many failed logins for the user or the address.
        ServiceError: the lake did not show the session in time.
    """
    edge = edge_of(state)
    check_same_origin(request.scope)
    directory = await edge.directory()
    principal = await run_in_threadpool(
        edge.authenticator.login,
        body.username,
        body.password,
        address_of(request.scope),
        directory,
    )
    lifetime_s = int(state.settings.session_s)
    expires_at = int(time.time() * 1000) + lifetime_s * 1000
    token, event = change.token_issued(
        principal.username, principal.username, [TokenScope.READ], expires_at
    )
    token_id = event.body.token_id
    if not await edge.publish([event], lambda d: token_id in d.tokens):
        raise ServiceError(
            f"the new session did not reach the lake within {VISIBLE_WITHIN_S:g} s; "
            "try again in a moment"
        )
    response = json_response({"user": _user(principal, expires_at)})
    set_session_cookie(response, request.scope, token, lifetime_s)
    return response


async def _revoke(edge: AuthEdge, token: str, address: str) -> bool:
    """Revoke a session's token; whether the lake shows it (or it counted no more anyway)."""
    try:
        principal, _ = await edge.authenticate(f"Bearer {token}", address)
    except TooManyAttemptsError:
        raise  # over the limit nothing is checked, so nothing can be revoked yet
    except AuthenticationError:
        return True  # expired, revoked or its user deleted: nothing is left to end
    parsed = parse_token(token)
    assert parsed is not None  # session_token hands out service tokens only
    token_id = parsed[0]
    event = change.token_revoked(principal.username, token_id)
    return await edge.publish([event], lambda d: d.tokens[token_id].revoked)


@router.delete("/session", summary="Sign out of the web UI")
async def sign_out(request: Request, state: StateDep) -> Response:
    """Revoke the session's token (answered once the lake shows it) and clear the cookie.

    Raises:
        AuthenticationError: a request from another origin.
        TooManyAttemptsError: the address is over the failed-login limit.
    """
    check_same_origin(request.scope)
    token = session_token(request.scope)
    visible = True
    if state.auth is not None and token is not None:
        visible = await _revoke(state.auth, token, address_of(request.scope))
    response = json_response({"signed_out": True, "visible": visible})
    clear_session_cookie(response, request.scope)
    return response


__all__ = ["router"]
