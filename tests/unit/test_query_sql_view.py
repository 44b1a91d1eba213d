"""A caller's SQL over their views of the lake (DuckLake on a local folder, locked down).

Two teams' rows in every table: experiment 22, run ``r-seen``, logged model
``m-seen`` and registered model ``detector`` are readable; experiment 11, run
``r-hidden``, logged model ``m-hidden`` and registered model ``classifier`` are
not. A hidden row always carries one of those hidden names as a value, so "no
hidden name in any value of the answer" is what the caller would notice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lake_support import local_lake_settings

from runstream.auth import ReadScope
from runstream.errors import SqlRejectedError
from runstream.lake.connection import CATALOG, open_lake
from runstream.lake.tables import TABLES
from runstream.query.read.session import LakeAccess
from runstream.query.read.sql import run_sql
from runstream.query.read.sql_view import ADMIN, HIDDEN, RULES, SqlCaller

SIDES = {
    # experiment, run, logged model, registered model
    "seen": ("22", "r-seen", "m-seen", "detector"),
    "hidden": ("11", "r-hidden", "m-hidden", "classifier"),
}
HIDDEN_NAMES = set(SIDES["hidden"])
ALLOWED = SqlCaller(
    admin=False,
    experiments=ReadScope(allowed=frozenset({"22"})),
    models=ReadScope(allowed=frozenset({"detector"})),
)
DENIED = SqlCaller(  # the same rows, with the default READ and grants taken away
    admin=False,
    experiments=ReadScope(denied=frozenset({"11"})),
    models=ReadScope(denied=frozenset({"classifier"})),
)


def _rows(exp: str, run: str, model: str, name: str) -> dict[str, list[str]]:
    """``INSERT`` column lists and values of one team's rows, per table."""
    return {
        "experiments (experiment_id, name)": [f"('{exp}', 'team-{exp}')"],
        "experiment_tags (experiment_id, key, value)": [f"('{exp}', 'team', 't')"],
        "runs (run_id, experiment_id, run_name)": [f"('{run}', '{exp}', 'name-{run}')"],
        "params (run_id, key, value)": [f"('{run}', 'lr', '0.1')"],
        "tags (run_id, key, value)": [f"('{run}', 'k', 'v')"],
        "metrics (run_id, key, value, step)": [f"('{run}', 'loss', 0.5, {i})" for i in range(3)],
        "latest_metrics (run_id, key, value)": [f"('{run}', 'loss', 0.5)"],
        "artifacts (run_id, path)": [f"('{run}', 'model.pkl')"],
        "logged_models (run_id, artifact_path)": [f"('{run}', 'model')"],
        "dataset_inputs (run_id, dataset_name, dataset_digest)": [f"('{run}', 'd', 'x')"],
        "logged_model_outputs (run_id, model_id)": [f"('{run}', '{model}')"],
        "logged_model_inputs (run_id, model_id)": [f"('{run}', '{model}')"],
        "mlflow_logged_models (model_id, experiment_id)": [f"('{model}', '{exp}')"],
        "logged_model_params (model_id, key, value)": [f"('{model}', 'k', 'v')"],
        "logged_model_tags (model_id, key, value)": [f"('{model}', 'k', 'v')"],
        "logged_model_metrics (model_id, key, value, run_id)": [f"('{model}', 'acc', 1, '{run}')"],
        "registered_models (name)": [f"('{name}')"],
        "registered_model_tags (name, key, value)": [f"('{name}', 'k', 'v')"],
        "registered_model_aliases (name, alias, version)": [f"('{name}', 'champion', 1)"],
        "model_versions (name, version, run_id)": [f"('{name}', 1, 'r-seen')"],
        "model_version_tags (name, version, key, value)": [f"('{name}', 1, 'k', 'v')"],
        "stage_transitions (name, version, to_stage)": [f"('{name}', 1, 'Production')"],
        "predictions (model_name, model_uri, status)": [f"('{name}', 'models:/{name}/1', 200)"],
        "events (event_id, type, experiment_id, run_id, model_name, payload)": [
            f"('e1-{exp}', 'run.started', '{exp}', '{run}', NULL, '{{\"run\": \"{run}\"}}')",
            f"('e2-{exp}', 'metric.logged', NULL, '{run}', NULL, '{{\"run\": \"{run}\"}}')",
            f"('e3-{exp}', 'registry.alias_set', NULL, NULL, '{name}', '{{\"m\": \"{name}\"}}')",
        ],
    }


