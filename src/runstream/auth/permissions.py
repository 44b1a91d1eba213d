"""Permission levels, the authenticated caller, and what a caller may read.

MLflow's names and order: ``NO_PERMISSIONS < READ < EDIT < MANAGE``. The rule that
decides a caller's permission on one resource, in order:

1. an admin has MANAGE on everything;
2. a grant to the user wins;
3. else the strongest grant to one of the user's groups;
4. else the default for resources (a setting; ``NO_PERMISSIONS`` unless changed);
5. the result is capped by the credential: a service token with scope ``read``
   never edits, whatever its owner may do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runstream.events import Permission, TokenScope

RANK: dict[Permission, int] = {
    Permission.NO_PERMISSIONS: 0,
    Permission.READ: 1,
    Permission.EDIT: 2,
    Permission.MANAGE: 3,
}

_SCOPE_CAP: dict[TokenScope, Permission] = {
    TokenScope.READ: Permission.READ,
    TokenScope.WRITE: Permission.EDIT,
    TokenScope.MANAGE: Permission.MANAGE,
}


def at_least(have: Permission, need: Permission) -> bool:
    """Whether ``have`` is ``need`` or stronger."""
    return RANK[have] >= RANK[need]


def weakest(a: Permission, b: Permission) -> Permission:
    """The weaker of two permissions."""
    return a if RANK[a] <= RANK[b] else b


def strongest(a: Permission, b: Permission) -> Permission:
    """The stronger of two permissions."""
    return a if RANK[a] >= RANK[b] else b


def cap_of_scopes(scopes: frozenset[TokenScope]) -> Permission:
    """The most a token with these scopes may do (``read`` alone: READ)."""
    cap = Permission.NO_PERMISSIONS
    for scope in scopes:
        cap = strongest(cap, _SCOPE_CAP[scope])
    return cap


@dataclass(frozen=True)
class Principal:
    """Who is calling, once authenticated.

    Attributes:
        username: the user's name (from the directory, the JWT or the settings).
        groups: the user's groups (directory memberships and JWT group claims).
        is_admin: admins bypass every permission check (rule 1).
        cap: the strongest permission the credential allows (rule 5).
        via: how the caller authenticated: ``password``, ``token``, ``jwt``,
            ``api_token`` or ``local`` (auth off).
    """

    username: str
    groups: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    cap: Permission = Permission.MANAGE
    via: str = "password"


LOCAL_USER = Principal("local", is_admin=True, via="local")
"""The caller when auth is off: a local stack has one user, who may do everything."""


@dataclass(frozen=True)
class ReadScope:
    """Which resources of one type a caller may read.

    Exactly one of three shapes: ``everything`` (admins, auth off); ``allowed``
    only (the default is below READ, so only granted ids are readable); or all but
    ``denied`` (the default is READ or more, so only ids taken away are hidden).
    Queries turn this into a SQL condition and an index mask; it is never applied
    to rows after they were fetched.
    """

    everything: bool = False
    allowed: frozenset[str] | None = None
    denied: frozenset[str] = field(default_factory=frozenset)

    def permits(self, resource_id: str) -> bool:
        """Whether the caller may read ``resource_id``."""
        if self.everything:
            return True
        if self.allowed is not None:
            return resource_id in self.allowed
        return resource_id not in self.denied


EVERYTHING = ReadScope(everything=True)

__all__ = [
    "EVERYTHING",
    "LOCAL_USER",
    "RANK",
    "Principal",
    "ReadScope",
    "at_least",
    "cap_of_scopes",
    "strongest",
    "weakest",
]
