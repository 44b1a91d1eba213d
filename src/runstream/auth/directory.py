"""The access-control directory: users, groups, tokens and grants of one lake snapshot.

Built from the ``auth_*`` tables by :func:`runstream.auth.store.load_directory`
(or directly in tests); immutable, so a request reads one consistent view. The
permission rule is in :mod:`runstream.auth.permissions`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from runstream.auth.permissions import (
    EVERYTHING,
    Principal,
    ReadScope,
    at_least,
    strongest,
    weakest,
)
from runstream.events import Permission, PrincipalType, ResourceType, TokenScope


@dataclass(frozen=True)
class UserRecord:
    """One user: argon2id hash (None: SSO only) and the admin flag."""

    username: str
    password_hash: str | None
    is_admin: bool


@dataclass(frozen=True)
class TokenRecord:
    """One service token: the sha256 of its secret, owner, scopes, expiry (ms), revocation."""

    token_id: str
    token_hash: str
    username: str
    scopes: frozenset[TokenScope]
    expires_at: int | None
    issued_at: int
    revoked: bool


@dataclass(frozen=True)
class Grant:
    """One permission on one resource for one user or group."""

    resource_type: ResourceType
    resource_id: str
    principal_type: PrincipalType
    principal: str
    permission: Permission


GrantKey = tuple[PrincipalType, str]


@dataclass(frozen=True)
class AuthDirectory:
    """Everything authentication and authorization read, for one snapshot.

    Attributes:
        users: users by name.
        members: group -> its users.
        tokens: service tokens by id.
        grants: every grant.
        default: the permission on a resource nobody granted anything on.
    """

    users: dict[str, UserRecord] = field(default_factory=dict)
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()
    default: Permission = Permission.NO_PERMISSIONS
    _by_principal: dict[GrantKey, dict[tuple[ResourceType, str], Permission]] = field(
        init=False, repr=False, compare=False
    )
    _groups_of: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_principal: dict[GrantKey, dict[tuple[ResourceType, str], Permission]] = defaultdict(
            dict
        )
        for g in self.grants:
            by_principal[(g.principal_type, g.principal)][(g.resource_type, g.resource_id)] = (
                g.permission
            )
        groups_of: dict[str, set[str]] = defaultdict(set)
        for group, users in self.members.items():
            for user in users:
                groups_of[user].add(group)
        object.__setattr__(self, "_by_principal", dict(by_principal))
        object.__setattr__(self, "_groups_of", {u: frozenset(g) for u, g in groups_of.items()})

    def groups_of(self, username: str) -> frozenset[str]:
        """The groups the directory puts ``username`` in."""
        return self._groups_of.get(username, frozenset())

    def _own(self, key: GrantKey) -> dict[tuple[ResourceType, str], Permission]:
        return self._by_principal.get(key, {})

    def _explicit(
        self, principal: Principal, resource_type: ResourceType
    ) -> dict[str, Permission]:
        """Resource id -> the permission grants give ``principal`` (rules 2 and 3)."""
        from_groups: dict[str, Permission] = {}
        for group in principal.groups:
            for (rtype, rid), level in self._own((PrincipalType.GROUP, group)).items():
                if rtype is resource_type:
                    from_groups[rid] = strongest(from_groups.get(rid, level), level)
        own = {
            rid: level
            for (rtype, rid), level in self._own((PrincipalType.USER, principal.username)).items()
            if rtype is resource_type
        }
        return {**from_groups, **own}

    def permission(
        self, principal: Principal, resource_type: ResourceType, resource_id: str
    ) -> Permission:
        """The caller's permission on one resource (the rule of ``auth.permissions``)."""
        if principal.is_admin:
            return principal.cap
        level = self._explicit(principal, resource_type).get(resource_id, self.default)
        return weakest(level, principal.cap)

    def readable(self, principal: Principal, resource_type: ResourceType) -> ReadScope:
        """Which resources of ``resource_type`` the caller may read."""
        if principal.is_admin:
            return EVERYTHING
        explicit = self._explicit(principal, resource_type)
        if at_least(self.default, Permission.READ):
            denied = {rid for rid, lvl in explicit.items() if not at_least(lvl, Permission.READ)}
            return ReadScope(denied=frozenset(denied))
        allowed = {rid for rid, lvl in explicit.items() if at_least(lvl, Permission.READ)}
        return ReadScope(allowed=frozenset(allowed))

    def grants_on(self, resource_type: ResourceType, resource_id: str) -> list[Grant]:
        """Every grant on one resource."""
        return [
            g
            for g in self.grants
            if g.resource_type is resource_type and g.resource_id == resource_id
        ]


def members_from(rows: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """Group -> users, from ``(group, username)`` pairs."""
    out: dict[str, set[str]] = defaultdict(set)
    for group, user in rows:
        out[group].add(user)
    return {g: frozenset(u) for g, u in out.items()}


__all__ = ["AuthDirectory", "Grant", "TokenRecord", "UserRecord", "members_from"]
