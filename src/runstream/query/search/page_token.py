"""Opaque page tokens: encode a paging cursor, and refuse tokens of other queries.

A token is the URL-safe base64 (no padding) of a compact JSON object::

    {"v": 1, "q": "<query fingerprint>", "c": <cursor: any JSON value>}

``v`` is the token format version. ``q`` is a fingerprint of the query the
token was issued for (the caller computes it from everything that decides the
result order: experiments, filter, order_by, view type), so a token replayed
against another query is rejected instead of silently paging through the
wrong result. ``c`` is the caller's cursor (for run search: the sort values of
the last row sent). Tokens are not signed: they are no secret and carry no
authority, and every cursor value reaches SQL only as a bound parameter; the
caller still checks the cursor's shape.

Decoding follows these steps, and any failure is a :class:`PageTokenError`:

1. the text is at most :data:`MAX_TOKEN_LENGTH` characters of the base64url alphabet;
2. it decodes to UTF-8 JSON (``Infinity`` allowed, since metric cursors hold it);
3. the JSON is an object with exactly ``v``, ``q`` and ``c``;
4. ``v`` is :data:`TOKEN_VERSION`;
5. ``q`` equals the fingerprint of the query being run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from runstream.errors import PageTokenError

__all__ = [
    "MAX_TOKEN_LENGTH",
    "TOKEN_VERSION",
    "decode_page_token",
    "encode_page_token",
    "fingerprint",
]

TOKEN_VERSION = 1
# Cursors hold sort values such as param values (MLflow allows 6000 characters
# each) for up to 33 sort keys; this leaves room and still bounds the work.
MAX_TOKEN_LENGTH = 524_288


def fingerprint(canonical: str) -> str:
    """Return a short, stable hash of a query's canonical text."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]


def encode_page_token(query_fingerprint: str, cursor: Any) -> str:
    """Encode ``cursor`` (JSON-serialisable) into a token bound to ``query_fingerprint``."""
    payload = {"v": TOKEN_VERSION, "q": query_fingerprint, "c": cursor}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_page_token(token: str, query_fingerprint: str) -> Any:
    """Return the cursor inside ``token`` after checking it belongs to this query.

    Raises:
        PageTokenError: if the token is malformed, of another version, or was
            issued for a different query.
    """
    if not isinstance(token, str):
        raise PageTokenError(f"Page token must be a string, got {type(token).__name__}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise PageTokenError(f"Page token is longer than {MAX_TOKEN_LENGTH} characters")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw.decode("utf-8"))
    # Deeply nested JSON makes the decoder recurse; treat it as any other bad token.
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PageTokenError("Invalid page token: not one this server issued") from exc
    if not isinstance(payload, dict) or set(payload) != {"v", "q", "c"}:
        raise PageTokenError("Invalid page token: not one this server issued")
    if type(payload["v"]) is not int or payload["v"] != TOKEN_VERSION:
        raise PageTokenError(
            f"Page token has format version {payload['v']!r}; this server reads {TOKEN_VERSION}"
        )
    if payload["q"] != query_fingerprint:
        raise PageTokenError(
            "Page token belongs to a different query (filter, order_by, experiments or view"
            " type changed); start again without a page token"
        )
    return payload["c"]
