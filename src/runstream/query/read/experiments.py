"""Experiments: search with MLflow's experiment filter, get by id and by name."""

from __future__ import annotations

from collections.abc import Sequence

from runstream.auth import EVERYTHING, ReadScope
from runstream.core.rows import ExperimentRow
from runstream.errors import NotFoundError
from runstream.query.read.common import key_values, view_type
from runstream.query.read.port import ReadSession, Row
from runstream.query.read.scope import scope_sql
from runstream.query.records import EXPERIMENT_COLUMNS, Experiment, Page
from runstream.query.search.paging import next_token, offset_from_token, query_fingerprint
from runstream.query.search.planner import ViewType
from runstream.query.search.simple_filter import (
    NUMBER_OPS,
    FieldSpec,
    compile_conditions,
    parse_simple_filter,
    parse_simple_order_by,
)

FIELDS = {
    "name": FieldSpec("e.name"),
    "experiment_id": FieldSpec("e.experiment_id", ops=frozenset({"=", "!="}), lists=True),
    "creation_time": FieldSpec("e.creation_time", numeric=True, ops=NUMBER_OPS),
    "last_update_time": FieldSpec("e.last_update_time", numeric=True, ops=NUMBER_OPS),
}
# Ids are text in the lake; MLflow's are integers, so numeric ids sort as numbers.
_ID_ORDER = "TRY_CAST(e.experiment_id AS BIGINT)"
ORDER_COLUMNS = {
    "name": "e.name",
    "experiment_id": _ID_ORDER,
    "creation_time": "e.creation_time",
    "last_update_time": "e.last_update_time",
}
DEFAULT_ORDER = ("creation_time DESC", "experiment_id ASC")
_TAG_EXISTS = (
    "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND {cond})"
)
_SELECT = "SELECT " + ", ".join(f"e.{c}" for c in EXPERIMENT_COLUMNS) + " FROM experiments e"


def _with_tags(session: ReadSession, rows: Sequence[Row]) -> list[Experiment]:
    found = [ExperimentRow(*row) for row in rows]
    tags = key_values(session, "experiment_tags", "experiment_id", [e.experiment_id for e in found])
    return [Experiment(e, dict(tags.get(e.experiment_id, {}))) for e in found]


def search_experiments(
    session: ReadSession,
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    view: ViewType | str | int | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    scope: ReadScope = EVERYTHING,
    caller: str = "",
) -> Page[Experiment]:
    """Search experiments, MLflow's way (filter on name, times and tags; offset pages).

    Only experiments in ``scope`` are searched (a condition of the query); a page
    token is ``caller``'s own.

    Raises:
        FilterParseError: a bad filter or order_by.
        PageTokenError: a token of another query.
    """
    vt = view_type(view)
    conditions = parse_simple_filter(filter_string, FIELDS)
    order = parse_simple_order_by(order_by, ORDER_COLUMNS, DEFAULT_ORDER)
    if not any(col == _ID_ORDER for col, _ in order):
        order.append((_ID_ORDER, True))
    fp = query_fingerprint("experiments", conditions, order, vt.name, *_caller(caller))
    offset = offset_from_token(page_token, fp)
    where, params = compile_conditions(conditions, FIELDS, _TAG_EXISTS)
    readable, readable_params = scope_sql("e.experiment_id", scope)
    where, params = f"{where} AND {readable}", [*params, *readable_params]
    stages = list(vt.value)
    order_sql = ", ".join(f"{col} {'ASC' if asc else 'DESC'} NULLS LAST" for col, asc in order)
    sql = (
        f"{_SELECT} WHERE e.lifecycle_stage IN (SELECT unnest(?::VARCHAR[])) AND {where}"
        f" ORDER BY {order_sql}, e.experiment_id LIMIT ? OFFSET ?"
    )
    rows = session.fetch(sql, [stages, *params, max_results + 1, offset])
    items = _with_tags(session, rows[:max_results])
    return Page(items, next_token(fp, offset, max_results, len(rows)))


def _caller(caller: str) -> tuple[str, ...]:
    # Without access control, fingerprints (and so tokens) stay as they were.
    return (caller,) if caller else ()


def get_experiment(session: ReadSession, experiment_id: str) -> Experiment:
    """Return one experiment (deleted ones too, as MLflow does).

    Raises:
        NotFoundError: no such experiment.
    """
    rows = session.fetch(f"{_SELECT} WHERE e.experiment_id = ?", [experiment_id])
    if not rows:
        raise NotFoundError(f"No experiment with id={experiment_id!r}")
    return _with_tags(session, rows)[0]


def get_experiment_by_name(session: ReadSession, name: str) -> Experiment:
    """Return the experiment named ``name``; an active one wins over deleted ones.

    Raises:
        NotFoundError: no such experiment.
    """
    rows = session.fetch(
        f"{_SELECT} WHERE e.name = ? ORDER BY e.lifecycle_stage = 'active' DESC LIMIT 1", [name]
    )
    if not rows:
        raise NotFoundError(f"No experiment named {name!r}")
    return _with_tags(session, rows)[0]


__all__ = ["get_experiment", "get_experiment_by_name", "search_experiments"]
