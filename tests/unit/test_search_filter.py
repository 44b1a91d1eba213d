"""The run filter and order_by parser: MLflow's grammar, our extensions, error positions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runstream.errors import FilterParseError
from runstream.query.search.parser import MAX_FILTER_LENGTH, parse_filter, parse_order_by, quote
from runstream.query.search.syntax import (
    Aggregate,
    And,
    Compare,
    CompareOp,
    Expr,
    Field,
    InList,
    IsNull,
    Kind,
    Or,
    OrderKey,
)

# Filters in MLflow's own grammar, which MLflow 3.17 accepts and so do we.
MLFLOW_ACCEPTS = [
    "metrics.acc > 0.9",
    "metrics.acc > -1",
    "metrics.acc >= 1e5",
    "metrics.acc < 1E-5",
    "metrics.acc <= 1.5e3",
    "metrics.acc = .5",
    "metrics.acc != 1.",
    "metrics.acc>1",
    "metric.acc = 1",
    "`metrics`.acc = 1",
    "metrics.a.b.c > 1",
    "metrics.`a b` > 1",
    'metrics."a b" > 1',
    "metrics.'a b' > 1",
    "metrics.1x > 1",
    "metrics.é > 1",
    "metrics.x_y > 1",
    "params.y = 'a'",
    'params.y = "a"',
    "params.y != 'a'",
    "params.y like 'a%'",
    "params.y ILIKE 'A%'",
    "params.y = ''",
    "params.y IS NULL",
    "params.y is not null",
    "tags.y IS NOT NULL",
    "param.y = 'a'",
    "parameter.y = 'a'",
    "parameters.y = 'a'",
    "tag.y = 'a'",
    "tags.`mlflow.runName` = 'a'",
    "attribute.status = 'a'",
    "attr.status = 'a'",
    "run.status = 'a'",
    "status = 'FINISHED'",
    "run_id = 'abc'",
    "attributes.run_id IN ('a', 'b')",
    "attributes.run_id IN ('a')",
    "attributes.run_id IN ('a',)",
    "attributes.run_id in ('a','b')",
    'attributes.run_id IN ("a", "b")',
    "attributes.run_id NOT IN ('a','b')",
    "attributes.run_id not in ('a','b')",
    "attributes.start_time > 5",
    "attributes.start_time > 5.5",
    "attributes.end_time != 5",
    "attributes.created > 5",
    "attributes.Created > 5",
    "attributes.`run name` = 'x'",
    "attributes.\"run name\" = 'x'",
    "attributes.`Run Name` = 'x'",
    "`run name` = 'x'",
    "\"run name\" = 'x'",
    "attributes.run_name = 'x'",
    "attributes.user_id LIKE '%x'",
    "attributes.artifact_uri = 'x'",
    "metrics.x > 1 and params.y = 'a'",
    "metrics.x > 1 And params.y = 'a' AND tags.z != 'b'",
    "metrics.acc > 1e999",
]

# (filter, error position) that MLflow 3.17 rejects too.
MLFLOW_REJECTS = [
    ("metrics.acc > +1", 14),
    ("metrics.acc > 0x10", 15),
    ("metrics.acc > '1'", 14),
    ('metrics.acc = "1"', 14),
    ("metrics.acc LIKE 1", 12),
    ("metrics.acc IN ('1')", 12),
    ('"metrics".x > 1', 0),
    ("metrics .x > 1", 7),
    ("metrics.x >1AND params.y='a'", 12),
    ("metrics.x > 1 OR", 16),  # OR is ours, but it still needs a right side
    ("params.y = `a`", 11),
    ("params.y = a", 11),
    ("params.y = 1", 11),
    ("params.y > 'a'", 9),
    ("metrics.y IS NULL", 10),
    ("attributes.status IS NULL", 18),
    ("attributes.status IN ('a','b')", 18),
    ("attributes.run_id IN ()", 22),
    ("attributes.run_id IN (1, 2)", 22),
    ("attributes.start_time > '5'", 24),
    ("attributes.start_time LIKE 5", 22),
    ("attributes.lifecycle_stage > 'a'", 27),
    ("attributes.experiment_id = '1'", 11),
    ("attributes.foo = 'x'", 11),
    ("foo.x = 'a'", 0),
    ("Metrics.x = 1", 0),
    ("datasets.name = 'x'", 0),
    ("params.y = 'a'b'", 14),
    ("params.y = 'abc", 11),
    ("metrics.x > 1; metrics.y > 2", 13),
    ("metrics.x = = 1", 12),
    ("metrics.x 1", 10),
    ("metrics.x", 9),
    (">", 0),
    ("metrics.x-y > 1", 9),
    ("metrics.x/y > 1", 9),
    ("metrics.x$ > 1", 9),
    ("params.x == 'a'", 10),
    ("params.x <> 'a'", 9),
    ("metrics.x =< 1", 11),
    ("params.x NOT LIKE 'a'", 13),
    ("params.x IS 'a'", 12),
    ("params.x IS NOT 'a'", 16),
    ("'run name' = 'x'", 0),
]

# Runstream extensions and deliberate differences, with the tree we expect.
P_LR = Field(Kind.PARAM, "lr")
M_LOSS = Field(Kind.METRIC, "loss", Aggregate.LAST)
EXTENSIONS: list[tuple[str, Expr]] = [
    (
        "metrics.loss < 1 OR params.lr = '0.1' AND tags.t = 'x'",
        Or(
            (
                Compare(M_LOSS, CompareOp.LT, 1.0),
                And(
                    (
                        Compare(P_LR, CompareOp.EQ, "0.1"),
                        Compare(Field(Kind.TAG, "t"), CompareOp.EQ, "x"),
                    )
                ),
            )
        ),
    ),
    (
        "(metrics.loss < 1 or params.lr = '0.1') and ((tags.t = 'x'))",
        And(
            (
                Or((Compare(M_LOSS, CompareOp.LT, 1.0), Compare(P_LR, CompareOp.EQ, "0.1"))),
                Compare(Field(Kind.TAG, "t"), CompareOp.EQ, "x"),
            )
        ),
    ),
    (
        "(params.lr = 'a' OR params.lr = 'b') OR params.lr = 'c'",
        Or(tuple(Compare(P_LR, CompareOp.EQ, v) for v in "abc")),
    ),
    (
        "metrics.`loss`.min < 1",
        Compare(Field(Kind.METRIC, "loss", Aggregate.MIN), CompareOp.LT, 1.0),
    ),
    (
        'metrics."loss".MAX > 1',
        Compare(Field(Kind.METRIC, "loss", Aggregate.MAX), CompareOp.GT, 1.0),
    ),
    (
        "metrics.'loss'.count >= 3",
        Compare(Field(Kind.METRIC, "loss", Aggregate.COUNT), CompareOp.GE, 3.0),
    ),
    ("metrics.`loss`.last = 2", Compare(M_LOSS, CompareOp.EQ, 2.0)),
    # Unquoted: the whole rest is the key, exactly as MLflow reads it.
    (
        "metrics.loss.min < 1",
        Compare(Field(Kind.METRIC, "loss.min", Aggregate.LAST), CompareOp.LT, 1.0),
    ),
    ("params.lr IN ('a', 'b')", InList(P_LR, ("a", "b"))),
    ("tags.t NOT IN ('a')", InList(Field(Kind.TAG, "t"), ("a",), negated=True)),
    (
        "attributes.lifecycle_stage = 'deleted'",
        Compare(Field(Kind.ATTRIBUTE, "lifecycle_stage"), CompareOp.EQ, "deleted"),
    ),
    ("params.lr = 'it''s'", Compare(P_LR, CompareOp.EQ, "it's")),
    ("params.lr = 'it\\'s'", Compare(P_LR, CompareOp.EQ, "it's")),
    ('params.lr = "say ""hi"""', Compare(P_LR, CompareOp.EQ, 'say "hi"')),
    ("params.lr = 'C:\\dir\\\\'", Compare(P_LR, CompareOp.EQ, "C:\\dir\\")),
    ("params.`a``b` IS NULL", IsNull(Field(Kind.PARAM, "a`b"))),
    ("created >= 10", Compare(Field(Kind.ATTRIBUTE, "start_time"), CompareOp.GE, 10)),
    ("end_time < 1.5", Compare(Field(Kind.ATTRIBUTE, "end_time"), CompareOp.LT, 1.5)),
]

