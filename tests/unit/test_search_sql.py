"""Run search SQL, executed on an in-memory DuckDB laid out as docs/contracts.md."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runstream.errors import PageTokenError, ValidationError
from runstream.query.search.parser import quote
from runstream.query.search.planner import RunSearch, ViewType, plan_search
from runstream.query.search.sql import build_search_sql, read_page

NAN, INF = math.nan, math.inf
# run: experiment, name, user, status, start, end, stage
RUNS = {
    "r01": ("0", "alpha", "alice", "FINISHED", 1000, 2000, "active"),
    "r02": ("0", "beta", "bob", "FINISHED", 1100, 2100, "active"),
    "r03": ("0", "gamma", "alice", "FAILED", 1200, None, "active"),
    "r04": ("0", "delta", "carol", "RUNNING", 1300, None, "active"),
    "r05": ("1", "epsilon", "bob", "FINISHED", 1400, 2400, "active"),
    "r06": ("0", "zeta", "alice", "FINISHED", 1500, 2500, "deleted"),
    "r07": ("0", "eta", "dave", "KILLED", 1600, 1700, "active"),
    "r08": ("0", "theta", "alice", "FINISHED", 1000, 3000, "active"),
    "r09": ("0", "iota", "bob", "FINISHED", 1700, 1800, "active"),
    "r10": ("0", "kappa", "carol", "FINISHED", 1800, 1900, "active"),
    "r11": ("0", "lambda", "alice", "FINISHED", 1900, 2000, "active"),
    "r12": ("2", "mu", "eve", "FINISHED", 2000, 2100, "active"),
}
# (run, key): (last, min, max, count)
METRICS = {
    ("r01", "acc"): (0.90, 0.1, 0.9, 4),
    ("r02", "acc"): (0.80, 0.1, 0.8, 4),
    ("r03", "acc"): (NAN, 0.2, 0.5, 4),
    ("r05", "acc"): (0.95, 0.1, 0.95, 4),
    ("r06", "acc"): (0.99, 0.1, 0.99, 4),
    ("r07", "acc"): (0.90, 0.3, 0.9, 4),
    ("r08", "acc"): (-INF, -INF, 0.1, 4),
    ("r09", "acc"): (INF, 0.1, INF, 4),
    ("r10", "acc"): (0.5, 0.5, 0.5, 1),
    ("r11", "acc"): (NAN, None, None, 2),
    ("r12", "acc"): (0.6, 0.6, 0.6, 1),
    ("r01", "loss"): (0.5, 0.1, 1.0, 10),
    ("r02", "loss"): (0.3, 0.3, 0.9, 5),
    ("r03", "loss"): (0.7, 0.2, 0.8, 20),
    ("r07", "loss"): (0.25, 0.25, 0.4, 3),
    ("r02", "loss.min"): (42.0, 42.0, 42.0, 1),
    ("r10", "val/loss"): (0.4, 0.4, 0.4, 1),
}
PARAMS = {
    ("r01", "lr"): "0.1",
    ("r02", "lr"): "0.01",
    ("r03", "lr"): "0.1",
    ("r05", "lr"): "0.001",
    ("r06", "lr"): "0.1",
    ("r07", "lr"): "0.5",
    ("r08", "lr"): "0.1",
    ("r11", "lr"): "1e-3",
    ("r01", "model"): "CNN",
    ("r02", "model"): "cnn",
    ("r04", "model"): "rnn",
    ("r09", "model"): "CNN-big",
    ("r10", "my key"): "a_b",
}
TAGS = {
    ("r01", "team"): "vision",
    ("r02", "team"): "nlp",
    ("r03", "team"): "Vision",
    ("r05", "team"): "vision",
    ("r07", "note"): "it's",
}
ALL_EXP0 = ["r11", "r10", "r09", "r07", "r04", "r03", "r02", "r01", "r08"]


def make_lake() -> duckdb.DuckDBPyConnection:
    """Build the contracts.md tables the search reads, filled with the runs above."""
    con = duckdb.connect(":memory:")
    con.execute(
        "CREATE TABLE runs(run_id VARCHAR, experiment_id VARCHAR, run_name VARCHAR,"
        " user_id VARCHAR, status VARCHAR, start_time BIGINT, end_time BIGINT,"
        " lifecycle_stage VARCHAR, source_name VARCHAR, source_type VARCHAR,"
        " git_commit VARCHAR, parent_run_id VARCHAR, artifact_uri VARCHAR, description VARCHAR)"
    )
    con.execute("CREATE TABLE params(run_id VARCHAR, key VARCHAR, value VARCHAR)")
    con.execute("CREATE TABLE tags(run_id VARCHAR, key VARCHAR, value VARCHAR)")
    con.execute(
        "CREATE TABLE latest_metrics(run_id VARCHAR, key VARCHAR, value DOUBLE, step BIGINT,"
        ' "timestamp" BIGINT, min_value DOUBLE, max_value DOUBLE, count BIGINT)'
    )
    for run_id, (exp, name, user, status, start, end, stage) in RUNS.items():
        add_run(con, run_id, exp, name, user, status, start, end, stage)
    con.executemany(
        "INSERT INTO latest_metrics VALUES (?, ?, ?, 0, 0, ?, ?, ?)",
        [[run, key, *stats] for (run, key), stats in METRICS.items()],
    )
    con.executemany("INSERT INTO params VALUES (?, ?, ?)", [[*k, v] for k, v in PARAMS.items()])
    con.executemany("INSERT INTO tags VALUES (?, ?, ?)", [[*k, v] for k, v in TAGS.items()])
    return con


def add_run(con: duckdb.DuckDBPyConnection, run_id: str, *values: Any) -> None:
    """Insert one runs row (experiment, name, user, status, start, end, stage)."""
    exp, name, user, status, start, end, stage = values
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'src', 'LOCAL', NULL, NULL, ?, NULL)",
        [run_id, exp, name, user, status, start, end, stage, f"s3://b/{run_id}"],
    )


@pytest.fixture(scope="module")
def lake() -> Iterator[duckdb.DuckDBPyConnection]:
    con = make_lake()
    yield con
    con.close()


def search(
    con: duckdb.DuckDBPyConnection, plan: RunSearch, token: str | None = None
) -> tuple[list[str], str | None]:
    sql, params = build_search_sql(plan, plan.cursor(token))
    page = read_page(plan, con.execute(sql, params).fetchall())
    return page.items, page.next_page_token


def run_ids(
    con: duckdb.DuckDBPyConnection,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    **kw: Any,
) -> list[str]:
    experiments = kw.pop("experiment_ids", ["0"])
    ids, token = search(con, plan_search(experiments, filter_string, order_by, **kw))
    assert token is None
    return ids


FILTER_CASES = [
    (None, ALL_EXP0),
    ("metrics.acc > 0.85", ["r09", "r07", "r01"]),  # NaN is not > 0.85 (DuckDB alone says it is)
    ("metrics.acc != 0.9", ["r11", "r10", "r09", "r03", "r02", "r08"]),  # NaN is !=, missing is not
    ("metrics.acc = 0.9", ["r07", "r01"]),
    ("metrics.acc <= 0.5", ["r10", "r08"]),
    ("metrics.acc < 1e999", ["r10", "r07", "r02", "r01", "r08"]),
    ("params.lr = '0.1'", ["r03", "r01", "r08"]),
    ("params.lr != '0.1'", ["r11", "r07", "r02"]),  # runs without lr do not match
    ("params.lr IS NULL", ["r10", "r09", "r04"]),
    ("params.lr IS NOT NULL", ["r11", "r07", "r03", "r02", "r01", "r08"]),
    ("params.model LIKE 'CNN%'", ["r09", "r01"]),
    ("params.model ILIKE 'cnn%'", ["r09", "r02", "r01"]),
    ("params.model LIKE 'C_N'", ["r01"]),
    ("params.`my key` LIKE 'a\\_b'", []),  # no escape character: the backslash is literal
    ("tags.team IN ('vision', 'nlp')", ["r02", "r01"]),
    ("tags.team NOT IN ('vision')", ["r03", "r02"]),
    ("attributes.status = 'FINISHED'", ["r11", "r10", "r09", "r02", "r01", "r08"]),
    ("status != 'FINISHED'", ["r07", "r04", "r03"]),
    ("attributes.end_time > 2000", ["r02", "r08"]),
    ("attributes.end_time != 2000", ["r10", "r09", "r07", "r02", "r08"]),  # NULL end_time: no
    ("attributes.run_id IN ('r01', 'r05', 'r07')", ["r07", "r01"]),
    ("run_id NOT IN ('r01', 'r02', 'r03')", ["r11", "r10", "r09", "r07", "r04", "r08"]),
    ("attributes.`run name` LIKE '%eta'", ["r07", "r02", "r08"]),
    ("attributes.user_id ILIKE 'ALICE'", ["r11", "r03", "r01", "r08"]),
    ("created >= 1600", ["r11", "r10", "r09", "r07"]),
    ("metrics.acc > 0.85 OR params.lr = '0.5'", ["r09", "r07", "r01"]),
    ("params.lr = '0.1' OR params.lr = '0.01' AND status = 'FAILED'", ["r03", "r01", "r08"]),
    ("(params.lr = '0.1' OR params.lr = '0.01') AND status = 'FAILED'", ["r03"]),
    ("metrics.`loss`.min < 0.25", ["r03", "r01"]),
    ("metrics.loss < 0.4", ["r07", "r02"]),
    ('metrics."loss".count >= 10', ["r03", "r01"]),
    ("metrics.'loss'.max <= 0.9", ["r07", "r03", "r02"]),
    ("metrics.`loss`.last = 0.5", ["r01"]),
    ("metrics.`acc`.min < 0", ["r08"]),
    ("metrics.`acc`.max > 1", ["r09"]),  # r11's max is NULL (all NaN): no match
    ("metrics.loss.min > 40", ["r02"]),  # unquoted: the metric named "loss.min"
    ("metrics.`val/loss` < 1", ["r10"]),
    ("params.\"my key\" = 'a_b'", ["r10"]),
    ("tags.note = 'it''s' AND tags.note = \"it's\"", ["r07"]),
    ("params.lr = 'nope' OR (metrics.acc = 0.5 AND params.lr IS NULL)", ["r10"]),
]


@pytest.mark.parametrize(("filter_string", "expected"), FILTER_CASES)
def test_filter(
    lake: duckdb.DuckDBPyConnection, filter_string: str | None, expected: list[str]
) -> None:
    assert run_ids(lake, filter_string) == expected


ORDER_CASES = [
    # Numbers first, then NaN, then missing, in both directions (MLflow's SQL store).
    (["metrics.acc DESC"], ["r09", "r07", "r01", "r02", "r10", "r08", "r11", "r03", "r04"]),
    (["metrics.acc ASC"], ["r08", "r10", "r02", "r07", "r01", "r09", "r11", "r03", "r04"]),
    (["params.lr"], ["r02", "r03", "r01", "r08", "r07", "r11", "r10", "r09", "r04"]),
    (["params.lr DESC"], ["r11", "r07", "r03", "r01", "r08", "r02", "r10", "r09", "r04"]),
    (
        ["attributes.start_time ASC"],
        ["r01", "r08", "r02", "r03", "r04", "r07", "r09", "r10", "r11"],
    ),
    (["attributes.end_time DESC"], ["r08", "r02", "r11", "r01", "r10", "r09", "r07", "r04", "r03"]),
    (
        ["tags.team DESC", "metrics.acc"],
        ["r01", "r02", "r03", "r08", "r10", "r07", "r09", "r11", "r04"],
    ),
    (["metrics.`loss`.min DESC"], ["r02", "r07", "r03", "r01", "r11", "r10", "r09", "r04", "r08"]),
    (["attributes.run_name"], ["r01", "r02", "r04", "r07", "r03", "r09", "r10", "r11", "r08"]),
]


@pytest.mark.parametrize(("order_by", "expected"), ORDER_CASES)
def test_order_by(
    lake: duckdb.DuckDBPyConnection, order_by: list[str], expected: list[str]
) -> None:
    assert run_ids(lake, None, order_by) == expected


def test_filter_and_order_together(lake: duckdb.DuckDBPyConnection) -> None:
    assert run_ids(lake, "metrics.acc > 0", ["metrics.acc"]) == ["r10", "r02", "r07", "r01", "r09"]


@pytest.mark.parametrize(
    ("kwargs", "filter_string", "expected"),
    [
        ({"experiment_ids": ["0", "1"]}, "tags.team = 'vision'", ["r05", "r01"]),
        ({"experiment_ids": [1, "2"]}, None, ["r12", "r05"]),
        ({"experiment_ids": "2"}, None, ["r12"]),
        ({"experiment_ids": []}, None, []),
        ({"run_view_type": ViewType.DELETED_ONLY}, None, ["r06"]),
        ({"run_view_type": "all"}, "params.lr = '0.1'", ["r06", "r03", "r01", "r08"]),
        ({"run_view_type": 3}, "attributes.lifecycle_stage = 'deleted'", ["r06"]),
        ({"run_view_type": 1}, "attributes.lifecycle_stage = 'deleted'", []),
    ],
)
def test_experiments_and_view_type(
    lake: duckdb.DuckDBPyConnection,
    kwargs: dict[str, Any],
    filter_string: str | None,
    expected: list[str],
) -> None:
    assert run_ids(lake, filter_string, **kwargs) == expected


PAGED_QUERIES = [(None, None), ("metrics.acc != 7", ["metrics.acc DESC"])] + [
    (None, o) for o, _ in ORDER_CASES
]


@pytest.mark.parametrize(("filter_string", "order_by"), PAGED_QUERIES)
@pytest.mark.parametrize("page_size", [1, 2, 4])
def test_paging_through_all_pages_returns_the_unpaged_result(
    lake: duckdb.DuckDBPyConnection,
    filter_string: str | None,
    order_by: list[str] | None,
    page_size: int,
) -> None:
    whole = run_ids(lake, filter_string, order_by)
    plan = plan_search(["0"], filter_string, order_by, max_results=page_size)
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        ids, token = search(lake, plan, token)
        assert 0 < len(ids) <= page_size
        pages.append(ids)
        if token is None:
            break
    assert [i for page in pages for i in page] == whole
    assert len(pages) == math.ceil(len(whole) / page_size)


def test_rows_arriving_between_pages_do_not_shift_the_next_page() -> None:
    con = make_lake()
    plan = plan_search(["0"], max_results=3)
    first, token = search(con, plan)
    add_run(con, "r00", "0", "new", "zed", "RUNNING", 9999, None, "active")  # sorts first
    second, _ = search(con, plan, token)
    assert first + second == ALL_EXP0[:6]


def test_page_size_may_change_between_pages(lake: duckdb.DuckDBPyConnection) -> None:
    first, token = search(lake, plan_search(["0"], max_results=2))
    rest, token2 = search(lake, plan_search(["0"], max_results=100), token)
    assert first + rest == ALL_EXP0 and token2 is None


@pytest.mark.parametrize(
    "other",
    [
        {"filter_string": "metrics.acc > 0"},
        {"order_by": ["params.lr"]},
        {"experiment_ids": ["0", "1"]},
        {"run_view_type": "ALL"},
    ],
)
def test_token_of_another_query_is_rejected(
    lake: duckdb.DuckDBPyConnection, other: dict[str, Any]
) -> None:
    _, token = search(lake, plan_search(["0"], max_results=2))
    assert token is not None
    args: dict[str, Any] = {"experiment_ids": ["0"], "max_results": 2, **other}
    with pytest.raises(PageTokenError, match="different query"):
        plan_search(**args).cursor(token)


def test_same_query_written_differently_accepts_the_token(lake: duckdb.DuckDBPyConnection) -> None:
    _, token = search(
        lake, plan_search(["0"], "metrics.acc>0", ["metrics.acc desc"], max_results=2)
    )
    same = plan_search(["0"], " metric.`acc` > 0.0 ", ["metrics.acc DESC"], max_results=2)
    assert search(lake, same, token)[0] == ["r01", "r02"]


@pytest.mark.parametrize(
    "cursor",
    [
        [],
        {"k": [[0, 1]]},  # no run id
        {"k": [[0, 1]], "id": "r01", "x": 1},
        {"k": [0, 1], "id": "r01"},  # a pair that is not a pair
        {"k": [[0, None]], "id": "r01"},  # rank 0 with a NULL value
        {"k": [[1, 5]], "id": "r01"},  # rank 1 with a value
        {"k": [[3, None]], "id": "r01"},
        {"k": [[0, "x"]], "id": "r01"},  # a string for a number
        {"k": [[0, True]], "id": "r01"},
        {"k": [[0, 1]], "id": 5},
        {"k": [[0, 1], [0, 2]], "id": "r01"},
    ],
)
def test_forged_cursor_with_the_right_fingerprint_is_rejected(cursor: Any) -> None:
    from runstream.query.search.page_token import encode_page_token

    plan = plan_search(["0"])
    with pytest.raises(PageTokenError):
        plan.cursor(encode_page_token(plan.fingerprint, cursor))


@pytest.mark.parametrize("bad", [0, -1, 50_001, True, 2.5, "10"])
def test_max_results_is_validated(bad: Any) -> None:
    with pytest.raises(ValidationError):
        plan_search(["0"], max_results=bad)


def test_max_results_bounds_and_default() -> None:
    assert plan_search(["0"]).max_results == 1000
    assert plan_search(["0"], max_results=None).max_results == 1000
    assert plan_search(["0"], max_results=50_000).max_results == 50_000


@pytest.mark.parametrize(
    "bad", [{"run_view_type": "SOME"}, {"run_view_type": 4}, {"experiment_ids": [None]}]
)
def test_other_arguments_are_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        plan_search(**{"experiment_ids": ["0"], **bad})


# Keys and values users may type: anything, including quotes, SQL and NUL.
USER_TEXT = st.text(min_size=1, max_size=30)


def _bq(text: str) -> str:
    return quote(text, "`")


def _sq(text: str) -> str:
    return quote(text)


TEMPLATES = [
    "params.{k} = {v}",
    "tags.{k} LIKE {v} OR params.{k} IN ({v}, {v})",
    "(metrics.{k} > 1 AND tags.{k} IS NULL) OR run_id NOT IN ({v})",
    "metrics.{k}.min != 2 AND attributes.run_name ILIKE {v}",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=USER_TEXT,
    value=st.text(max_size=30),
    template=st.sampled_from(TEMPLATES),
    order_key=USER_TEXT,
)
def test_user_text_never_reaches_the_sql_text(
    lake: duckdb.DuckDBPyConnection, key: str, value: str, template: str, order_key: str
) -> None:
    def compile_with(k: str, v: str, o: str) -> tuple[str, list[Any]]:
        text = template.format(k=_bq(k), v=_sq(v))
        return build_search_sql(plan_search(["0"], text, [f"params.{_bq(o)} DESC", "metrics.x"]))

    sql, params = compile_with(key, value, order_key)
    reference_sql, _ = compile_with("k", "v", "o")
    assert sql == reference_sql  # the text depends only on the filter's shape
    assert key in params and order_key in params
    if "{v}" in template and "= {v}" in template:
        assert value in params
    lake.execute(sql, params).fetchall()  # and DuckDB runs it without complaint
