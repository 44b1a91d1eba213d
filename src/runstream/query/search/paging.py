"""Offset paging for the small listings (experiments, models, versions, artifacts).

Run search pages by keyset (:mod:`runstream.query.search.sql`); the other
listings are short and MLflow pages them by offset, so do we. Their tokens use
the same opaque format (:mod:`runstream.query.search.page_token`) bound to the query
they were issued for, so a token from one listing is refused by another.
"""

from __future__ import annotations

from runstream.errors import PageTokenError, ValidationError
from runstream.query.search.page_token import decode_page_token, encode_page_token, fingerprint

# A page token's offset beyond this is not one we issued for any real listing.
_MAX_OFFSET = 10_000_000


def query_fingerprint(*parts: object) -> str:
    """Fingerprint of a listing query from everything that decides its order."""
    return fingerprint(repr(parts))


def offset_from_token(token: str | None, query: str) -> int:
    """Return the offset inside ``token`` (0 without a token).

    Raises:
        PageTokenError: malformed, or issued for another query.
    """
    if not token:
        return 0
    cursor = decode_page_token(token, query)
    if not isinstance(cursor, dict) or set(cursor) != {"o"}:
        raise PageTokenError("Invalid page token: its cursor does not fit this query")
    offset = cursor["o"]
    if type(offset) is not int or not 0 <= offset <= _MAX_OFFSET:
        raise PageTokenError("Invalid page token: its cursor does not fit this query")
    return offset


def next_token(query: str, offset: int, page_size: int, fetched: int) -> str | None:
    """Token of the next page, if ``fetched`` (page size + 1 asked for) shows there is one."""
    if fetched <= page_size:
        return None
    return encode_page_token(query, {"o": offset + page_size})


def check_max_results(value: int | None, default: int, limit: int) -> int:
    """Validate a page size: ``None`` means ``default``; 1..``limit`` otherwise.

    Raises:
        ValidationError: not an integer, or out of range.
    """
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"max_results must be an integer, got {value!r}")
    if not 1 <= value <= limit:
        raise ValidationError(
            f"Invalid value {value} for max_results; it must be between 1 and {limit}"
        )
    return value


__all__ = ["check_max_results", "next_token", "offset_from_token", "query_fingerprint"]
