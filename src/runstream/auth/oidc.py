"""OIDC bearer tokens: JWTs verified against the configured issuer's JWKS (PyJWT).

The verifier checks, in order: the signature with a key of the issuer's JWKS
(fetched on first use and cached; an unknown key id refetches it), one of the
asymmetric algorithms below (never ``none`` or HMAC, which a public key would
let anyone forge), ``exp`` and ``iss`` present and right, ``aud`` when an audience
is configured. The username comes from one claim, groups from another; a member
of the admin group is an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from runstream.auth.permissions import Principal
from runstream.errors import AuthenticationError, ServiceError

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


@dataclass(frozen=True)
class OidcConfig:
    """Where JWTs come from and how their claims map to users and groups."""

    issuer: str
    jwks_url: str
    audience: str = ""
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    admin_group: str = ""
    leeway_s: int = 30


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts separated by dots."""
    return token.count(".") == 2 and token.startswith("ey")


class OidcVerifier:
    """Verifies OIDC JWTs; the JWKS is fetched on first use, not at construction."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._client: jwt.PyJWKClient | None = None

    def _keys(self) -> jwt.PyJWKClient:
        if self._client is None:
            self._client = jwt.PyJWKClient(self.config.jwks_url, cache_keys=True, lifespan=300)
        return self._client

    def verify(self, token: str) -> Principal:
        """The principal a valid JWT names.

        Raises:
            AuthenticationError: a bad signature, algorithm, issuer, audience or expiry.
            ServiceError: the issuer's JWKS cannot be fetched.
        """
        cfg = self.config
        try:
            key = self._keys().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=cfg.issuer,
                audience=cfg.audience or None,
                leeway=cfg.leeway_s,
                options={"require": ["exp", "iss"], "verify_aud": bool(cfg.audience)},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise ServiceError(f"cannot fetch the OIDC issuer's keys: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"the bearer JWT was refused: {exc}") from exc
        username = claims.get(cfg.username_claim) or claims.get("sub")
        if not isinstance(username, str) or not username:
            raise AuthenticationError(f"the bearer JWT has no {cfg.username_claim} or sub claim")
        groups = _groups(claims.get(cfg.groups_claim))
        admin = bool(cfg.admin_group) and cfg.admin_group in groups
        return Principal(username, groups=groups, is_admin=admin, via="jwt")


def _groups(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Sequence):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


__all__ = ["ALGORITHMS", "OidcConfig", "OidcVerifier", "looks_like_jwt"]
