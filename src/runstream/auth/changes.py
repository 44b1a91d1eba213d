"""Builders of ``auth.changed`` events: every access-control change is one event.

Whoever changes access control (the ``/api/v1/auth`` routes, the write gateway
when a resource is created) builds the event here and publishes it through an
:class:`AuthEventSink`; the materializer lands it in the ``auth_*`` tables and
in ``auth_audit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from runstream.auth.secrets import hash_password, new_token
from runstream.events import (
    AuthAction,
    AuthChangedBody,
    Envelope,
    EventType,
    Permission,
    PrincipalType,
    ResourceType,
    TokenScope,
    make_event,
)


class AuthEventSink(Protocol):
    """Publishes events to the log (the composition root gives a Kafka producer)."""

    async def publish(self, events: Sequence[Envelope[Any]]) -> None:
        """Publish ``events`` in order; returns once the broker has them.

        Raises:
            BrokerError: the broker did not take them.
        """
        ...

    async def close(self) -> None:
        """Release the connection."""
        ...


def _event(action: AuthAction, actor: str, **fields: Any) -> Envelope[Any]:
    return make_event(EventType.AUTH_CHANGED, AuthChangedBody(action=action, actor=actor, **fields))


def user_set(
    actor: str, username: str, *, password: str | None, is_admin: bool,
    password_hash: str | None = None,
) -> Envelope[Any]:
    """Create or replace a user; ``password`` is hashed here (or keep ``password_hash``)."""
    stored = hash_password(password) if password is not None else password_hash
    return _event(
        AuthAction.USER_SET, actor, username=username, password_hash=stored, is_admin=is_admin
    )


def user_deleted(actor: str, username: str) -> Envelope[Any]:
    """Delete a user."""
    return _event(AuthAction.USER_DELETED, actor, username=username)


def membership(actor: str, username: str, group: str, *, member: bool) -> Envelope[Any]:
    """Add ``username`` to ``group`` (or remove them)."""
    action = AuthAction.MEMBER_ADDED if member else AuthAction.MEMBER_REMOVED
    return _event(action, actor, username=username, group=group)


def token_issued(
    actor: str, username: str, scopes: Iterable[TokenScope], expires_at: int | None
) -> tuple[str, Envelope[Any]]:
    """A new service token for ``username``: ``(its text, shown once; the event)``."""
    text, token_id, token_hash = new_token()
    event = _event(
        AuthAction.TOKEN_ISSUED,
        actor,
        username=username,
        token_id=token_id,
        token_hash=token_hash,
        scopes=tuple(sorted(set(scopes))),
        expires_at=expires_at,
    )
    return text, event


def token_revoked(actor: str, token_id: str) -> Envelope[Any]:
    """Revoke a service token for good."""
    return _event(AuthAction.TOKEN_REVOKED, actor, token_id=token_id)


def permission_set(
    actor: str,
    resource_type: ResourceType,
    resource_id: str,
    principal_type: PrincipalType,
    principal: str,
    permission: Permission | None,
) -> Envelope[Any]:
    """Grant ``permission`` (None: remove the grant, back to the default)."""
    action = AuthAction.PERMISSION_SET if permission is not None else AuthAction.PERMISSION_DELETED
    return _event(
        action,
        actor,
        resource_type=resource_type,
        resource_id=resource_id,
        principal_type=principal_type,
        principal=principal,
        permission=permission,
    )


def creator_grant(actor: str, resource_type: ResourceType, resource_id: str) -> Envelope[Any]:
    """MANAGE for whoever created a resource (the write gateway publishes it with the create)."""
    return permission_set(
        actor, resource_type, resource_id, PrincipalType.USER, actor, Permission.MANAGE
    )


__all__ = [
    "AuthEventSink",
    "creator_grant",
    "membership",
    "permission_set",
    "token_issued",
    "token_revoked",
    "user_deleted",
    "user_set",
]
