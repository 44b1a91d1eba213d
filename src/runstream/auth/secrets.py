"""Password hashes (argon2id, a kept library) and service-token secrets.

A password is stored only as its argon2id hash. A service token is
``rst_<token id>_<secret>``: the id (16 hex) finds the record, the secret (256
random bits) is stored as its sha256 (a random secret needs no slow hash).
Checking a password for a user who does not exist still runs one argon2
verification against a fixed hash, so the answer takes the same time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "rst_"

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about 20 ms per check here,
# and a login is checked once, then cached by the authenticator.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; differs on every call)."""
    return _HASHER.hash(password)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; None (no user) still costs one check."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str, str]:
    """A new service token: ``(text given to the user once, token id, sha256 of the secret)``."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}{token_id}_{secret}", token_id, secret_hash(secret)


def secret_hash(secret: str) -> str:
    """The stored form of a token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(text: str) -> tuple[str, str] | None:
    """``(token id, secret)`` of a service token's text, or None if it is not one."""
    if not text.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = text[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(token_id) != 16 or not secret:
        return None
    return token_id, secret


def secret_matches(stored_hash: str, secret: str) -> bool:
    """Constant-time comparison of a secret with its stored hash."""
    return hmac.compare_digest(stored_hash, secret_hash(secret))


__all__ = [
    "TOKEN_PREFIX",
    "hash_password",
    "new_token",
    "parse_token",
    "secret_hash",
    "secret_matches",
    "verify_password",
]
