"""The SQL guard: one read-only statement over the lake's tables, nothing else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runstream.errors import SqlRejectedError
from runstream.query.read.sql_guard import MAX_SQL_LENGTH, check_sql

ALLOWED = [
    "SELECT 1",
    "select * from runs where run_id = 'x';",
    "SELECT * FROM runs;  -- trailing comment",
    "WITH a AS (SELECT * FROM runs) SELECT count(*) FROM a",
    "FROM runs LIMIT 3",
    "SELECT extract(year FROM to_timestamp(start_time / 1000)) FROM runs",
    "SELECT extract(year FROM '2020-01-01'::DATE)",
    "SELECT trim(both 'x' FROM 'xax')",
    "SELECT substring('abcdef' FROM 2 FOR 3)",
    "DESCRIBE runs",
    "SHOW TABLES",
    "SUMMARIZE metrics",
    "EXPLAIN SELECT * FROM runs",
    "SELECT * FROM runs r JOIN params p ON r.run_id = p.run_id, tags t",
    "SELECT 'DELETE FROM runs; DROP TABLE x' AS harmless_text",
    'SELECT "update", "set" FROM (SELECT 1 AS "update", 2 AS "set")',
    "SELECT * FROM range(10)",
    "SELECT $$ drop table $$ AS s",
    "SELECT * FROM duckdb_tables()",
    "SELECT a.* FROM (SELECT 1) a, (SELECT 2) b",
    "SELECT key, avg(value) FROM metrics GROUP BY key HAVING count(*) > 1 ORDER BY 2 DESC",
    "SELECT * FROM runs WHERE artifact_uri LIKE 's3://bucket/%'",
    "SELECT list_transform([1, 2], x -> x + 1)",
    "SELECT e'it\\'s'",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT * FROM lake.snapshots()",
    "SELECT histogram_exact(value, [0, 1]) FROM metrics",
    "PIVOT metrics ON key USING avg(value)",
]

REFUSED = [
    "",
    "   ",
    "-- only a comment",
    "DELETE FROM runs",
    "UPDATE runs SET status = 'X'",
    "INSERT INTO runs SELECT * FROM runs",
    "CREATE TABLE x AS SELECT 1",
    "DROP TABLE runs",
    "ALTER TABLE runs ADD COLUMN x INT",
    "ATTACH 'x.db' AS x",
    "DETACH lake",
    "COPY runs TO 'x.csv'",
    "COPY (SELECT 1) TO 's3://bucket/x'",
    "EXPORT DATABASE '/tmp/x'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "SET threads = 1",
    "RESET threads",
    "PRAGMA version",
    "CALL ducklake_expire_snapshots('lake')",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "USE memory",
    "SELECT 1; DROP TABLE runs",
    "SELECT 1; SELECT 2",
    "SELECT 1;;",
    "WITH x AS (SELECT 1) INSERT INTO runs SELECT * FROM x",
    "EXPLAIN COPY runs TO 'x'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('s3://bucket/*.parquet')",
    "SELECT * FROM read_json('http://169.254.169.254/latest/meta-data')",
    "SELECT * FROM read_text('/etc/hosts')",
    "SELECT * FROM read_blob('/etc/hosts')",
    "SELECT * FROM parquet_scan('x.parquet')",
    "SELECT * FROM parquet_metadata('x.parquet')",
    "SELECT * FROM main.read_csv('/etc/passwd')",
    "SELECT * FROM \"read_csv\"('/etc/passwd')",
    "SELECT * FROM READ_CSV('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'data.csv'",
    'SELECT * FROM "data.parquet"',
    'SELECT * FROM "s3://bucket/file"',
    "SELECT * FROM runs, 'x.csv'",
    "SELECT * FROM runs JOIN 'x.csv' USING (run_id)",
    "SELECT * FROM runs UNION SELECT * FROM 'x.csv'",
    "SELECT * FROM (FROM 'x.csv')",
    "SELECT array(SELECT 1 FROM 'f.csv')",
    "DESCRIBE 'file.csv'",
    "SUMMARIZE '/etc/passwd'",
    "SELECT * FROM glob('*')",
    "SELECT getenv('HOME')",
    "SELECT current_setting('s3_secret_access_key')",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM which_secret('s3://x', 's3')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('runs')",
    "SELECT * FROM sqlite_scan('x.db', 't')",
    "SELECT * FROM postgres_scan('dbname=x', 'public', 't')",
    "SELECT * FROM iceberg_scan('x')",
    "SELECT * FROM delta_scan('x')",
    "SELECT * FROM ducklake_snapshots('lake')",
    "SELECT * FROM pragma_database_list()",
    "SELECT * FROM __ducklake_metadata_lake.ducklake_data_file",
    "SELECT * FROM auth_users",
    'SELECT * FROM lake."AUTH_TOKENS"',
    "SELECT r.* FROM runs r JOIN lake.auth_permissions p ON true",
    "WITH x AS (FROM auth_audit) SELECT * FROM x",
    "SELECT set_variable('x', 1)",
    "SELECT 1 /* unterminated",
    "SELECT 'unterminated",
    'SELECT "unterminated',
    "SELECT $$unterminated",
    "SELECT 1\x00",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    # a lake table's name stands for the caller's view of it: never qualified
    "SELECT * FROM lake.main.runs",
    "SELECT * FROM main.events",
    'SELECT * FROM "lake"."events"',
    # system views without parentheses are the functions they stand for
    "SELECT * FROM duckdb_databases",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM pg_settings",
    "SELECT * FROM sqlite_master",
    # functions that read a table named by a string (it could name auth_users)
    "SELECT * FROM table_changes('auth_users', 0, 100)",
    "SELECT * FROM table_insertions('auth_users', 0, 100)",
    "FROM histogram('auth_users', password_hash)",
    "FROM histogram_values(concat('auth', '_users'), password_hash)",
    "SELECT * FROM options()",
    "SELECT * FROM settings()",
    # nothing is bound to parameters
    "SELECT ?",
    "SELECT * FROM runs WHERE run_id = $1",
    "SELECT $name",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_read_only_statements_pass(sql: str) -> None:
    checked = check_sql(sql).text
    assert checked and not checked.endswith(";") and sql.startswith(checked)


@pytest.mark.parametrize("sql", REFUSED)
def test_writes_files_settings_and_tricks_are_refused(sql: str) -> None:
    with pytest.raises(SqlRejectedError):
        check_sql(sql)


def test_too_long_sql_is_refused() -> None:
    with pytest.raises(SqlRejectedError, match="limit"):
        check_sql("SELECT " + "1," * MAX_SQL_LENGTH + "1")


def test_message_says_where() -> None:
    with pytest.raises(SqlRejectedError, match=r"read_csv\(\) is not allowed \(at character 14\)"):
        check_sql("SELECT * FROM read_csv('x')")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_guard_never_crashes(text: str) -> None:
    with contextlib.suppress(SqlRejectedError):
        check_sql(text)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["read_csv", "glob", "read_parquet", "getenv", "query", "parquet_scan"]),
    st.sampled_from(
        ["", "main.", "system.main.", '"'],
    ),
    st.sampled_from(
        [
            "SELECT * FROM {f}('x')",
            "SELECT {f}('x')",
            "SELECT (SELECT 1 FROM {f}('x'))",
            "WITH a AS (SELECT * FROM {f}('x')) SELECT * FROM a",
        ]
    ),
)
def test_denied_functions_are_refused_however_written(fn: str, qual: str, shape: str) -> None:
    name = f'"{fn}"' if qual == '"' else qual + fn
    with pytest.raises(SqlRejectedError):
        check_sql(shape.format(f=name))


RESTRICTED = [
    "DESCRIBE runs",
    "SELECT * FROM (SHOW TABLES)",
    "SELECT * FROM (SUMMARIZE metrics)",
    "EXPLAIN SELECT 1",
    "PIVOT metrics ON key USING avg(value)",
    "TABLE runs",
    "SELECT * FROM system.main.duckdb_columns()",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM memory.main.x",
    "SELECT * FROM lake.snapshots()",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM pg_class",
    "SELECT * FROM snapshots()",
    "SELECT * FROM consumer_offsets",
]


@pytest.mark.parametrize("sql", RESTRICTED)
def test_what_describes_more_than_the_callers_rows_is_for_admins(sql: str) -> None:
    check_sql(sql)  # an admin's statement
    with pytest.raises(SqlRejectedError):
        check_sql(sql, restricted=True, hidden=frozenset({"consumer_offsets"}))


@pytest.mark.parametrize(
    ("sql", "first", "rest"),
    [
        ("-- a comment\nSELECT 1;", "SELECT", "SELECT 1"),
        ("with a AS (SELECT 1) FROM a", "WITH", " a AS (SELECT 1) FROM a"),
        ("WITH /* c */ RECURSIVE t(n) AS (SELECT 1) FROM t", "WITH", " t(n) AS (SELECT 1) FROM t"),
    ],
)
def test_a_statement_is_returned_from_its_first_word(sql: str, first: str, rest: str) -> None:
    statement = check_sql(sql, restricted=True)
    assert statement.first == first
    assert (
        statement.text[statement.with_end :] == rest if first == "WITH" else statement.text == rest
    )
