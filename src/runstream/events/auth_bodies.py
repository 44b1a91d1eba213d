"""The body of ``auth.changed``: one change to users, groups, tokens or permissions.

Access-control state is event-sourced like everything else, so the audit trail
(who changed what, when) is the log itself and survives a lake rebuild. One event
type carries every kind of change; ``action`` says which, and the fields that
action needs are checked by the projection (``core.project_auth``), which rejects
an event missing one. Secrets never travel: a password travels as its argon2id
hash, a service token as the sha256 of its random secret.

Auth events are on the events topic, all under the one Kafka key ``auth``, so one
partition orders every access-control change.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from runstream.events.bodies import EventBody
from runstream.events.event_types import EventType
from runstream.events.fields import (
    Bool,
    Millis,
    PasswordHash,
    PrincipalName,
    ResourceId,
    Sha256,
    TokenId,
)

__all__ = [
    "AuthAction",
    "AuthChangedBody",
    "Permission",
    "PrincipalType",
    "ResourceType",
    "TokenScope",
]


class AuthAction(StrEnum):
    """What an ``auth.changed`` event does."""

    USER_SET = "user_set"
    USER_DELETED = "user_deleted"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    TOKEN_ISSUED = "token_issued"
    TOKEN_REVOKED = "token_revoked"
    PERMISSION_SET = "permission_set"
    PERMISSION_DELETED = "permission_deleted"


class Permission(StrEnum):
    """MLflow's permission names, weakest first (``core.permissions`` orders them)."""

    NO_PERMISSIONS = "NO_PERMISSIONS"
    READ = "READ"
    EDIT = "EDIT"
    MANAGE = "MANAGE"


class ResourceType(StrEnum):
    """What a permission is granted on."""

    EXPERIMENT = "experiment"
    REGISTERED_MODEL = "registered_model"


class PrincipalType(StrEnum):
    """Who a permission is granted to."""

    USER = "user"
    GROUP = "group"


class TokenScope(StrEnum):
    """What a service token may do, on top of its owner's permissions (a cap, never more)."""

    READ = "read"
    WRITE = "write"
    MANAGE = "manage"


class AuthChangedBody(EventBody):
    """``auth.changed``: one access-control change, by ``actor``.

    Fields used per action: ``user_set`` username, password_hash (opt.), is_admin;
    ``user_deleted`` username; ``member_added`` / ``member_removed`` username, group;
    ``token_issued`` token_id, token_hash, username, scopes, expires_at (opt.);
    ``token_revoked`` token_id; ``permission_set`` resource_type, resource_id,
    principal_type, principal, permission; ``permission_deleted`` the same but
    permission.
    """

    event_type: ClassVar[EventType] = EventType.AUTH_CHANGED
    action: AuthAction
    actor: PrincipalName
    username: PrincipalName | None = None
    password_hash: PasswordHash | None = None
    is_admin: Bool | None = None
    group: PrincipalName | None = None
    token_id: TokenId | None = None
    token_hash: Sha256 | None = None
    scopes: tuple[TokenScope, ...] | None = None
    expires_at: Millis | None = None
    resource_type: ResourceType | None = None
    resource_id: ResourceId | None = None
    principal_type: PrincipalType | None = None
    principal: PrincipalName | None = None
    permission: Permission | None = None
