"""The in-memory run index answers every search exactly as the lake's SQL does.

Each case runs twice on the same data: once with the SQL of ``search.sql`` on an
in-memory DuckDB laid out as the lake, once on a :class:`RunIndex` built from that
DuckDB by the statements the service uses. The two must agree on ids, order and
paging; a property test does the same on random data and random filters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_search_sql import FILTER_CASES, ORDER_CASES, PAGED_QUERIES, add_run, make_lake, search

from runstream.errors import PageTokenError
from runstream.query.read.index_cache import RUNS_SQL, keyed_sql
from runstream.query.read.runs import load_runs_sql
from runstream.query.search.index import RunIndex
from runstream.query.search.parser import quote
from runstream.query.search.planner import RunSearch, ViewType, plan_search
from runstream.query.search.syntax import Kind


def build_index(con: duckdb.DuckDBPyConnection, snapshot_id: int = 1) -> RunIndex:
    """Read the tables with the service's own statements and index them."""
    keyed = {
        kind: con.execute(keyed_sql(kind)).to_arrow_table()
        for kind in Kind
        if kind is not Kind.ATTRIBUTE
    }
    return RunIndex(snapshot_id, con.execute(RUNS_SQL).to_arrow_table(), keyed)


@pytest.fixture(scope="module")
def lake() -> Iterator[duckdb.DuckDBPyConnection]:
    con = make_lake()
    yield con
    con.close()


@pytest.fixture(scope="module")
def index(lake: duckdb.DuckDBPyConnection) -> RunIndex:
    return build_index(lake)


def both(
    lake: duckdb.DuckDBPyConnection, index: RunIndex, plan: RunSearch, token: str | None = None
) -> tuple[list[str], str | None]:
    """The page from SQL and from the index; they must be equal."""
    sql_ids, sql_token = search(lake, plan, token)
    page = index.search(plan, plan.cursor(token))
    assert page is not None, "the index does not serve this search"
    assert page.items == sql_ids
    assert (page.next_page_token is None) == (sql_token is None)
    return page.items, page.next_page_token


@pytest.mark.parametrize(("filter_string", "expected"), FILTER_CASES)
def test_filters_match_the_sql(
    lake: duckdb.DuckDBPyConnection, index: RunIndex, filter_string: str | None, expected: list[str]
) -> None:
    plan = plan_search(["0"], filter_string)
    if filter_string is not None and "\\" in filter_string:
        assert index.search(plan) is None
        return
    assert both(lake, index, plan) == (expected, None)


@pytest.mark.parametrize(("order_by", "expected"), ORDER_CASES)
def test_orders_match_the_sql(
    lake: duckdb.DuckDBPyConnection, index: RunIndex, order_by: list[str], expected: list[str]
) -> None:
    assert both(lake, index, plan_search(["0"], None, order_by)) == (expected, None)


@pytest.mark.parametrize(
    ("kwargs", "filter_string"),
    [
        ({"experiment_ids": ["0", "1"]}, "tags.team = 'vision'"),
        ({"experiment_ids": [1, "2"]}, None),
        ({"experiment_ids": []}, None),
        ({"run_view_type": ViewType.DELETED_ONLY}, None),
        ({"run_view_type": "all"}, "params.lr = '0.1'"),
        ({"run_view_type": 1}, "attributes.lifecycle_stage = 'deleted'"),
    ],
)
def test_experiments_and_view_type_match_the_sql(
    lake: duckdb.DuckDBPyConnection,
    index: RunIndex,
    kwargs: dict[str, Any],
    filter_string: str | None,
) -> None:
    experiments = kwargs.pop("experiment_ids", ["0"])
    both(lake, index, plan_search(experiments, filter_string, **kwargs))