# Accepted by MLflow by accident of its tokenizer; rejected here on purpose.
STRICTER = [
    ("metrics.x > 1 AND", 17),
    ("AND metrics.x > 1", 0),
    ("metrics.x > 1 AND AND params.y = 'a'", 18),
    ("params.y = 'a' params.z = 'b'", 15),
    ("metrics. x > 1", 8),
    ("params.`` = 'a'", 7),
    ("params. = 'a'", 7),
    ("params.`a.b`.c = 'x'", 13),
    ("metrics.a.`b` > 1", 10),
    ("metrics.`loss`.avg > 1", 15),
    ("params.`lr`.min = 'a'", 12),
    ("(metrics.x > 1", 14),
    ("metrics.x > 1)", 13),
    ("()", 1),
]


def _leaves(expr: Expr) -> list[tuple[str, str, str, Any]]:
    """Flatten an AND-only tree into MLflow's (type, key, comparator, value) form."""
    names = {
        Kind.METRIC: "metric",
        Kind.PARAM: "parameter",
        Kind.TAG: "tag",
        Kind.ATTRIBUTE: "attribute",
    }
    if isinstance(expr, And):
        return [leaf for item in expr.items for leaf in _leaves(item)]
    assert not isinstance(expr, Or)
    kind, key = names[expr.field.kind], expr.field.key
    if isinstance(expr, Compare):
        return [(kind, key, expr.op.value, expr.value)]
    if isinstance(expr, InList):
        return [(kind, key, "NOT IN" if expr.negated else "IN", expr.values)]
    return [(kind, key, "IS NOT NULL" if expr.negated else "IS NULL", None)]


