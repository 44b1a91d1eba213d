"""``/api/v1/auth``: users, groups, service tokens, permissions and the audit trail.

Every change is published as an ``auth.changed`` event (:mod:`runstream.auth.changes`)
and answered once the lake's directory shows it (``visible``; bounded by
``access.VISIBLE_WITHIN_S``), so a client can use a grant as soon as the call returns.
Who may do what: admins manage users, groups and everyone's tokens and read the
audit; anyone issues and revokes their own tokens; MANAGE on a resource lets a
caller read and change its grants. A token whose scopes stop below MANAGE
changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from runstream.auth import AuthDirectory, at_least
from runstream.auth import changes as change
from runstream.auth.permissions import cap_of_scopes
from runstream.auth.store import load_audit
from runstream.errors import (
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from runstream.events import Permission, PrincipalType, ResourceType, TokenScope
from runstream.query.http.access import Access, AccessDep, AuthEdge
from runstream.query.http.deps import SessionDep, StateDep
from runstream.query.http.schemas.common import json_response

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
_NAME = Field(min_length=1, max_length=128)


class UserIn(BaseModel):
    """A new user."""

    username: str = _NAME
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False


class UserPatch(BaseModel):
    """A change to a user: a new password, the admin flag, or both."""

    password: str | None = Field(default=None, min_length=8, max_length=1024)
    is_admin: bool | None = None


class TokenIn(BaseModel):
    """A service token to issue (for another user: admins only)."""

    username: str | None = Field(default=None, min_length=1, max_length=128)
    scopes: list[TokenScope] = Field(default_factory=lambda: [TokenScope.READ], min_length=1)
    expires_in_s: int | None = Field(default=None, ge=60, le=10 * 365 * 86_400)


class GrantIn(BaseModel):
    """A permission on one resource for one user or group."""

    resource_type: ResourceType
    resource_id: str = Field(min_length=1, max_length=256)
    principal_type: PrincipalType = PrincipalType.USER
    principal: str = _NAME
    permission: Permission


def edge_of(state: StateDep) -> AuthEdge:
    """The server's auth edge; auth off answers 400 saying how to turn it on."""
    if state.auth is None:
        raise ValidationError(
            "access control is off on this server: set RUNSTREAM_AUTH=1 and "
            "RUNSTREAM_ADMIN_PASSWORD to manage users and permissions"
        )
    return state.auth


def _directory(access: Access) -> AuthDirectory:
    assert access.directory is not None  # auth is on: the middleware set it
    return access.directory


@router.get("/whoami", summary="The caller")
def whoami(access: AccessDep) -> Response:
    """Who the server thinks you are."""
    p = access.principal
    return json_response(
        {"username": p.username, "groups": sorted(p.groups), "is_admin": p.is_admin,
         "via": p.via, "cap": str(p.cap)}
    )


@router.get("/users", summary="Users (admins)")
def list_users(state: StateDep, access: AccessDep) -> Response:
    """Every user with their groups."""
    edge_of(state)
    access.require_admin("listing users")
    d = _directory(access)
    users = [
        {"username": u.username, "is_admin": u.is_admin, "groups": sorted(d.groups_of(u.username))}
        for u in sorted(d.users.values(), key=lambda u: u.username)
    ]
    return json_response({"users": users})


@router.post("/users", summary="Create a user (admins)")
async def create_user(state: StateDep, access: AccessDep, body: UserIn) -> Response:
    """A new user with a password (stored as its argon2id hash)."""
    edge = edge_of(state)
    access.require_admin("creating users", Permission.MANAGE)
    if body.username in _directory(access).users:
        raise ValidationError(f"user {body.username!r} already exists")
    event = await run_in_threadpool(
        change.user_set, access.principal.username, body.username,
        password=body.password, is_admin=body.is_admin,
    )
    hashed = event.body.password_hash

    def shows(d: AuthDirectory) -> bool:
        return body.username in d.users and d.users[body.username].password_hash == hashed

    visible = await edge.publish([event], shows)
    return json_response({"username": body.username, "visible": visible}, 201)


