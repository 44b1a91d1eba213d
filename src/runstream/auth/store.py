"""The access-control directory read from the ``auth_*`` lake tables.

The query service reads these tables through its own read session (any object
with ``fetch(sql, params)``); they are never reachable through the SQL endpoint.
A lake that has none of them yet (made by an older materializer) reads as an
empty directory: with auth on that means only the first admin gets in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from runstream.auth.directory import AuthDirectory, Grant, TokenRecord, UserRecord, members_from
from runstream.errors import LakeError
from runstream.events import Permission, PrincipalType, ResourceType, TokenScope

AUTH_TABLES = (
    "auth_users",
    "auth_group_members",
    "auth_tokens",
    "auth_token_revocations",
    "auth_permissions",
    "auth_audit",
)
"""The lake tables that hold access control; the SQL endpoint refuses to name them."""


class RowSource(Protocol):
    """Whatever can run one parameterized read (the query service's read session)."""

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement."""
        ...


_USERS = "SELECT username, password_hash, is_admin FROM auth_users"
_MEMBERS = "SELECT group_name, username FROM auth_group_members"
_TOKENS = (
    "SELECT t.token_id, t.token_hash, t.username, t.scopes, t.expires_at, t.issued_at, "
    "r.token_id IS NOT NULL FROM auth_tokens t "
    "LEFT JOIN auth_token_revocations r ON r.token_id = t.token_id"
)
_GRANTS = (
    "SELECT resource_type, resource_id, principal_type, principal, permission "
    "FROM auth_permissions"
)
_AUDIT = (
    'SELECT event_id, "at", actor, "action", subject FROM auth_audit '
    'WHERE "at" >= ? ORDER BY "at" DESC, event_id DESC LIMIT ?'
)


def _scopes(text: str | None) -> frozenset[TokenScope]:
    return frozenset(TokenScope(s) for s in (text or "").split(",") if s)


def load_directory(rows: RowSource, default: Permission) -> AuthDirectory:
    """Read the whole directory of one snapshot (four small scans)."""
    try:
        users = rows.fetch(_USERS)
        members = rows.fetch(_MEMBERS)
        tokens = rows.fetch(_TOKENS)
        grants = rows.fetch(_GRANTS)
    except LakeError as exc:
        if "auth_" not in str(exc):
            raise
        return AuthDirectory(default=default)
    return AuthDirectory(
        users={u: UserRecord(u, h, bool(a)) for u, h, a in users},
        members=members_from((g, u) for g, u in members),
        tokens={
            tid: TokenRecord(tid, th, owner, _scopes(sc), exp, issued or 0, bool(revoked))
            for tid, th, owner, sc, exp, issued, revoked in tokens
        },
        grants=tuple(
            Grant(ResourceType(rt), rid, PrincipalType(pt), p, Permission(level))
            for rt, rid, pt, p, level in grants
        ),
        default=default,
    )


# The registry's stage and alias changes are audited too, but change no grant.
_VERSION = (
    'SELECT count(*), max("at"), max(event_id) FROM auth_audit '
    "WHERE NOT starts_with(\"action\", 'registry.')"
)


def directory_version(rows: RowSource) -> tuple[Any, ...]:
    """A value that changes whenever the directory does (every change adds an audit row)."""
    try:
        return tuple(rows.fetch(_VERSION)[0])
    except LakeError as exc:
        if "auth_" not in str(exc):
            raise
        return ()


def load_audit(rows: RowSource, since_ms: int, limit: int) -> list[dict[str, Any]]:
    """The latest audit rows since ``since_ms``, newest first."""
    return [
        {"event_id": e, "at": at, "actor": actor, "action": action, "subject": subject}
        for e, at, actor, action, subject in rows.fetch(_AUDIT, (since_ms, limit))
    ]


__all__ = ["AUTH_TABLES", "RowSource", "directory_version", "load_audit", "load_directory"]
