"""Access control: identities, permissions and their audit trail.

- :mod:`~runstream.auth.permissions`: NO_PERMISSIONS < READ < EDIT < MANAGE, the
  caller (:class:`Principal`) and what a caller may read (:class:`ReadScope`);
- :mod:`~runstream.auth.directory`: users, groups, tokens and grants of one snapshot;
- :mod:`~runstream.auth.secrets`: argon2id password hashes, service-token secrets;
- :mod:`~runstream.auth.oidc`: OIDC JWTs against an issuer's JWKS;
- :mod:`~runstream.auth.authenticator`: credentials to a principal, rate-limited;
- :mod:`~runstream.auth.changes`: every change is an ``auth.changed`` event;
- :mod:`~runstream.auth.store`: the directory read from the ``auth_*`` lake tables.

This package imports no Kafka, lake or HTTP framework code: the query service
gives it rows and a sink, and enforces what it decides inside its queries.
"""

from __future__ import annotations

from runstream.auth.authenticator import AuthConfig, Authenticator
from runstream.auth.directory import AuthDirectory, Grant, TokenRecord, UserRecord
from runstream.auth.permissions import (
    EVERYTHING,
    LOCAL_USER,
    Principal,
    ReadScope,
    at_least,
)

__all__ = [
    "EVERYTHING",
    "LOCAL_USER",
    "AuthConfig",
    "AuthDirectory",
    "Authenticator",
    "Grant",
    "Principal",
    "ReadScope",
    "TokenRecord",
    "UserRecord",
    "at_least",
]