@router.patch("/users/{username}", summary="Change a user (admins)")
async def update_user(
    state: StateDep, access: AccessDep, username: str, body: UserPatch
) -> Response:
    """A new password and/or admin flag."""
    edge = edge_of(state)
    access.require_admin("changing users", Permission.MANAGE)
    current = _directory(access).users.get(username)
    if current is None:
        raise NotFoundError(f"no user {username!r}")
    is_admin = current.is_admin if body.is_admin is None else body.is_admin
    event = await run_in_threadpool(
        change.user_set, access.principal.username, username, password=body.password,
        is_admin=is_admin, password_hash=current.password_hash,
    )
    hashed = event.body.password_hash

    def shows(d: AuthDirectory) -> bool:
        user = d.users.get(username)
        return user is not None and user.password_hash == hashed and user.is_admin == is_admin

    return json_response({"username": username, "visible": await edge.publish([event], shows)})


@router.delete("/users/{username}", summary="Delete a user (admins)")
async def delete_user(state: StateDep, access: AccessDep, username: str) -> Response:
    """Delete a user; their tokens stop working."""
    edge = edge_of(state)
    access.require_admin("deleting users", Permission.MANAGE)
    if username not in _directory(access).users:
        raise NotFoundError(f"no user {username!r}")
    event = change.user_deleted(access.principal.username, username)
    visible = await edge.publish([event], lambda d: username not in d.users)
    return json_response({"username": username, "visible": visible})


@router.put("/groups/{group}/members/{username}", summary="Add a user to a group (admins)")
async def add_member(state: StateDep, access: AccessDep, group: str, username: str) -> Response:
    """Put ``username`` in ``group``."""
    edge = edge_of(state)
    access.require_admin("changing groups", Permission.MANAGE)
    event = change.membership(access.principal.username, username, group, member=True)
    visible = await edge.publish([event], lambda d: group in d.groups_of(username))
    return json_response({"group": group, "username": username, "visible": visible})


@router.delete("/groups/{group}/members/{username}", summary="Remove from a group (admins)")
async def remove_member(
    state: StateDep, access: AccessDep, group: str, username: str
) -> Response:
    """Take ``username`` out of ``group``."""
    edge = edge_of(state)
    access.require_admin("changing groups", Permission.MANAGE)
    event = change.membership(access.principal.username, username, group, member=False)
    visible = await edge.publish([event], lambda d: group not in d.groups_of(username))
    return json_response({"group": group, "username": username, "visible": visible})


@router.post("/tokens", summary="Issue a service token")
async def issue_token(state: StateDep, access: AccessDep, body: TokenIn) -> Response:
    """A new token for you (or, for admins, anyone); its text is shown only now."""
    edge = edge_of(state)
    owner = body.username or access.principal.username
    if owner != access.principal.username:
        access.require_admin("issuing tokens for others", Permission.MANAGE)
    if not at_least(access.principal.cap, cap_of_scopes(frozenset(body.scopes))):
        # a read-only token must not mint itself a stronger one
        raise PermissionDeniedError("Permission denied: a token cannot issue wider scopes")
    expires = None
    if body.expires_in_s is not None:
        expires = int(time.time() * 1000) + body.expires_in_s * 1000
    text, event = change.token_issued(access.principal.username, owner, body.scopes, expires)
    token_id = event.body.token_id
    visible = await edge.publish([event], lambda d: token_id in d.tokens)
    return json_response(
        {"token": text, "token_id": token_id, "username": owner,
         "scopes": sorted(str(s) for s in body.scopes), "expires_at": expires,
         "visible": visible},
        201,
    )


@router.get("/tokens", summary="Service tokens")
def list_tokens(state: StateDep, access: AccessDep) -> Response:
    """Your tokens (admins: everyone's), never their secrets."""
    edge_of(state)
    p = access.principal
    tokens = [
        {"token_id": t.token_id, "username": t.username, "scopes": sorted(str(s) for s in t.scopes),
         "expires_at": t.expires_at, "issued_at": t.issued_at, "revoked": t.revoked}
        for t in sorted(_directory(access).tokens.values(), key=lambda t: t.issued_at)
        if p.is_admin or t.username == p.username
    ]
    return json_response({"tokens": tokens})