def _mlflow_leaves(text: str) -> list[tuple[str, str, str, Any]]:
    """Parse with MLflow and apply the comparator checks its SQL store applies."""
    search_utils = pytest.importorskip("mlflow.utils.search_utils")
    utils = search_utils.SearchUtils
    out = []
    for clause in utils.parse_search_filter(text):
        comparator = clause["comparator"].upper()
        key, kind, value = utils.translate_key_alias(clause["key"]), clause["type"], clause["value"]
        checks = (
            utils.is_metric(kind, comparator),
            utils.is_param(kind, comparator),
            utils.is_tag(kind, comparator),
            utils.is_string_attribute(kind, key, comparator),
            utils.is_numeric_attribute(kind, key, comparator),
        )
        if not any(checks):
            raise ValueError(f"unsupported type {kind}")
        out.append((kind, key, comparator, float(value) if kind == "metric" else value))
    return out


@pytest.mark.parametrize("text", MLFLOW_ACCEPTS)
def test_accepts_what_mlflow_accepts_with_the_same_meaning(text: str) -> None:
    expr = parse_filter(text)
    assert expr is not None
    assert _leaves(expr) == _mlflow_leaves(text)


@pytest.mark.parametrize(("text", "position"), MLFLOW_REJECTS)
def test_rejects_what_mlflow_rejects_at_the_right_position(text: str, position: int) -> None:
    with pytest.raises(FilterParseError) as info:
        parse_filter(text)
    assert info.value.position == position, str(info.value)
    assert info.value.expected
    assert f"position {position}" in str(info.value)
    with pytest.raises(Exception):  # noqa: B017 - MLflow's own exception type
        _mlflow_leaves(text)


@pytest.mark.parametrize(("text", "expected"), EXTENSIONS)
def test_extensions_parse_to_the_documented_tree(text: str, expected: Expr) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(("text", "position"), STRICTER)
def test_stricter_than_mlflow_where_it_accepts_by_accident(text: str, position: int) -> None:
    with pytest.raises(FilterParseError) as info:
        parse_filter(text)
    assert info.value.position == position, str(info.value)


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_filter_means_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


def test_errors_quote_the_problem_and_say_what_was_expected() -> None:
    with pytest.raises(FilterParseError) as info:
        parse_filter("metrics.acc LIKE '0.9%'")
    assert "'LIKE'" in str(info.value) and "metrics.acc" in str(info.value)
    assert info.value.expected == "!=, <, <=, =, >, >="
    with pytest.raises(FilterParseError) as info:
        parse_filter("params.lr = 'abc")
    assert info.value.expected == "a closing '" and "'abc" in str(info.value)


