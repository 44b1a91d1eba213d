"""Credentials to a :class:`~runstream.auth.permissions.Principal`, at the HTTP edge.

Accepted, as MLflow's client and our SDK send them:

- ``Authorization: Basic`` (``MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD``): a user
  of the directory, or the first admin of the settings; the web UI's sign-in form
  goes through the same check (:meth:`Authenticator.login`);
- ``Authorization: Bearer rst_...`` (``MLFLOW_TRACKING_TOKEN``, ``RUNSTREAM_TOKEN``):
  a service token, capped by its scopes;
- ``Authorization: Bearer <JWT>``: an OIDC token of the configured issuer;
- ``Authorization: Bearer <RUNSTREAM_API_TOKEN>``: the operator's admin token.

Steps of :meth:`Authenticator.authenticate`, in order:

1. Refuse at once (429) when the address, or the user named, has too many recent
   failures; nothing is checked, so guessing cannot go on.
2. Check the credential. A password check costs one argon2 verification whether
   or not the user exists (same time either way); a right password is remembered
   for ``login_cache_s`` as a keyed hash, so MLflow's client, which sends it on
   every call, pays argon2 once, and a changed password ends the cache entry.
3. On failure, count it for the address (and the user named), answer 401 with a
   message that never says whether the user exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runstream.auth.directory import AuthDirectory
from runstream.auth.oidc import OidcConfig, OidcVerifier, looks_like_jwt
from runstream.auth.permissions import Principal, cap_of_scopes
from runstream.auth.ratelimit import FailureLimiter
from runstream.auth.secrets import hash_password, parse_token, secret_matches, verify_password
from runstream.errors import AuthenticationError, TooManyAttemptsError

_BAD_LOGIN = "invalid username or password"
_BAD_TOKEN = "invalid, expired or revoked token"


@dataclass(frozen=True)
class AuthConfig:
    """The access-control settings the edge needs (built from ``Settings`` by the app).

    Attributes:
        admin_username: the first admin's name.
        admin_password: the first admin's password (from the settings or a file).
        api_token: an operator token with admin rights (``RUNSTREAM_API_TOKEN``), or "".
        oidc: the OIDC issuer, or None.
        max_failures: failed logins allowed per user and per address in ``window_s``.
        window_s: the rate-limit window.
        login_cache_s: how long a right password is remembered.
    """

    admin_username: str
    admin_password: str
    api_token: str = ""
    oidc: OidcConfig | None = None
    max_failures: int = 10
    window_s: float = 60.0
    login_cache_s: float = 60.0


class Authenticator:
    """See the module docstring. Thread-safe; no I/O until a JWT is first checked."""

    def __init__(self, config: AuthConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._limiter = FailureLimiter(config.max_failures, config.window_s)
        self._oidc = OidcVerifier(config.oidc) if config.oidc is not None else None
        self._admin_hash: str | None = None
        self._cache_key = secrets.token_bytes(32)
        self._logins: dict[tuple[str, str], tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def authenticate(
        self, authorization: str | None, address: str, directory: AuthDirectory
    ) -> Principal:
        """The caller named by an ``Authorization`` header value.

        Raises:
            AuthenticationError: no or bad credentials (401).
            TooManyAttemptsError: over the failure limit (429).
        """
        if not authorization:
            raise AuthenticationError("authentication required (HTTP basic or a bearer token)")
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            return self._basic(value, address, directory)
        if scheme.lower() == "bearer" and value:
            return self._bearer(value, address, directory)
        raise AuthenticationError("unsupported Authorization scheme (use Basic or Bearer)")

    def quick(
        self, authorization: str | None, address: str, directory: AuthDirectory
    ) -> Principal | None:
        """The caller, when that takes no slow work; None means: call :meth:`authenticate`.

        A password seen right within ``login_cache_s`` and a service token are
        checked here (a keyed hash, a sha256) so the event loop need not hand the
        request to a worker thread; a first password (argon2), a JWT (the JWKS may
        be fetched), a wrong credential or a limit reached go the full way, which
        also counts the failures.
        """
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if self._limited(f"addr:{address}"):
            return None
        if scheme.lower() == "bearer":
            parsed = parse_token(value)
            return self._service_token(*parsed, directory) if parsed is not None else None
        if scheme.lower() != "basic":
            return None
        try:
            username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep:
            return None
        stored, principal = self._user(username, directory)
        if principal is None or stored is None or not self._cached(username, password, stored):
            return None
        return None if self._limited(f"user:{username}") else principal

    def _limited(self, key: str) -> bool:
        try:
            self._limiter.check(key)
        except TooManyAttemptsError:
            return True
        return False

    # -- passwords -------------------------------------------------------------------

    def _basic(self, value: str, address: str, directory: AuthDirectory) -> Principal:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise AuthenticationError("malformed HTTP basic credentials") from exc
        username, sep, password = decoded.partition(":")
        if not sep or not username:
            raise AuthenticationError("malformed HTTP basic credentials")
        return self.login(username, password, address, directory)

    def login(
        self, username: str, password: str, address: str, directory: AuthDirectory
    ) -> Principal:
        """The user a username and password name (steps 1-3; blocking: argon2).

        HTTP basic comes here, and so does the web UI's sign-in form.

        Raises:
            AuthenticationError: a wrong username or password (401).
            TooManyAttemptsError: over the failure limit (429).
        """
        keys = (f"addr:{address}", f"user:{username}")
        self._limiter.check(*keys)
        stored, principal = self._user(username, directory)
        if not self._password_ok(username, password, stored):
            self._limiter.failed(*keys)
            raise AuthenticationError(_BAD_LOGIN)
        assert principal is not None  # a right password implies a user
        return principal

    def _user(self, username: str, directory: AuthDirectory) -> tuple[str | None, Principal | None]:
        """The stored hash and principal of ``username`` (None, None for nobody)."""
        if username == self.config.admin_username and self.config.admin_password:
            return self._settings_admin_hash(), Principal(username, is_admin=True)
        record = directory.users.get(username)
        if record is None or record.password_hash is None:
            return None, None
        groups = directory.groups_of(username)
        return record.password_hash, Principal(username, groups=groups, is_admin=record.is_admin)

    def _settings_admin_hash(self) -> str:
        with self._lock:
            if self._admin_hash is None:
                self._admin_hash = hash_password(self.config.admin_password)
            return self._admin_hash

    def _login_key(self, username: str, password: str) -> tuple[str, str]:
        digest = hmac.new(self._cache_key, password.encode(), hashlib.sha256).hexdigest()
        return username, digest

    def _cached(self, username: str, password: str, stored: str) -> bool:
        """Whether this password was checked right for this hash within ``login_cache_s``."""
        with self._lock:
            cached = self._logins.get(self._login_key(username, password))
        return cached is not None and cached[0] == stored and cached[1] > self._clock()

    def _password_ok(self, username: str, password: str, stored: str | None) -> bool:
        key = self._login_key(username, password)
        now = self._clock()
        if stored is not None and self._cached(username, password, stored):
            return True
        if not verify_password(stored, password):
            return False
        with self._lock:
            if len(self._logins) > 10_000:
                self._logins = {k: v for k, v in self._logins.items() if v[1] > now}
            self._logins[key] = (stored, now + self.config.login_cache_s)
        return True

    # -- bearer tokens ---------------------------------------------------------------

    def _bearer(self, value: str, address: str, directory: AuthDirectory) -> Principal:
        keys = (f"addr:{address}",)
        self._limiter.check(*keys)
        principal: Principal | None
        try:
            principal = self._token(value, directory)
        except AuthenticationError:
            self._limiter.failed(*keys)
            raise
        if principal is None:
            self._limiter.failed(*keys)
            raise AuthenticationError(_BAD_TOKEN)
        return principal

    def _token(self, value: str, directory: AuthDirectory) -> Principal | None:
        api_token = self.config.api_token
        if api_token and hmac.compare_digest(value.encode(), api_token.encode()):
            return Principal("api-token", is_admin=True, via="api_token")
        parsed = parse_token(value)
        if parsed is not None:
            return self._service_token(*parsed, directory)
        if self._oidc is not None and looks_like_jwt(value):
            found = self._oidc.verify(value)
            groups = found.groups | directory.groups_of(found.username)
            record = directory.users.get(found.username)
            admin = found.is_admin or (record is not None and record.is_admin)
            return Principal(found.username, groups=groups, is_admin=admin, via="jwt")
        return None

    def _service_token(
        self, token_id: str, secret: str, directory: AuthDirectory
    ) -> Principal | None:
        record = directory.tokens.get(token_id)
        if record is None or not secret_matches(record.token_hash, secret) or record.revoked:
            return None
        if record.expires_at is not None and record.expires_at <= self._clock() * 1000:
            return None
        cap = cap_of_scopes(record.scopes)
        owner = record.username
        if owner == self.config.admin_username and self.config.admin_password:
            return Principal(owner, is_admin=True, cap=cap, via="token")
        user = directory.users.get(owner)
        if user is None:
            return None
        groups = directory.groups_of(owner)
        return Principal(owner, groups=groups, is_admin=user.is_admin, cap=cap, via="token")


__all__ = ["AuthConfig", "Authenticator"]
