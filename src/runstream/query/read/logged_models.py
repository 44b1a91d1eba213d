"""MLflow 3 logged models: one by id, and MLflow's ``search_logged_models``.

Searches take MLflow's flat filter (``name = 'model' AND source_run_id = '...'``,
``status``, ``model_type``, ``model_id``, the two timestamps, ``tags.<key>``,
``params.<key>``; an ``attributes.`` prefix is accepted as MLflow's is) and MLflow's
order: the fields asked for, then newest first, then by id ascending, so pages are
stable; page tokens hold an offset. Deleted models are never found by a search;
:func:`get_logged_model` finds them only with ``allow_deleted``. Filters on
``metrics.`` are refused with a clear error: the lake keeps no per-model metrics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from runstream.core.rows import LoggedModelRow
from runstream.errors import FilterParseError, NotFoundError
from runstream.lake.port import Row
from runstream.query.read.common import in_ids, key_values
from runstream.query.read.session import ReadSession
from runstream.query.records import LOGGED_MODEL_COLUMNS, LoggedModel, Page
from runstream.query.search.paging import next_token, offset_from_token, query_fingerprint
from runstream.query.search.simple_filter import (
    NUMBER_OPS,
    FieldSpec,
    compile_conditions,
    parse_simple_filter,
    parse_simple_order_by,
)

_SELECT = (
    "SELECT " + ", ".join(f"m.{c}" for c in LOGGED_MODEL_COLUMNS) + " FROM mlflow_logged_models m"
)
_LIVE = "m.lifecycle_stage = 'active'"
_TAGS = "EXISTS (SELECT 1 FROM logged_model_tags t WHERE t.model_id = m.model_id AND {cond})"
_PARAMS = (
    "EXISTS (SELECT 1 FROM logged_model_params t WHERE t.model_id = m.model_id AND {cond})"
)
_ATTRIBUTES = re.compile(r"(?:^|(?<=[\s(]))attributes\.(?=[A-Za-z_`])")
_UNSUPPORTED = re.compile(r"(?:^|[\s(])metrics?\.", re.IGNORECASE)

FIELDS = {
    "name": FieldSpec("m.name", lists=True),
    "model_id": FieldSpec("m.model_id", lists=True),
    "source_run_id": FieldSpec("m.source_run_id", lists=True),
    "status": FieldSpec("m.status", lists=True),
    "model_type": FieldSpec("m.model_type", lists=True),
    "creation_timestamp": FieldSpec("m.creation_time", numeric=True, ops=NUMBER_OPS),
    "creation_time": FieldSpec("m.creation_time", numeric=True, ops=NUMBER_OPS),
    "last_updated_timestamp": FieldSpec("m.last_updated_time", numeric=True, ops=NUMBER_OPS),
    "last_updated_time": FieldSpec("m.last_updated_time", numeric=True, ops=NUMBER_OPS),
}
ORDER = {
    "name": "m.name",
    "model_id": "m.model_id",
    "creation_timestamp": "m.creation_time",
    "creation_time": "m.creation_time",
    "last_updated_timestamp": "m.last_updated_time",
    "last_updated_time": "m.last_updated_time",
    "status": "m.status",
    "model_type": "m.model_type",
    "source_run_id": "m.source_run_id",
}


@dataclass(frozen=True)
class OrderBy:
    """One of MLflow's ``order_by`` entries (``field_name``, ``ascending``)."""

    field_name: str
    ascending: bool = True


def _models(session: ReadSession, rows: Sequence[Row]) -> list[LoggedModel]:
    found = [LoggedModelRow(*r) for r in rows]
    ids = [r.model_id for r in found]
    params = key_values(session, "logged_model_params", "model_id", ids)
    tags = key_values(session, "logged_model_tags", "model_id", ids)
    return [LoggedModel(r, dict(params[r.model_id]), dict(tags[r.model_id])) for r in found]


def get_logged_model(
    session: ReadSession, model_id: str, *, allow_deleted: bool = False
) -> LoggedModel:
    """Return one logged model with its params and tags.

    Raises:
        NotFoundError: no such model (or a deleted one, without ``allow_deleted``).
    """
    rows = session.fetch(f"{_SELECT} WHERE m.model_id = ?", [model_id])
    if not rows or (not allow_deleted and LoggedModelRow(*rows[0]).lifecycle_stage != "active"):
        raise NotFoundError(f"Logged model with ID '{model_id}' not found.")
    return _models(session, rows)[0]


def logged_models_of_run(session: ReadSession, run_id: str) -> list[LoggedModel]:
    """The live logged models a run logged (their source run) or output, oldest first."""
    rows = session.fetch(
        f"{_SELECT} WHERE {_LIVE} AND (m.source_run_id = ? OR m.model_id IN"
        " (SELECT model_id FROM logged_model_outputs WHERE run_id = ?))"
        " ORDER BY m.creation_time, m.model_id",
        [run_id, run_id],
    )
    return _models(session, rows)


def _filter(text: str | None) -> str | None:
    if text and _UNSUPPORTED.search(text):
        raise FilterParseError(
            f"Invalid filter {text!r}: logged models are searched by name, model_id, "
            "source_run_id, status, model_type, creation_timestamp, last_updated_timestamp, "
            "tags and params; metrics filters are not supported (no per-model metrics)"
        )
    return _ATTRIBUTES.sub("", text) if text else text


def search_logged_models(
    session: ReadSession,
    experiment_ids: Sequence[str],
    *,
    filter_string: str | None = None,
    order_by: Sequence[OrderBy] = (),
    max_results: int = 100,
    page_token: str | None = None,
) -> Page[LoggedModel]:
    """Search the live logged models of some experiments (see the module docstring).

    Raises:
        FilterParseError: a bad filter or order_by.
        PageTokenError: a token of another query.
    """
    conditions = parse_simple_filter(_filter(filter_string), FIELDS, params=True)
    clauses = [f"{o.field_name} {'ASC' if o.ascending else 'DESC'}" for o in order_by]
    order = parse_simple_order_by(clauses, ORDER, ())
    # MLflow's tie-breakers: newest first, then by id.
    for col, ascending in (("m.creation_time", False), ("m.model_id", True)):
        if not any(c == col for c, _ in order):
            order.append((col, ascending))
    fp = query_fingerprint("logged_models", sorted(experiment_ids), conditions, order)
    offset = offset_from_token(page_token, fp)
    where, params = compile_conditions(conditions, FIELDS, _TAGS, _PARAMS)
    order_sql = ", ".join(f"{col} {'ASC' if asc else 'DESC'}" for col, asc in order)
    rows = session.fetch(
        f"{_SELECT} WHERE {_LIVE} AND {in_ids('m.experiment_id')} AND {where} "
        f"ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [list(experiment_ids), *params, max_results + 1, offset],
    )
    items = _models(session, rows[:max_results])
    return Page(items, next_token(fp, offset, max_results, len(rows)))


__all__ = [
    "FIELDS",
    "ORDER",
    "OrderBy",
    "get_logged_model",
    "logged_models_of_run",
    "search_logged_models",
]
