"""A caller's :class:`~runstream.auth.ReadScope` as a SQL condition of the query itself.

Searches put this condition in their WHERE clause, beside the caller's filter,
so the rows of hidden resources are never read, counted, sorted or paged; and
the caller's name goes into the page-token fingerprint, so a token issued to one
caller is refused for another.
"""

from __future__ import annotations

from typing import Any

from runstream.auth import EVERYTHING, ReadScope


def scope_sql(column: str, scope: ReadScope = EVERYTHING) -> tuple[str, list[Any]]:
    """``column``'s condition for ``scope`` and its parameters (``TRUE`` for everything)."""
    if scope.everything:
        return "TRUE", []
    if scope.allowed is not None:
        return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [sorted(scope.allowed)]
    if not scope.denied:
        return "TRUE", []
    return f"{column} NOT IN (SELECT unnest(?::VARCHAR[]))", [sorted(scope.denied)]


__all__ = ["scope_sql"]
