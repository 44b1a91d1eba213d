"""Small pure pieces of the query side: experiment/registry filters, model URIs, paging."""

from __future__ import annotations

import pytest

from runstream.core.registry import Stage
from runstream.errors import FilterParseError, PageTokenError, ValidationError
from runstream.query.http.prometheus import RequestMetrics
from runstream.query.read.experiments import FIELDS, ORDER_COLUMNS
from runstream.query.read.model_uri import ModelUri, parse_model_uri
from runstream.query.search.paging import check_max_results, next_token, offset_from_token
from runstream.query.search.simple_filter import (
    Condition,
    compile_conditions,
    parse_simple_filter,
    parse_simple_order_by,
)

TAGS = "EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id AND {cond})"


def test_experiment_filter_compiles_to_parameters_only() -> None:
    conds = parse_simple_filter(
        "name LIKE 'vis%' AND tags.`team name` = 'cv' AND creation_time >= 10", FIELDS
    )
    assert conds == [
        Condition("name", "LIKE", "vis%"),
        Condition("tags", "=", "cv", "team name"),
        Condition("creation_time", ">=", 10),
    ]
    sql, params = compile_conditions(conds, FIELDS, TAGS)
    assert params == ["vis%", "team name", "cv", 10]
    assert "vis" not in sql and "team" not in sql


@pytest.mark.parametrize(
    "text",
    [
        "name",
        "name =",
        "name = vision",
        "name > 'a'",
        "creation_time = 'x'",
        "nope = 'x'",
        "name = 'a' OR name = 'b'",
        "name = 'a' AND",
        "tags.x IN 'a'",
        "'name' = 'x'",
        "name = 'a' name = 'b'",
        "experiment_id IN ('1',",
        "`unterminated",
    ],
)
def test_bad_filters_say_where(text: str) -> None:
    with pytest.raises(FilterParseError):
        parse_simple_filter(text, FIELDS)


def test_param_tests_only_where_the_caller_allows_them() -> None:
    with pytest.raises(FilterParseError):
        parse_simple_filter("params.lr = '0.1'", FIELDS)
    conds = parse_simple_filter("params.lr = '0.1' AND tags.lr = 'x'", FIELDS, params=True)
    assert conds == [Condition("params", "=", "0.1", "lr"), Condition("tags", "=", "x", "lr")]
    sql, params = compile_conditions(conds, FIELDS, TAGS, TAGS.replace("experiment_tags", "p"))
    assert "FROM p t" in sql and "FROM experiment_tags t" in sql
    assert params == ["lr", "0.1", "lr", "x"]


def test_in_lists_and_empty_filters() -> None:
    assert parse_simple_filter("  ", FIELDS) == []
    assert parse_simple_filter("experiment_id IN ('1', '2')", FIELDS) == [
        Condition("experiment_id", "IN", ("1", "2"))
    ]


def test_order_by() -> None:
    assert parse_simple_order_by(["name DESC"], ORDER_COLUMNS, ()) == [("e.name", False)]
    assert parse_simple_order_by(None, ORDER_COLUMNS, ("name",)) == [("e.name", True)]
    for bad in (["name SIDEWAYS"], ["name; DROP"], ["password"]):
        with pytest.raises(FilterParseError):
            parse_simple_order_by(bad, ORDER_COLUMNS, ())


@pytest.mark.parametrize(
    ("uri", "ref"),
    [
        ("models:/m/3", ModelUri("m", version=3)),
        ("models:/m/production", ModelUri("m", stage=Stage.PRODUCTION)),
        ("models:/m/None", ModelUri("m", stage=Stage.NONE)),
        ("models:/m/latest", ModelUri("m")),
        ("models:/m@champion", ModelUri("m", alias="champion")),
        ("models:/my%20model/1", ModelUri("my model", version=1)),
    ],
)
def test_model_uris(uri: str, ref: ModelUri) -> None:
    assert parse_model_uri(uri) == ref


@pytest.mark.parametrize(
    "uri",
    [
        "runs:/x/model",
        "models:/",
        "models:/m",
        "models:/m/0",
        "models:/m/Prod",
        "models:/a/b/c",
        "models:/@x",
        "models:/m@",
    ],
)
def test_bad_model_uris(uri: str) -> None:
    with pytest.raises(ValidationError):
        parse_model_uri(uri)


def test_offset_tokens_are_bound_to_their_query() -> None:
    token = next_token("q1", 0, 10, 11)
    assert token is not None and offset_from_token(token, "q1") == 10
    assert next_token("q1", 0, 10, 10) is None
    with pytest.raises(PageTokenError):
        offset_from_token(token, "q2")
    with pytest.raises(PageTokenError):
        offset_from_token("garbage!", "q1")


def test_max_results_bounds() -> None:
    assert check_max_results(None, 100, 1000) == 100
    for bad in (0, -1, 1001, True):
        with pytest.raises(ValidationError):
            check_max_results(bad, 100, 1000)


def test_prometheus_text_format() -> None:
    metrics = RequestMetrics()
    metrics.observe("/api/v1/runs/{run_id}", "GET", 200, 0.02)
    metrics.observe("/api/v1/runs/{run_id}", "GET", 404, 3.0)
    text = metrics.render([("runstream_lake_up", "Lake answered.", 1.0), ("skipped", "x", None)])
    assert (
        'runstream_http_requests_total{route="/api/v1/runs/{run_id}",method="GET",status="200"} 1'
        in text
    )
    assert 'le="0.025"} 1' in text and 'le="+Inf"} 2' in text
    assert "runstream_lake_up 1" in text and "skipped" not in text
    assert text.endswith("\n")
