"""Helpers shared by the readers: view types and key-value lookups by id."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from runstream.errors import ValidationError
from runstream.query.read.port import ReadSession, Row, Statement
from runstream.query.search.planner import ViewType

# MLflow's protobuf enum numbers, as its REST clients send them.
_VIEW_NUMBERS = {1: ViewType.ACTIVE_ONLY, 2: ViewType.DELETED_ONLY, 3: ViewType.ALL}


def view_type(value: ViewType | str | int | None) -> ViewType:
    """Coerce MLflow's ``view_type`` (name, number or enum; None = active only).

    Raises:
        ValidationError: not one of ACTIVE_ONLY, DELETED_ONLY, ALL.
    """
    if value is None or value == "":
        return ViewType.ACTIVE_ONLY
    if isinstance(value, ViewType):
        return value
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in _VIEW_NUMBERS:
        return _VIEW_NUMBERS[value]
    if isinstance(value, str) and value.upper() in ViewType.__members__:
        return ViewType[value.upper()]
    raise ValidationError(f"Invalid view type {value!r}; expected ACTIVE_ONLY, DELETED_ONLY or ALL")


def in_ids(column: str) -> str:
    """SQL testing ``column`` against one list parameter (any length, one ``?``)."""
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))"


def key_values_sql(
    table: str, id_column: str, ids: Sequence[str], keys: Sequence[str] | None = None
) -> Statement | None:
    """The statement of :func:`key_values`, or None when it would return nothing.

    Args:
        table: a fixed table name (``tags``, ``params``, ``experiment_tags``...).
        id_column: its id column (fixed text).
        ids: the ids to read.
        keys: only these keys, or every key when None.
    """
    if not ids or (keys is not None and not keys):
        return None
    sql = f'SELECT {id_column}, "key", "value" FROM {table} WHERE {in_ids(id_column)}'
    params: list[Any] = [list(ids)]
    if keys is not None:
        sql += ' AND "key" IN (SELECT unnest(?::VARCHAR[]))'
        params.append(list(keys))
    return sql, params


def group_key_values(rows: Sequence[Row]) -> dict[str, dict[str, str]]:
    """``(id, key, value)`` rows as ``{id: {key: value}}``."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for owner, key, value in rows:
        out[str(owner)][str(key)] = str(value)
    return out


def key_values(
    session: ReadSession,
    table: str,
    id_column: str,
    ids: Sequence[str],
    keys: Sequence[str] | None = None,
) -> dict[str, dict[str, str]]:
    """Return ``{id: {key: value}}`` of a key-value table for many ids in one query."""
    statement = key_values_sql(table, id_column, ids, keys)
    if statement is None:
        return defaultdict(dict)
    return group_key_values(session.fetch(*statement))


__all__ = ["group_key_values", "in_ids", "key_values", "key_values_sql", "view_type"]
