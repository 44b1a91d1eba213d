"""MLflow 3 logged models: one by id, and MLflow's ``search_logged_models``.

Searches take MLflow's flat filter (``name = 'model' AND source_run_id = '...'``,
``status``, ``model_type``, ``model_id``, the two timestamps, ``tags.<key>``,
``params.<key>``, ``metrics.<key> > 0.9``; an ``attributes.`` prefix is accepted as
MLflow's is) and MLflow's order: the fields asked for, then newest first, then by
id ascending, so pages are stable; page tokens hold an offset. As in MLflow's
store, a metric test holds when any point of the key passes it, and
``order_by`` ``metrics.<key>`` sorts by the newest point (latest timestamp, then
step), models without the key last. Deleted models are never found by a search;
:func:`get_logged_model` finds them only with ``allow_deleted``. MLflow's
``datasets`` argument (metrics of some datasets only) is not taken.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from runstream.core.rows import LoggedModelMetricRow, LoggedModelRow
from runstream.errors import NotFoundError
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
_METRIC_COLUMNS = ", ".join(
    f'"{f.name}"' for f in dataclasses.fields(LoggedModelMetricRow)
)
_TAGS = "EXISTS (SELECT 1 FROM logged_model_tags t WHERE t.model_id = m.model_id AND {cond})"
_PARAMS = (
    "EXISTS (SELECT 1 FROM logged_model_params t WHERE t.model_id = m.model_id AND {cond})"
)
_METRICS = (
    "EXISTS (SELECT 1 FROM logged_model_metrics t WHERE t.model_id = m.model_id AND {cond})"
)
# The newest point of one key (MLflow's order: latest timestamp, then step, then run).
_LATEST_METRIC = (
    "(SELECT t.value FROM logged_model_metrics t WHERE t.model_id = m.model_id AND "
    't."key" = ? ORDER BY t."timestamp" DESC, t.step DESC, t.run_id LIMIT 1)'
)
_METRIC_ORDER = re.compile(r"^metrics?\.(.+)$")
_ATTRIBUTES = re.compile(r"(?:^|(?<=[\s(]))attributes\.(?=[A-Za-z_`])")

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
    metrics = _metrics(session, ids)
    return [
        LoggedModel(r, dict(params[r.model_id]), dict(tags[r.model_id]), metrics[r.model_id])
        for r in found
    ]


def _metrics(session: ReadSession, ids: Sequence[str]) -> dict[str, list[LoggedModelMetricRow]]:
    """Every point linked to each model, oldest first (MLflow's ``data.metrics``)."""
    out: dict[str, list[LoggedModelMetricRow]] = defaultdict(list)
    if not ids:
        return out
    rows = session.fetch(
        f"SELECT {_METRIC_COLUMNS} FROM logged_model_metrics WHERE {in_ids('model_id')} "
        'ORDER BY model_id, "key", "timestamp", step, run_id',
        [list(ids)],
    )
    for row in rows:
        point = LoggedModelMetricRow(*row)
        out[point.model_id].append(point)
    return out


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
    return _ATTRIBUTES.sub("", text) if text else text


def _order(order_by: Sequence[OrderBy]) -> tuple[list[tuple[str, bool]], list[str]]:
    """``(column SQL, ascending)`` pairs, and the metric keys their ``?`` stand for."""
    order: list[tuple[str, bool]] = []
    keys: list[str] = []
    for o in order_by:
        metric = _METRIC_ORDER.search(o.field_name)
        if metric:
            order.append((f"{_LATEST_METRIC} IS NULL, {_LATEST_METRIC}", o.ascending))
            keys += [metric.group(1)] * 2
        else:
            clause = f"{o.field_name} {'ASC' if o.ascending else 'DESC'}"
            order += parse_simple_order_by([clause], ORDER, ())
    return order, keys


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
    conditions = parse_simple_filter(_filter(filter_string), FIELDS, params=True, metrics=True)
    order, order_keys = _order(order_by)
    # MLflow's tie-breakers: newest first, then by id.
    for col, ascending in (("m.creation_time", False), ("m.model_id", True)):
        if not any(c == col for c, _ in order):
            order.append((col, ascending))
    fp = query_fingerprint(
        "logged_models", sorted(experiment_ids), conditions, order, order_keys
    )
    offset = offset_from_token(page_token, fp)
    where, params = compile_conditions(conditions, FIELDS, _TAGS, _PARAMS, _METRICS)
    order_sql = ", ".join(f"{col} {'ASC' if asc else 'DESC'}" for col, asc in order)
    rows = session.fetch(
        f"{_SELECT} WHERE {_LIVE} AND {in_ids('m.experiment_id')} AND {where} "
        f"ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [list(experiment_ids), *params, *order_keys, max_results + 1, offset],
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
