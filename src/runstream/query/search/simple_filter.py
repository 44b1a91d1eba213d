"""MLflow's small filter language for experiments, registered models and versions.

MLflow searches these with a flat conjunction, not the full run grammar::

    filter  := comparison ( AND comparison )*
    comparison := field op value | field [NOT] IN ( 'a', 'b', ... )
    field   := attribute | tags.<key> | tag.<key>     (key bare or quoted)
    order_by := attribute [ ASC | DESC ]

Each caller passes the fields it allows (:class:`FieldSpec`: the SQL column
and the comparators it accepts) and a SQL template for tag tests. Tokens come
from :mod:`runstream.query.search.lexer`, so quoting rules match run search;
values and keys become ``?`` parameters, column names come only from the
caller's fixed map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runstream.errors import FilterParseError
from runstream.query.search.lexer import Token, TokKind, tokenize

STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
NUMBER_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_SQL_OPS = {
    "=": "=",
    "!=": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
}
_TAG_PREFIXES = frozenset({"tags", "tag"})
_PARAM_PREFIXES = frozenset({"params", "param"})
_METRIC_PREFIXES = frozenset({"metrics", "metric"})
MAX_CONDITIONS = 64


@dataclass(frozen=True)
class FieldSpec:
    """A filterable attribute.

    Attributes:
        column: the SQL expression it reads (fixed text from the caller, never user text).
        numeric: values are numbers (else quoted strings).
        ops: comparators allowed; ``IN`` / ``NOT IN`` when ``lists`` is set.
        lists: whether ``[NOT] IN (...)`` is allowed.
    """

    column: str
    numeric: bool = False
    ops: frozenset[str] = STRING_OPS
    lists: bool = False


@dataclass(frozen=True)
class Condition:
    """One parsed comparison; ``tag_key`` is set for tag (and param, metric) tests.

    ``field`` is ``tags`` for a tag test, ``params`` or ``metrics`` for the others.
    """

    field: str
    op: str
    value: Any
    tag_key: str | None = None


def _fail(token: Token, expected: str) -> FilterParseError:
    return FilterParseError(
        f"Expected {expected}, found {token.shown()} at position {token.position}",
        position=token.position,
        expected=expected,
    )


def parse_simple_filter(
    text: str | None,
    fields: Mapping[str, FieldSpec],
    *,
    tags: bool = True,
    params: bool = False,
    metrics: bool = False,
) -> list[Condition]:
    """Parse ``a = 'x' AND tags.k LIKE 'y%'`` into conditions (empty for no filter).

    With ``params``, ``params.<key>`` (or ``param.<key>``) is compared as tags are;
    with ``metrics``, ``metrics.<key>`` (or ``metric.<key>``) is compared with a number.

    Raises:
        FilterParseError: with the position and what was expected there.
    """
    if text is None or not text.strip():
        return []
    tokens = tokenize(text)
    index = 0
    names = ", ".join(sorted(fields)) + (", tags.<key>" if tags else "")
    names += ", params.<key>" if params else ""
    names += ", metrics.<key>" if metrics else ""
    conditions: list[Condition] = []
    while True:
        token = tokens[index]
        if token.kind is not TokKind.PATH or not token.segments or token.segments[0].quote == "'":
            raise _fail(token, f"a field: {names}")
        first, rest = token.segments[0], token.segments[1:]
        tag_key: str | None = None
        prefix = first.text.lower() if rest and not first.quote else ""
        kind = "params" if params and prefix in _PARAM_PREFIXES else "tags"
        kind = "metrics" if metrics and prefix in _METRIC_PREFIXES else kind
        if (tags and prefix in _TAG_PREFIXES) or kind != "tags":
            tag_key = rest[0].text if rest[0].quote else ".".join(s.text for s in rest)
            spec = (
                FieldSpec("t.value", numeric=True, ops=NUMBER_OPS)
                if kind == "metrics"
                else FieldSpec("t.value", ops=STRING_OPS, lists=True)
            )
        elif not rest and first.text in fields:
            spec = fields[first.text]
        else:
            raise _fail(token, f"a field: {names}")
        index += 1
        op_token = tokens[index]
        op = op_token.word or op_token.text
        if op == "NOT" and tokens[index + 1].word == "IN":
            index += 1
            op = "NOT IN"
        index += 1
        if op in ("IN", "NOT IN") and spec.lists:
            values, index = _parse_list(tokens, index)
            value: Any = values
        elif op in spec.ops:
            value = _parse_value(tokens[index], spec)
            index += 1
        else:
            allowed = sorted(spec.ops | ({"IN", "NOT IN"} if spec.lists else set()))
            raise _fail(op_token, f"one of {', '.join(allowed)} after {token.text}")
        conditions.append(Condition(first.text if tag_key is None else kind, op, value, tag_key))
        if len(conditions) > MAX_CONDITIONS:
            raise _fail(token, f"at most {MAX_CONDITIONS} comparisons")
        if tokens[index].kind is TokKind.EOF:
            return conditions
        if tokens[index].word != "AND":
            raise _fail(tokens[index], "AND or the end of the filter")
        index += 1


def _parse_value(token: Token, spec: FieldSpec) -> Any:
    if spec.numeric:
        if token.kind is not TokKind.NUMBER:
            raise _fail(token, "a number")
        number = float(token.text)
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    segments = token.segments
    if token.kind is TokKind.PATH and len(segments) == 1 and segments[0].quote in ("'", '"'):
        return segments[0].text
    raise _fail(token, "a quoted string")


def _parse_list(tokens: list[Token], index: int) -> tuple[tuple[str, ...], int]:
    if tokens[index].kind is not TokKind.LPAREN:
        raise _fail(tokens[index], "'(' and a list of quoted strings")
    index += 1
    values: list[str] = []
    while True:
        token = tokens[index]
        if token.kind is TokKind.PATH and len(token.segments) == 1 and token.segments[0].quote:
            values.append(token.segments[0].text)
        else:
            raise _fail(token, "a quoted string")
        index += 1
        if tokens[index].kind is TokKind.RPAREN:
            return tuple(values), index + 1
        if tokens[index].kind is not TokKind.COMMA:
            raise _fail(tokens[index], "',' or ')'")
        index += 1


def compile_conditions(
    conditions: Sequence[Condition],
    fields: Mapping[str, FieldSpec],
    tag_exists: str,
    param_exists: str | None = None,
    metric_exists: str | None = None,
) -> tuple[str, list[Any]]:
    """Render conditions as one SQL boolean expression with ``?`` parameters.

    Args:
        conditions: from :func:`parse_simple_filter`.
        fields: the same field map.
        tag_exists: SQL with one ``{cond}`` placeholder, testing tag rows aliased ``t``
            (e.g. ``EXISTS (SELECT 1 FROM experiment_tags t WHERE ... AND {cond})``).
    """
    parts: list[str] = []
    params: list[Any] = []
    for cond in conditions:
        if cond.tag_key is not None:
            params.append(cond.tag_key)
            test = _test('t."value"', cond, params)
            template = {"params": param_exists, "metrics": metric_exists}.get(cond.field)
            template = template or tag_exists
            parts.append(template.format(cond='t."key" = ? AND ' + test))
            continue
        parts.append(_test(fields[cond.field].column, cond, params))
    return (" AND ".join(parts) or "TRUE"), params


def _test(column: str, cond: Condition, params: list[Any]) -> str:
    if cond.op in ("IN", "NOT IN"):
        params.extend(cond.value)
        marks = ", ".join("?" * len(cond.value))
        return f"{column} {'NOT ' if cond.op == 'NOT IN' else ''}IN ({marks})"
    params.append(cond.value)
    return f"{column} {_SQL_OPS[cond.op]} ?"


def parse_simple_order_by(
    clauses: Sequence[str] | None, columns: Mapping[str, str], default: Sequence[str]
) -> list[tuple[str, bool]]:
    """Parse ``["name ASC", "creation_time DESC"]`` into ``(column SQL, ascending)`` pairs.

    Raises:
        FilterParseError: an unknown field or direction.
    """
    out: list[tuple[str, bool]] = []
    for clause in list(clauses or []) or list(default):
        if not isinstance(clause, str):
            raise FilterParseError(f"order_by entries must be strings, got {clause!r}")
        words = clause.split()
        if not 1 <= len(words) <= 2 or words[0] not in columns:
            raise FilterParseError(
                f"Invalid order_by clause {clause!r}",
                expected="one of " + ", ".join(sorted(columns)) + " [ASC|DESC]",
            )
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise FilterParseError(
                f"Invalid order_by direction in {clause!r}", expected="ASC or DESC"
            )
        out.append((columns[words[0]], direction == "ASC"))
    return out


__all__ = [
    "NUMBER_OPS",
    "STRING_OPS",
    "Condition",
    "FieldSpec",
    "compile_conditions",
    "parse_simple_filter",
    "parse_simple_order_by",
]