@router.delete("/tokens/{token_id}", summary="Revoke a service token")
async def revoke_token(state: StateDep, access: AccessDep, token_id: str) -> Response:
    """Revoke one of your tokens (admins: anyone's), for good."""
    edge = edge_of(state)
    found = _directory(access).tokens.get(token_id)
    p = access.principal
    if found is None or not (p.is_admin or found.username == p.username):
        raise NotFoundError(f"no token {token_id!r}")
    event = change.token_revoked(p.username, token_id)
    visible = await edge.publish([event], lambda d: d.tokens[token_id].revoked)
    return json_response({"token_id": token_id, "visible": visible})


@router.get("/permissions", summary="Grants on a resource (MANAGE)")
def list_permissions(
    state: StateDep,
    access: AccessDep,
    resource_type: ResourceType,
    resource_id: Annotated[str, Query(min_length=1, max_length=256)],
) -> Response:
    """Every grant on one experiment or registered model."""
    edge_of(state)
    access.require(resource_type, resource_id, Permission.MANAGE)
    grants = [
        {"principal_type": str(g.principal_type), "principal": g.principal,
         "permission": str(g.permission)}
        for g in _directory(access).grants_on(resource_type, resource_id)
    ]
    return json_response(
        {"resource_type": str(resource_type), "resource_id": resource_id, "grants": grants,
         "default": str(_directory(access).default)}
    )


def _granted(body: GrantIn, level: Permission | None) -> Callable[[AuthDirectory], bool]:
    def shows(d: AuthDirectory) -> bool:
        found = [
            g.permission for g in d.grants_on(body.resource_type, body.resource_id)
            if g.principal_type is body.principal_type and g.principal == body.principal
        ]
        return found == ([] if level is None else [level])

    return shows


@router.put("/permissions", summary="Grant a permission (MANAGE)")
async def grant(state: StateDep, access: AccessDep, body: GrantIn) -> Response:
    """Set a user's or a group's permission on a resource."""
    edge = edge_of(state)
    access.require(body.resource_type, body.resource_id, Permission.MANAGE)
    event = change.permission_set(
        access.principal.username, body.resource_type, body.resource_id,
        body.principal_type, body.principal, body.permission,
    )
    visible = await edge.publish([event], _granted(body, body.permission))
    return json_response({**body.model_dump(mode="json"), "visible": visible})


@router.delete("/permissions", summary="Revoke a grant (MANAGE)")
async def revoke(
    state: StateDep,
    access: AccessDep,
    resource_type: ResourceType,
    resource_id: Annotated[str, Query(min_length=1, max_length=256)],
    principal: Annotated[str, Query(min_length=1, max_length=128)],
    principal_type: PrincipalType = PrincipalType.USER,
) -> Response:
    """Remove a grant: the resource falls back to the default for that principal."""
    edge = edge_of(state)
    access.require(resource_type, resource_id, Permission.MANAGE)
    body = GrantIn(
        resource_type=resource_type, resource_id=resource_id, principal_type=principal_type,
        principal=principal, permission=Permission.NO_PERMISSIONS,
    )
    event = change.permission_set(
        access.principal.username, resource_type, resource_id, principal_type, principal, None
    )
    visible = await edge.publish([event], _granted(body, None))
    return json_response({"resource_type": str(resource_type), "resource_id": resource_id,
                          "principal": principal, "visible": visible})


@router.get("/audit", summary="Who changed access control or the registry's stages, and when")
def audit(
    state: StateDep,
    session: SessionDep,
    access: AccessDep,
    since_ms: Annotated[int, Query(ge=0)] = 0,
    max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """The latest access-control changes and registry stage and alias changes, newest first.

    For admins. The registry's rows have the event type as ``action``
    (``registry.stage_changed``, ``registry.alias_set``, ``registry.alias_deleted``)
    and ``actor`` null when the producer named none.
    """
    edge_of(state)
    access.require_admin("the audit trail")
    rows = load_audit(session, since_ms, max_results)
    return json_response({"events": rows, "snapshot_id": session.snapshot_id})


__all__ = ["router"]
