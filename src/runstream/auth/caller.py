"""The caller of one HTTP request and the permission checks every door shares.

The query service's middleware authenticates a request and leaves the principal
and the directory it used in the request's scope under :data:`PRINCIPAL_KEY` and
:data:`DIRECTORY_KEY`; the query routes and the MLflow write gateway both read
them back with :func:`caller_of`, so reads and writes are judged by one rule
(:mod:`runstream.auth.permissions`). Without the keys (auth off) the caller is
the local user, who may do everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from runstream.auth.directory import AuthDirectory
from runstream.auth.permissions import LOCAL_USER, Principal, at_least
from runstream.errors import PermissionDeniedError
from runstream.events import Permission, ResourceType

PRINCIPAL_KEY: Final = "runstream_principal"
DIRECTORY_KEY: Final = "runstream_directory"

_KINDS: Final = {
    ResourceType.EXPERIMENT: "experiment",
    ResourceType.REGISTERED_MODEL: "registered model",
}


@dataclass(frozen=True)
class Caller:
    """The caller and the directory of this request (None: auth is off, all allowed)."""

    principal: Principal
    directory: AuthDirectory | None = None

    @property
    def auth_on(self) -> bool:
        """Whether permissions are checked at all."""
        return self.directory is not None

    def permission(self, resource_type: ResourceType, resource_id: str) -> Permission:
        """The caller's permission on one resource."""
        if self.directory is None:
            return Permission.MANAGE
        return self.directory.permission(self.principal, resource_type, resource_id)

    def require(
        self, resource_type: ResourceType, resource_id: str, need: Permission = Permission.READ
    ) -> None:
        """Raise unless the caller has ``need`` on the resource.

        Raises:
            PermissionDeniedError: 403, naming the permission needed.
        """
        if not at_least(self.permission(resource_type, resource_id), need):
            raise PermissionDeniedError(
                f"Permission denied: {self.principal.username} needs {need} on "
                f"{_KINDS[resource_type]} {resource_id!r}"
            )


def caller_of(state: Mapping[str, Any]) -> Caller:
    """The :class:`Caller` the middleware left in a request scope's ``state``."""
    principal: Principal = state.get(PRINCIPAL_KEY, LOCAL_USER)
    directory: AuthDirectory | None = state.get(DIRECTORY_KEY)
    return Caller(principal, directory)


__all__ = ["DIRECTORY_KEY", "PRINCIPAL_KEY", "Caller", "caller_of"]