INTERNAL = {
    "events (event_id, type, experiment_id, payload)": [
        # an access-control event about the readable experiment: hidden all the same
        "('e-auth', 'auth.changed', '22', '{\"password_hash\": \"$argon2id$secret\"}')"
    ],
    "consumer_offsets (topic, partition, next_offset)": ["('t', 0, 5)"],
    "rejected_events (event_id, reason)": ["('x', 'not_json')"],
    "materializer_status (member_id)": ["('m')"],
    "auth_users (username, password_hash)": ["('alice', '$argon2id$secret')"],
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeAccess]:
    home = tmp_path_factory.mktemp("sql-view")
    settings = local_lake_settings(home)
    with open_lake(settings, read_only=False) as writer:
        # only the two teams' experiments (the Default one is neither's)
        writer.con.execute(f"DELETE FROM {CATALOG}.experiments")
        for tables in (*(_rows(*side) for side in SIDES.values()), INTERNAL):
            for table, values in tables.items():
                writer.con.execute(f"INSERT INTO {CATALOG}.{table} VALUES {', '.join(values)}")
    access = LakeAccess(settings)
    yield access
    access.close()


def _sql(lake: LakeAccess, sql: str, caller: SqlCaller = ADMIN) -> list[list[Any]]:
    with lake.session(10.0) as session:
        return run_sql(session, sql, max_rows=1000, caller=caller).rows


def _names(rows: list[list[Any]]) -> set[str]:
    """Every text in the answer (nested values included) that names a hidden resource."""
    text = repr(rows)
    return {name for name in HIDDEN_NAMES if f"'{name}'" in text or f'"{name}"' in text}


@pytest.mark.parametrize("caller", [ALLOWED, DENIED], ids=["granted", "denied"])
@pytest.mark.parametrize("table", sorted(RULES))
def test_every_table_shows_only_the_callers_rows(
    lake: LakeAccess, caller: SqlCaller, table: str
) -> None:
    everything = _sql(lake, f"SELECT * FROM {table}")
    mine = _sql(lake, f"SELECT * FROM {table}", caller)
    assert _names(everything), "the admin sees the other team's rows"
    assert mine, "the caller sees their own rows"
    assert not _names(mine)
    assert sorted(map(repr, mine)) == sorted(repr(r) for r in everything if not _names([r]))


def test_tables_without_a_rule_are_hidden_and_new_tables_must_choose() -> None:
    internal = {"consumer_offsets", "rejected_events", "materializer_status"}
    assert {t.name for t in TABLES if t.name.startswith("auth_")} | internal == HIDDEN


@pytest.mark.parametrize("table", sorted(HIDDEN))
def test_internal_and_access_control_tables_are_refused_by_name(
    lake: LakeAccess, table: str
) -> None:
    with pytest.raises(SqlRejectedError, match=r"admins|access-control"):
        _sql(lake, f"SELECT * FROM {table}", ALLOWED)


REFUSED = {
    "SELECT * FROM lake.main.runs": "name the lake's tables alone",
    "SELECT * FROM main.metrics": "name the lake's tables alone",
    'SELECT * FROM "lake"."runs"': "name the lake's tables alone",
    "SELECT * FROM lake . main . metrics": "name the lake's tables alone",
    "SELECT * FROM runs r JOIN lake.main.runs h USING (run_id)": "alone",
    "SELECT * FROM system.main.duckdb_tables()": "system. is not allowed",
    "SELECT * FROM information_schema.tables": "information_schema. is not allowed",
    "SELECT * FROM pg_catalog.pg_class": "pg_catalog. is not allowed",
    "SELECT * FROM lake.snapshots()": "lake. is not allowed",
    "SELECT table_name, estimated_size FROM duckdb_tables()": "duckdb_tables",
    "SELECT * FROM duckdb_tables": "duckdb_tables",
    "SELECT relname, reltuples FROM pg_class": "pg_class is for admins",
    "SELECT * FROM sqlite_master": "sqlite_master is not allowed",
    "SELECT * FROM duckdb_databases": "describes the server",
    "SELECT * FROM snapshots()": r"snapshots\(\) is for admins",
    "SELECT * FROM table_info()": r"table_info\(\) is for admins",
    "SELECT current_query()": r"current_query\(\) is not allowed",
    "SELECT * FROM table_changes('runs', 0, 1000)": r"table_changes\(\) is not allowed",
    "SELECT * FROM table_insertions('runs', 0, 1000)": "not allowed",
    "FROM histogram(concat('ru', 'ns'), run_id)": r"histogram\(\) is not allowed",
    "FROM histogram_values('runs', run_id)": "not allowed",
    "SELECT * FROM query_table('runs')": "not allowed",
    "SUMMARIZE metrics": "start with one of",
    "SELECT * FROM (SUMMARIZE metrics)": "SUMMARIZE is for admins",
    "DESCRIBE runs": "start with one of",
    "SELECT * FROM (DESCRIBE runs)": "DESCRIBE is for admins",
    "SHOW TABLES": "start with one of",
    "EXPLAIN SELECT * FROM runs": "start with one of",
    "TABLE runs": "start with one of",
    "PIVOT metrics ON key USING sum(value)": "start with one of",
    "SELECT * FROM auth_users": "access-control",
    "SELECT * FROM consumer_offsets": "internal tables",
    "SELECT ?": "parameters",
    "SELECT * FROM (PIVOT metrics ON key USING count(*))": "a PIVOT needs its values listed",
    "SELECT $1": "parameters",
    # the database's own refusal: a top-level query may not take a lake table's name
    "WITH runs AS (SELECT * FROM runs) SELECT * FROM runs": "Duplicate CTE name",
}