@pytest.mark.parametrize(("filter_string", "order_by"), PAGED_QUERIES)
@pytest.mark.parametrize("page_size", [1, 3])
def test_pages_match_the_sql_and_tokens_work_across_both(
    lake: duckdb.DuckDBPyConnection,
    index: RunIndex,
    filter_string: str | None,
    order_by: list[str] | None,
    page_size: int,
) -> None:
    whole, _ = both(lake, index, plan_search(["0"], filter_string, order_by))
    plan = plan_search(["0"], filter_string, order_by, max_results=page_size)
    seen: list[str] = []
    token: str | None = None
    turn = 0
    while True:
        # Alternate who answers: a token from the index continues on SQL and back.
        if turn % 2:
            ids, token = search(lake, plan, token)
        else:
            page = index.search(plan, plan.cursor(token))
            assert page is not None
            ids, token = page.items, page.next_page_token
        turn += 1
        seen += ids
        if token is None:
            break
    assert seen == whole
    assert turn == math.ceil(len(whole) / page_size)


def test_a_token_of_another_search_is_rejected(index: RunIndex) -> None:
    first = index.search(plan_search(["0"], max_results=2))
    assert first is not None
    with pytest.raises(PageTokenError):
        plan_search(["0"], "metrics.acc > 0", max_results=2).cursor(first.next_page_token)


def test_loaded_runs_equal_the_sql_ones(lake: duckdb.DuckDBPyConnection, index: RunIndex) -> None:
    from runstream.query.read.runs import Columns, _run

    ids = ["r03", "r01", "nope", "r10", "r01"]
    for columns in (Columns(), Columns(params=["lr"], metrics=[], tags=None)):
        sql, params = load_runs_sql(ids, columns)
        by_id = {str(row[0]): _run(row) for row in lake.execute(sql, params).fetchall()}
        expected = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
        got = index.load(ids, columns.params, columns.metrics, columns.tags)
        assert [r.info for r in got] == [r.info for r in expected]
        assert [r.params for r in got] == [r.params for r in expected]
        assert [r.tags for r in got] == [r.tags for r in expected]
        for a, b in zip(got, expected, strict=True):
            assert a.metrics.keys() == b.metrics.keys()
            for key in a.metrics:
                assert repr(a.metrics[key]) == repr(b.metrics[key])  # NaN == NaN by repr


EMPTY_ALL = "DELETE FROM runs; DELETE FROM params; DELETE FROM tags; DELETE FROM latest_metrics"


def test_an_empty_lake_searches_and_loads_nothing() -> None:
    lake = make_lake()
    lake.execute(EMPTY_ALL)
    empty = build_index(lake)
    page = empty.search(plan_search(["0"], "metrics.acc > 0", ["params.lr"]))
    assert page is not None and page.items == []
    assert empty.load(["r01"]) == []
    lake.close()


# -- random data, random filters --------------------------------------------------------

KEYS = ["a", "b", "c d"]
TEXTS = ["x", "X", "xy", "y", "", "x_y", "x%", "é"]
NUMBERS = [0.0, -1.0, 1.0, 2.5, math.nan, math.inf, -math.inf]


@st.composite
def lakes(draw: st.DrawFn) -> duckdb.DuckDBPyConnection:
    con = make_lake()
    con.execute(EMPTY_ALL)
    n = draw(st.integers(0, 14))
    for i in range(n):
        run_id = f"q{i:02d}"
        start = draw(st.sampled_from([100, 200, 300]))
        end = draw(st.sampled_from([None, 150, 400]))
        add_run(
            con,
            run_id,
            draw(st.sampled_from(["0", "1"])),
            draw(st.sampled_from(TEXTS)),
            draw(st.sampled_from([None, "alice", "Bob"])),
            draw(st.sampled_from(["FINISHED", "FAILED"])),
            start,
            end,
            draw(st.sampled_from(["active", "active", "deleted"])),
        )
        for key in KEYS:
            if draw(st.booleans()):
                con.execute(
                    "INSERT INTO params VALUES (?, ?, ?)",
                    [run_id, key, draw(st.sampled_from(TEXTS))],
                )
            if draw(st.booleans()):
                con.execute(
                    "INSERT INTO tags VALUES (?, ?, ?)", [run_id, key, draw(st.sampled_from(TEXTS))]
                )
            if draw(st.booleans()):
                last, low, high = (draw(st.sampled_from(NUMBERS)) for _ in range(3))
                low_high = [None, None] if draw(st.booleans()) and math.isnan(last) else [low, high]
                con.execute(
                    "INSERT INTO latest_metrics VALUES (?, ?, ?, 0, 0, ?, ?, ?)",
                    [run_id, key, last, *low_high, draw(st.integers(1, 3))],
                )
    return con


