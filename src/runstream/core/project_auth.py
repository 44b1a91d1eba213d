"""Projection of ``auth.changed`` events into the ``auth_*`` lake tables.

Every action is a plain upsert or delete by key, so a handler needs no state and
a replay of the log gives the same tables. The rules, in order:

1. The fields the action needs (see ``AuthChangedBody``) must be set, or the event
   is rejected as malformed and changes nothing.
2. ``user_set`` replaces the user's row whole (the producer sends the full row);
   ``user_deleted`` removes it (tokens and memberships of a missing user stop
   working, since authentication looks the owner up).
3. A revocation is a row of its own (``auth_token_revocations``), so revoking
   needs no copy of the issued token and a revoked token stays revoked.
4. ``permission_deleted`` removes the grant; the resource falls back to the default.
5. Every accepted event adds one row to ``auth_audit`` (who, when, what, on what),
   without secrets.
"""

from __future__ import annotations

from typing import Any

from runstream.core.working import EventRejectedError, Reason, Working
from runstream.events import AuthAction, Envelope, EventType

_NEEDS: dict[AuthAction, tuple[str, ...]] = {
    AuthAction.USER_SET: ("username", "is_admin"),
    AuthAction.USER_DELETED: ("username",),
    AuthAction.MEMBER_ADDED: ("username", "group"),
    AuthAction.MEMBER_REMOVED: ("username", "group"),
    AuthAction.TOKEN_ISSUED: ("token_id", "token_hash", "username", "scopes"),
    AuthAction.TOKEN_REVOKED: ("token_id",),
    AuthAction.PERMISSION_SET: (
        "resource_type",
        "resource_id",
        "principal_type",
        "principal",
        "permission",
    ),
    AuthAction.PERMISSION_DELETED: ("resource_type", "resource_id", "principal_type", "principal"),
}


def _grant_key(body: Any) -> tuple[str, str, str, str]:
    return (
        str(body.resource_type),
        str(body.resource_id),
        str(body.principal_type),
        str(body.principal),
    )


def _subject(body: Any) -> str:
    """What the change was about, for the audit row (never a hash)."""
    action = body.action
    if action in (AuthAction.USER_SET, AuthAction.USER_DELETED):
        admin = " admin" if body.is_admin else ""
        return f"user {body.username}{admin}"
    if action in (AuthAction.MEMBER_ADDED, AuthAction.MEMBER_REMOVED):
        return f"user {body.username} group {body.group}"
    if action is AuthAction.TOKEN_ISSUED:
        scopes = ",".join(str(s) for s in body.scopes)
        return f"token {body.token_id} of {body.username} scopes {scopes}"
    if action is AuthAction.TOKEN_REVOKED:
        return f"token {body.token_id}"
    resource_type, resource_id, principal_type, principal = _grant_key(body)
    level = f" {body.permission}" if body.permission is not None else ""
    return f"{resource_type} {resource_id} {principal_type} {principal}{level}"


def auth_changed(w: Working, env: Envelope[Any]) -> None:
    """``auth.changed``: one access-control change (rules in the module docstring)."""
    body, at = env.body, env.produced_at
    missing = [name for name in _NEEDS[body.action] if getattr(body, name) is None]
    if missing:
        raise EventRejectedError(
            Reason.MALFORMED, f"auth.changed {body.action} needs {', '.join(missing)}"
        )
    action = body.action
    if action is AuthAction.USER_SET:
        user = (body.username, body.password_hash, body.is_admin, at, body.actor)
        w.set_kv("auth_users", (body.username,), user)
    elif action is AuthAction.USER_DELETED:
        w.set_kv("auth_users", (body.username,), None)
    elif action is AuthAction.MEMBER_ADDED:
        member = (body.group, body.username)
        w.set_kv("auth_group_members", member, (*member, at))
    elif action is AuthAction.MEMBER_REMOVED:
        w.set_kv("auth_group_members", (body.group, body.username), None)
    elif action is AuthAction.TOKEN_ISSUED:
        scopes = ",".join(sorted(str(s) for s in body.scopes))
        token = (body.token_id, body.token_hash, body.username, scopes, body.expires_at, at,
                 body.actor)
        w.set_kv("auth_tokens", (body.token_id,), token)
    elif action is AuthAction.TOKEN_REVOKED:
        w.set_kv("auth_token_revocations", (body.token_id,), (body.token_id, at, body.actor))
    elif action is AuthAction.PERMISSION_SET:
        key = _grant_key(body)
        w.set_kv("auth_permissions", key, (*key, str(body.permission), at, body.actor))
    else:
        w.set_kv("auth_permissions", _grant_key(body), None)
    w.appends["auth_audit"].append((env.event_id, at, body.actor, str(action), _subject(body)))


HANDLERS = {EventType.AUTH_CHANGED: auth_changed}

__all__ = ["HANDLERS", "auth_changed"]