def test_positions_and_spacing_do_not_change_equality() -> None:
    assert parse_filter("metrics.acc>1 AND params.lr='a'") == parse_filter(
        '  metric.`acc`  >  1.0   and  param.lr = "a"'
    )


def test_hostile_sizes_fail_cleanly() -> None:
    with pytest.raises(FilterParseError, match="nested"):
        parse_filter("(" * 1000 + "metrics.a > 1" + ")" * 1000)
    with pytest.raises(FilterParseError, match="limit"):
        parse_filter("metrics.a > 1 AND " * (MAX_FILTER_LENGTH // 10))
    with pytest.raises(FilterParseError, match="comparisons"):
        parse_filter(" OR ".join(["metrics.a > 1"] * 300))


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        (["metrics.acc DESC"], [OrderKey(Field(Kind.METRIC, "acc", Aggregate.LAST), False)]),
        (["params.lr"], [OrderKey(P_LR, True)]),
        ("params.lr asc", [OrderKey(P_LR, True)]),
        (["attributes.start_time ASC"], [OrderKey(Field(Kind.ATTRIBUTE, "start_time"), True)]),
        (["created desc"], [OrderKey(Field(Kind.ATTRIBUTE, "start_time"), False)]),
        (
            ["tags.`a b` DESC", "metrics.`loss`.min"],
            [
                OrderKey(Field(Kind.TAG, "a b"), False),
                OrderKey(Field(Kind.METRIC, "loss", Aggregate.MIN), True),
            ],
        ),
        (None, []),
        ([], []),
    ],
)
def test_order_by_parses(clauses: list[str] | str | None, expected: list[OrderKey]) -> None:
    assert parse_order_by(clauses) == expected


@pytest.mark.parametrize(
    ("clauses", "position", "fragment"),
    [
        (["metrics.acc DOWN"], 12, "order_by[0]"),
        (["params.lr", "metrics.acc ASC DESC"], 16, "order_by[1]"),
        ([""], 0, "order_by[0]"),
        (["foo.x"], 0, "Unknown prefix"),
        (["metrics.acc", "metric.acc DESC"], 0, "already in order_by"),
        (["start_time", "created"], 0, "already in order_by"),
        (["metrics.acc > 1"], 12, "order_by[0]"),
    ],
)
def test_order_by_errors(clauses: list[str], position: int, fragment: str) -> None:
    with pytest.raises(FilterParseError) as info:
        parse_order_by(clauses)
    assert info.value.position == position and fragment in str(info.value)


# Pieces of the grammar, so random filters get past the first token often.
# fmt: off
GRAMMAR_BITS = st.sampled_from([
    "metrics.", "params.", "tags.", "attributes.", "`", "'", '"', "\\", ".", "(", ")", ",", " ",
    "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "=", "!=", "<", ">=", "1", "-", "e5", "min",
    "x", "run_id", "status", "é", "\x00",
])
# fmt: on


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(GRAMMAR_BITS, max_size=20).map("".join)))
def test_parsing_any_text_raises_only_filter_parse_errors(text: str) -> None:
    for parse in (parse_filter, parse_order_by):
        try:
            parse(text)
        except FilterParseError as exc:
            assert 0 <= exc.position <= len(text)
            assert exc.expected


@given(st.text(max_size=40), st.text(min_size=1, max_size=40), st.sampled_from(["'", '"']))
def test_quote_round_trips_any_value_and_key(value: str, key: str, char: str) -> None:
    expr = parse_filter(f"params.{quote(key, '`')} = {quote(value, char)}")
    assert expr == Compare(Field(Kind.PARAM, key), CompareOp.EQ, value)


def test_numbers_too_long_for_an_int_become_doubles() -> None:
    expr = parse_filter("attributes.start_time > " + "9" * 5000)
    assert isinstance(expr, Compare) and expr.value == math.inf
    expr = parse_filter("attributes.start_time > -12")
    assert isinstance(expr, Compare) and expr.value == -12 and isinstance(expr.value, int)
