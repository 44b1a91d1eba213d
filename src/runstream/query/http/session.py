"""The web UI's session: a read-scoped service token in an HttpOnly cookie.

Signing in (``POST /api/v1/auth/session``, :mod:`.routes.session`) checks the
password with the authenticator (its rate limit included), issues the user a
service token with the one scope ``read`` that expires after
``RUNSTREAM_SESSION_S``, and sets its text as the cookie :data:`COOKIE`:
``HttpOnly`` (the page's scripts never see it), ``SameSite=Strict`` (pages of
another site never send it), ``Path=/``, and ``Secure`` over https. Signing out
revokes the token, so a copy of the cookie dies with the session; revoking the
token (``runstream tokens revoke``) or deleting the user ends it as well.

A request authenticates with the cookie only when (:func:`request_credential`):

1. it has no ``Authorization`` header (a header always wins, the cookie is ignored);
2. its path is the native API's (``/api/v1/...``) or the API docs': MLflow's API
   and its artifact proxy take HTTP basic or a token only;
3. a browser that says where the request comes from says this origin:
   ``Sec-Fetch-Site`` is ``same-origin`` (or ``none``: an address typed in), and
   ``Origin``, when sent, names this host (SameSite alone lets another port of
   the same host send the cookie);
4. a request other than GET or HEAD carries ``X-Runstream-CSRF: 1``: a page of
   another origin cannot add that header without a CORS preflight, which this
   server never grants.

Rule 2 failing leaves the request without credentials; 3 or 4 failing refuses it
(401, naming the rule). The ``read`` scope caps whatever the session does at READ,
so even a forged request could change nothing but the caller's own tokens.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import Scope

from runstream.auth.secrets import parse_token
from runstream.errors import AuthenticationError

COOKIE: Final = "runstream_session"
CSRF_HEADER: Final = "X-Runstream-CSRF"
_CSRF_KEY: Final = CSRF_HEADER.lower().encode()
_SAFE_METHODS: Final = frozenset({"GET", "HEAD"})
_API_PREFIX: Final = "/api/v1/"
_DOCS_PATHS: Final = frozenset({"/docs", "/openapi.json"})
_OWN_SITE: Final = frozenset({"same-origin", "none"})


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of one request header (``name`` in lower case), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def session_token(scope: Scope) -> str | None:
    """The service token the session cookie holds, or None (no cookie, or not a token)."""
    raw = header(scope, b"cookie")
    if not raw:
        return None
    token = cookie_parser(raw).get(COOKIE, "")
    return token if parse_token(token) is not None else None


def check_same_origin(scope: Scope) -> None:
    """Rules 3 and 4: refuse a request another origin could have made.

    Raises:
        AuthenticationError: naming the header that failed.
    """
    site = header(scope, b"sec-fetch-site")
    if site is not None and site not in _OWN_SITE:
        raise AuthenticationError(
            f"the session cookie counts only on this server's own pages (Sec-Fetch-Site: {site})"
        )
    origin = header(scope, b"origin")
    if origin is not None and urlsplit(origin).netloc != header(scope, b"host"):
        raise AuthenticationError(
            f"the session cookie counts only on this server's own pages (Origin: {origin})"
        )
    method = scope.get("method", "GET")
    if method not in _SAFE_METHODS and header(scope, _CSRF_KEY) != "1":
        raise AuthenticationError(
            f"a {method} with the session cookie needs the header {CSRF_HEADER}: 1"
        )


def request_credential(scope: Scope) -> tuple[str | None, bool]:
    """The ``Authorization`` value a request authenticates with, and whether the cookie gave it.

    Raises:
        AuthenticationError: the cookie came from a request rules 3 or 4 refuse.
    """
    authorization = header(scope, b"authorization")
    if authorization is not None:
        return authorization, False
    path: str = scope.get("path", "")
    if not (path.startswith(_API_PREFIX) or path in _DOCS_PATHS):
        return None, False
    token = session_token(scope)
    if token is None:
        return None, False
    check_same_origin(scope)
    return f"Bearer {token}", True


def from_the_ui(scope: Scope) -> bool:
    """Whether the web UI sent the request (its cookie or its header).

    Such a 401 carries no ``WWW-Authenticate: Basic``: the browser would answer
    it with its own password dialog instead of letting the page show its form.
    """
    return header(scope, _CSRF_KEY) is not None or session_token(scope) is not None


def _secure(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


def set_session_cookie(response: Response, scope: Scope, token: str, max_age_s: int) -> None:
    """Put the session cookie on ``response``."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age_s,
        path="/",
        secure=_secure(scope),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, scope: Scope) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        COOKIE, path="/", secure=_secure(scope), httponly=True, samesite="strict"
    )


__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "check_same_origin",
    "clear_session_cookie",
    "from_the_ui",
    "header",
    "request_credential",
    "session_token",
    "set_session_cookie",
]