@pytest.mark.parametrize("sql", sorted(REFUSED))
def test_ways_around_the_views_are_refused_naming_why(lake: LakeAccess, sql: str) -> None:
    with pytest.raises(SqlRejectedError, match=REFUSED[sql]):
        _sql(lake, sql, ALLOWED)


ANSWERED = {
    "SELECT count(*) FROM runs": [[1]],
    "FROM runs SELECT count(*)": [[1]],
    "VALUES ((SELECT count(*) FROM metrics))": [[3]],
    'SELECT count(*) FROM "RUNS"': [[1]],
    "SELECT count(*) FROM (SELECT * FROM metrics) m": [[3]],
    "SELECT run_id FROM runs UNION SELECT run_id FROM metrics UNION SELECT name "
    "FROM registered_models ORDER BY 1": [["detector"], ["r-seen"]],
    "SELECT * FROM (WITH runs AS (SELECT * FROM runs) SELECT count(*) FROM runs)": [[1]],
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
    "SELECT (SELECT count(*) FROM runs), count(*) FROM t": [[1, 3]],
    "WITH m AS MATERIALIZED (SELECT * FROM metrics) SELECT count(*) FROM m": [[3]],
    "SELECT r.run_id, c.n FROM runs r, LATERAL (SELECT count(*) AS n FROM metrics m "
    "WHERE m.run_id = r.run_id) c": [["r-seen", 3]],
    "SELECT (SELECT list(run_id) FROM metrics), ARRAY(SELECT name FROM model_versions)": [
        [["r-seen"] * 3, ["detector"]]
    ],
    "SELECT count(*) FROM metrics WHERE run_id IN (SELECT run_id FROM runs "
    "WHERE experiment_id = '11')": [[0]],
    "SELECT * FROM (PIVOT metrics ON key IN ('loss') USING count(*) GROUP BY run_id)": [
        ["r-seen", 3]
    ],
    "SELECT count(*) FROM metrics AT (VERSION => 1)": [[3]],
    "SELECT count(*) FROM events": [[3]],
    "SELECT count(*) FROM events WHERE payload LIKE '%argon2%'": [[0]],
    # a hidden row would fail the cast: the views' conditions run first
    "SELECT count(*) FROM runs WHERE (CASE WHEN run_id = 'r-hidden' THEN 'x' ELSE '1' END)"
    "::INT = 1": [[1]],
    "SELECT count(*) FROM metrics WHERE (CASE WHEN run_id = 'r-hidden' THEN 'x' ELSE '1' END)"
    "::INT = 1": [[3]],
    "SELECT count(*) FROM model_versions v JOIN registered_models m USING (name)": [[1]],
    "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'runs'": [[14]],
}


@pytest.mark.parametrize("sql", sorted(ANSWERED))
def test_subqueries_unions_ctes_and_casts_see_only_the_callers_rows(
    lake: LakeAccess, sql: str
) -> None:
    for caller in (ALLOWED, DENIED):
        assert _sql(lake, sql, caller) == ANSWERED[sql], caller


def test_a_caller_who_may_read_nothing_reads_empty_tables(lake: LakeAccess) -> None:
    nothing = SqlCaller(
        admin=False,
        experiments=ReadScope(allowed=frozenset()),
        models=ReadScope(allowed=frozenset()),
    )
    counts = " UNION ALL ".join(f"SELECT count(*) FROM {t}" for t in sorted(RULES))
    assert _sql(lake, counts, nothing) == [[0]] * len(RULES)


def test_admins_read_the_whole_lake_but_never_a_password_hash(lake: LakeAccess) -> None:
    assert _sql(lake, "SELECT count(*) FROM runs") == [[2]]
    assert _sql(lake, "SELECT count(*) FROM consumer_offsets") == [[1]]
    assert _sql(lake, "SELECT count(*) FROM events") == [[6]]  # no auth.changed row
    for sql in (
        "SELECT max(payload) FROM events",
        "SELECT * FROM (SUMMARIZE events)",
        "SUMMARIZE SELECT payload FROM events",
        "PIVOT events ON type USING max(payload)",
        "TABLE events",
    ):
        assert "argon2" not in repr(_sql(lake, sql)), sql
    for sql in (
        "SELECT * FROM table_changes('auth_users', 0, 1000)",
        "FROM histogram('auth_users', password_hash)",
        "SELECT payload FROM lake.main.events",
        "SELECT * FROM pragma_database_list",
    ):
        with pytest.raises(SqlRejectedError):
            _sql(lake, sql)
    # what describes the lake stays the admins'
    assert ["runs"] in _sql(lake, "SHOW TABLES")
    assert _sql(lake, "SELECT count(*) FROM lake.snapshots()")[0][0] > 0
    assert len(_sql(lake, "DESCRIBE runs")) == 14
    assert _sql(lake, "EXPLAIN SELECT 1")
