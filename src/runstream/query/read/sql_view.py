"""What a caller's SQL reads: each lake table's name stands for the rows they may read.

A statement of ``POST /api/v1/sql`` runs over views of the lake, built inside the
statement itself: :func:`scoped_statement` puts a common table expression named
like each lake table in front of the caller's statement, and DuckDB binds a
table's name to the CTE of that name before the catalog, in every subquery,
UNION branch, LATERAL join, PIVOT and nested WITH of the statement (a nested
``WITH runs AS (SELECT * FROM runs)`` reads the outer view). Nothing is fetched
and then filtered. The rules:

1. An admin reads every table, except that ``events`` drops the ``auth.*`` rows:
   their payloads hold password and token hashes, which the ``auth_*`` tables
   (refused by the guard) hold too.
2. Anyone else reads, per table, the rows tied to what they may READ (their
   :class:`~runstream.auth.ReadScope` of experiments and of registered models,
   the same one the searches use):

   - ``experiments``, ``experiment_tags``, ``runs``, ``mlflow_logged_models``:
     a readable ``experiment_id``;
   - the tables of a run (``params``, ``metrics``, ``artifacts``, ...): a run of
     a readable experiment;
   - ``logged_model_params`` / ``_tags`` / ``_metrics``: a logged model of a readable
     experiment;
   - the registry's tables and ``predictions``: a readable registered model;
   - ``events``: rule 1, then a readable experiment, run or registered model;
   - every other table (``auth_*``, ``consumer_offsets``, ``rejected_events``,
     ``materializer_status``): no rows, and the guard refuses their names.
3. The readable ids are parameters of the statement, never text of it.
4. The caller's statement keeps its shape: ``WITH [RECURSIVE] q AS ...`` gets
   the views first in its own list; ``SELECT``, ``FROM``, ``VALUES``, ``TABLE``,
   ``PIVOT`` and ``UNPIVOT`` get ``WITH views`` in front; ``DESCRIBE``, ``SHOW``
   and ``SUMMARIZE`` (admins only) run as a subquery of ``SELECT *``; ``EXPLAIN``
   (admins only) shows a plan, not rows, and runs as written. A top-level CTE of
   the caller's named like a lake table is the database's error (a duplicate name).

Only a qualified name (``lake.main.runs``) or a function that reads a table named
by a string could reach a table past its view; the guard refuses both
(:mod:`.sql_guard`, rules 9, 10 and 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runstream.auth import EVERYTHING, ReadScope
from runstream.lake.connection import CATALOG
from runstream.lake.tables import TABLES, quote_ident
from runstream.query.read.scope import scope_sql
from runstream.query.read.sql_guard import Statement, check_sql

EXPERIMENT, RUN, LOGGED_MODEL, MODEL, EVENT = "experiment", "run", "logged_model", "model", "event"

# How a row of each table ties to what a caller may read (rule 2): the kind of
# tie and its column. A table without a rule is hidden from all but admins.
RULES: dict[str, tuple[str, str]] = {
    "experiments": (EXPERIMENT, "experiment_id"),
    "experiment_tags": (EXPERIMENT, "experiment_id"),
    "runs": (EXPERIMENT, "experiment_id"),
    "mlflow_logged_models": (EXPERIMENT, "experiment_id"),
    **{
        name: (RUN, "run_id")
        for name in (
            "params",
            "tags",
            "metrics",
            "latest_metrics",
            "artifacts",
            "logged_models",
            "dataset_inputs",
            "logged_model_outputs",
            "logged_model_inputs",
        )
    },
    "logged_model_params": (LOGGED_MODEL, "model_id"),
    "logged_model_tags": (LOGGED_MODEL, "model_id"),
    "logged_model_metrics": (LOGGED_MODEL, "model_id"),
    **{
        name: (MODEL, "name")
        for name in (
            "registered_models",
            "registered_model_tags",
            "registered_model_aliases",
            "model_versions",
            "model_version_tags",
            "stage_transitions",
        )
    },
    "predictions": (MODEL, "model_name"),
    "events": (EVENT, ""),
}
HIDDEN = frozenset(t.name for t in TABLES if t.name not in RULES)
_DESCRIBING = frozenset({"DESCRIBE", "SHOW", "SUMMARIZE"})
# auth.changed, and any access-control event type to come.
_NO_AUTH_EVENTS = "NOT starts_with(\"type\", 'auth.')"


@dataclass(frozen=True)
class SqlCaller:
    """Whose statement it is.

    Attributes:
        admin: an admin (or auth is off): the whole lake but rule 1.
        experiments: the experiments the caller may read (ignored for admins).
        models: the registered models the caller may read (ignored for admins).
    """

    admin: bool = True
    experiments: ReadScope = EVERYTHING
    models: ReadScope = EVERYTHING


ADMIN = SqlCaller()


def _base(table: str) -> str:
    return f"{CATALOG}.main.{quote_ident(table)}"


class _Views:
    """The WITH list of one caller's views, and its parameters in the order they appear."""

    def __init__(self, caller: SqlCaller) -> None:
        self._caller = caller
        self.params: list[Any] = []

    def _scoped(self, column: str, scope: ReadScope) -> str:
        condition, params = scope_sql(column, scope)
        self.params += params
        return condition

    def _experiment(self, column: str) -> str:
        return self._scoped(column, self._caller.experiments)

    def _run(self, column: str) -> str:
        inner = self._experiment("experiment_id")
        return f"{column} IN (SELECT run_id FROM {_base('runs')} WHERE {inner})"

    def _logged_model(self, column: str) -> str:
        inner = self._experiment("experiment_id")
        return f"{column} IN (SELECT model_id FROM {_base('mlflow_logged_models')} WHERE {inner})"

    def _model(self, column: str) -> str:
        return f"({column} IS NOT NULL AND {self._scoped(column, self._caller.models)})"

    def _event(self) -> str:
        experiment = f"(experiment_id IS NOT NULL AND {self._experiment('experiment_id')})"
        run, model = self._run("run_id"), self._model("model_name")
        return f"{_NO_AUTH_EVENTS} AND ({experiment} OR {run} OR {model})"

    def where(self, table: str) -> str | None:
        """The condition of ``table``'s view (None: the table itself, for admins)."""
        if self._caller.admin:
            return _NO_AUTH_EVENTS if table == "events" else None
        kind, column = RULES.get(table, ("", ""))
        if kind == EXPERIMENT:
            return self._experiment(column)
        if kind == RUN:
            return self._run(column)
        if kind == LOGGED_MODEL:
            return self._logged_model(column)
        if kind == MODEL:
            return self._model(column)
        if kind == EVENT:
            return self._event()
        return "FALSE"

    def ctes(self) -> str:
        """``name AS (SELECT * FROM lake.main.name WHERE ...)`` for each table with a view."""
        out = []
        for table in TABLES:
            where = self.where(table.name)
            if where is not None:
                name = quote_ident(table.name)
                out.append(f"{name} AS (SELECT * FROM {_base(table.name)} WHERE {where})")
        return ",\n".join(out)


def scoped_statement(sql: str, caller: SqlCaller = ADMIN) -> tuple[str, list[Any]]:
    """Check ``sql`` with the guard and return it over the caller's views, with parameters.

    Raises:
        SqlRejectedError: the guard refused the statement (the rule it broke and where).
    """
    statement = check_sql(
        sql, restricted=not caller.admin, hidden=frozenset() if caller.admin else HIDDEN
    )
    views = _Views(caller)
    return _merged(statement, views.ctes()), views.params


def _merged(statement: Statement, ctes: str) -> str:
    """Rule 4: ``statement`` with the views in front, its own shape kept."""
    text = statement.text
    if statement.first == "EXPLAIN":
        return text
    if statement.first == "WITH":
        head = "WITH RECURSIVE" if statement.recursive else "WITH"
        return f"{head} {ctes},\n{text[statement.with_end :]}"
    if statement.first in _DESCRIBING:
        # A trailing "-- comment" of the statement must not hide the ")".
        return f"WITH {ctes}\nSELECT * FROM (\n{text}\n)"
    return f"WITH {ctes}\n{text}"


__all__ = ["ADMIN", "HIDDEN", "RULES", "SqlCaller", "scoped_statement"]