def _key(kind: str) -> str:
    return st.sampled_from([f"{kind}.`{k}`" for k in KEYS])  # type: ignore[return-value]


LEAVES = st.one_of(
    st.builds(
        lambda f, op, v: f"{f} {op} {v}",
        st.sampled_from(
            [f"metrics.`{k}`{a}" for k in KEYS for a in ("", ".min", ".max", ".count")]
        ),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(["0", "-1", "1", "2.5", "3"]),
    ),
    st.builds(
        lambda kind, k, op, v: f"{kind}.`{k}` {op} {quote(v)}",
        st.sampled_from(["params", "tags"]),
        st.sampled_from(KEYS),
        st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
        st.sampled_from([*TEXTS, "x%", "%y", "_", "%", "X%"]),
    ),
    st.builds(
        lambda kind, k, neg, vs: (
            f"{kind}.`{k}` {'NOT IN' if neg else 'IN'} ({', '.join(quote(v) for v in vs)})"
        ),
        st.sampled_from(["params", "tags"]),
        st.sampled_from(KEYS),
        st.booleans(),
        st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3),
    ),
    st.builds(
        lambda kind, k, neg: f"{kind}.`{k}` IS {'NOT ' if neg else ''}NULL",
        st.sampled_from(["params", "tags"]),
        st.sampled_from(KEYS),
        st.booleans(),
    ),
    st.builds(
        lambda a, op, v: f"attributes.{a} {op} {v}",
        st.sampled_from(["start_time", "end_time"]),
        st.sampled_from(["=", "!=", "<", ">="]),
        st.sampled_from(["150", "200", "400"]),
    ),
    st.builds(
        lambda a, op, v: f"attributes.{a} {op} {quote(v)}",
        st.sampled_from(["run_name", "user_id", "status"]),
        st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
        st.sampled_from([*TEXTS, "alice", "BOB", "%i%", "FINISHED"]),
    ),
    st.builds(
        lambda vs: f"attributes.run_id IN ({', '.join(quote(v) for v in vs)})",
        st.lists(st.sampled_from([f"q{i:02d}" for i in range(14)]), min_size=1, max_size=4),
    ),
)
FILTERS = st.recursive(
    LEAVES,
    lambda inner: st.builds(
        lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["AND", "OR"]), inner
    ),
    max_leaves=4,
)
ORDER_FIELDS = [
    *(f"metrics.`{k}`{a}" for k in KEYS for a in ("", ".min", ".count")),
    *(f"params.`{k}`" for k in KEYS),
    *(f"tags.`{k}`" for k in KEYS),
    "attributes.start_time",
    "attributes.end_time",
    "attributes.run_name",
    "attributes.user_id",
]
ORDERS = st.lists(
    st.builds(
        lambda f, d: f"{f} {d}", st.sampled_from(ORDER_FIELDS), st.sampled_from(["ASC", "DESC"])
    ),
    max_size=3,
    unique_by=lambda o: o.rsplit(" ", 1)[0],
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    con=lakes(),
    filter_string=st.one_of(st.none(), FILTERS),
    order_by=ORDERS,
    view=st.sampled_from(["ACTIVE_ONLY", "ALL"]),
    page_size=st.integers(1, 5),
)
def test_random_searches_match_the_sql(
    con: duckdb.DuckDBPyConnection,
    filter_string: str | None,
    order_by: list[str],
    view: str,
    page_size: int,
) -> None:
    try:
        index = build_index(con)
        whole = plan_search(["0", "1"], filter_string, order_by, run_view_type=view)
        if index.search(whole) is None:
            return
        both(con, index, whole)
        paged = plan_search(
            ["0", "1"], filter_string, order_by, run_view_type=view, max_results=page_size
        )
        token: str | None = None
        while True:
            _, token = both(con, index, paged, token)
            if token is None:
                break
    finally:
        con.close()
