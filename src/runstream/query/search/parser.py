"""Parser of MLflow's run filter and order_by language, plus OR, parentheses and aggregates.

Grammar (keywords case-insensitive; tokens as in :mod:`.search_lexer`)::

    filter     := [ or_expr ] EOF                 empty or blank text: no filter
    or_expr    := and_expr ( OR and_expr )*       extension: OR
    and_expr   := primary ( AND primary )*        AND binds tighter than OR
    primary    := "(" or_expr ")" | comparison    extension: parentheses
    comparison := field op value
                | field [NOT] IN "(" string ( "," string )* [","] ")"
                | field IS [NOT] NULL
    field      := prefix "." key [ "." aggregate ] | attribute
    order_by   := field [ ASC | DESC ]            one string per clause

Prefixes (bare or in backticks): ``metrics``/``metric``, ``params``/``param``/
``parameters``/``parameter``, ``tags``/``tag``, ``attributes``/``attribute``/
``attr``/``run``. A field without a prefix is an attribute. Attributes:
``run_id``, ``run_name`` (also "run name", "Run name", "Run Name", quoted),
``status``, ``start_time`` (also ``created``, ``Created``), ``end_time``,
``user_id``, ``artifact_uri``, and ``lifecycle_stage`` (extension).

A key is either everything after the prefix's dot, bare words joined by dots
(``metrics.val.loss`` is the metric ``val.loss``, as in MLflow), or one quoted
segment, in backticks, double or single quotes (``metrics."my key"``).

Values and comparators, as MLflow:

- metrics, ``start_time``, ``end_time``: ``= != < <= > >=`` against a number.
- params, tags: ``= != LIKE ILIKE`` against a quoted string, ``IS [NOT] NULL``,
  and (extension) ``[NOT] IN`` a list of quoted strings.
- other attributes: ``= != LIKE ILIKE``; ``run_id`` also ``[NOT] IN``.

Extension, metric aggregates: after a *quoted* metric key, a suffix ``.min``,
``.max``, ``.count`` or ``.last`` (case-insensitive) reads that summary of the
metric instead of its latest value (``.last``, the default). An unquoted key
never has a suffix: ``metrics.loss.min`` stays the metric named ``loss.min``,
exactly as in MLflow. Suffixes work in order_by too::

    metrics.`loss`.min < 0.1
    metrics."loss".count >= 100 OR metrics.'val/acc'.max > 0.9
    order_by=["metrics.`loss`.min ASC"]

Stricter than MLflow (its sqlparse-based parser accepts these by accident):
a dangling, doubled or missing ``AND`` (``a = 1 AND``, ``a = 1 b = 2``), a space
after the prefix's dot (``metrics. x``), an empty key, and a quoted key part
after a bare one. MLflow's ``datasets.`` fields are not supported. Inside
quotes, a doubled quote or a backslash-escaped one stands for the quote itself
(MLflow keeps both spellings verbatim, so such values never matched);
:func:`quote` writes any text as a value or key.
"""

from __future__ import annotations

from collections.abc import Sequence

from runstream.errors import FilterParseError
from runstream.query.search.lexer import Segment, Token, TokKind, iter_tokens, quote
from runstream.query.search.syntax import (
    ATTRIBUTE_ALIASES,
    PREFIXES,
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
    allowed_ops,
)

__all__ = [
    "MAX_COMPARISONS",
    "MAX_FILTER_LENGTH",
    "MAX_ORDER_BY",
    "parse_filter",
    "parse_order_by",
    "quote",
]

MAX_FILTER_LENGTH = 262_144
MAX_COMPARISONS = 256
MAX_ORDER_BY = 32
# Parentheses recurse; the cap keeps hostile input far from Python's stack limit.
_MAX_DEPTH = 32

_OPS = {op.value: op for op in CompareOp}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})
_FIELD_HELP = "a field such as metrics.acc, params.lr, tags.team or attributes.status"


def parse_filter(text: str | None) -> Expr | None:
    """Parse a run filter; ``None`` for an empty or blank filter.

    Raises:
        FilterParseError: with the 0-based ``position`` of the problem and what
            was ``expected`` there.
    """
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterParseError(
            f"Filter is {len(text)} characters long; the limit is {MAX_FILTER_LENGTH}",
            position=MAX_FILTER_LENGTH,
            expected="a shorter filter",
        )
    parser = _Parser(text)
    expr = parser.parse_or()
    parser.expect_end("AND, OR or the end of the filter")
    return expr


def parse_order_by(clauses: Sequence[str] | str | None) -> list[OrderKey]:
    """Parse order_by clauses such as ``metrics.acc DESC`` or ``params.lr``.

    Raises:
        FilterParseError: naming the clause's index; ``position`` is inside that clause.
    """
    if clauses is None:
        return []
    if isinstance(clauses, str):
        clauses = [clauses]
    if len(clauses) > MAX_ORDER_BY:
        raise FilterParseError(
            f"order_by has {len(clauses)} clauses; the limit is {MAX_ORDER_BY}",
            expected="fewer order_by clauses",
        )
    keys: list[OrderKey] = []
    for index, clause in enumerate(clauses):
        try:
            key = _parse_order_clause(clause)
        except FilterParseError as exc:
            raise FilterParseError(
                f"order_by[{index}] {clause!r}: {exc}", position=exc.position, expected=exc.expected
            ) from exc
        if any(k.field == key.field for k in keys):
            raise FilterParseError(
                f"order_by[{index}] {clause!r}: {key.field.describe()} is already in order_by",
                position=0,
                expected="each field at most once",
            )
        keys.append(key)
    return keys


def _parse_order_clause(clause: str) -> OrderKey:
    """Parse one ``field [ASC|DESC]`` clause."""
    if not isinstance(clause, str):
        raise FilterParseError(f"expected a string, got {type(clause).__name__}", expected="text")
    if len(clause) > MAX_FILTER_LENGTH:
        raise FilterParseError(
            f"clause is longer than {MAX_FILTER_LENGTH} characters",
            position=MAX_FILTER_LENGTH,
            expected="a shorter clause",
        )
    parser = _Parser(clause)
    fld = parser.parse_field(parser.advance())
    ascending = True
    if parser.peek().word in ("ASC", "DESC"):
        ascending = parser.advance().word == "ASC"
    parser.expect_end("ASC, DESC or the end of the clause")
    return OrderKey(fld, ascending)


class _Parser:
    """Recursive-descent parser over one token list."""

    def __init__(self, text: str) -> None:
        self.tokens = iter_tokens(text)
        self.lookahead: Token | None = None
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> Token:
        if self.lookahead is None:
            self.lookahead = next(self.tokens)
        return self.lookahead

    def advance(self) -> Token:
        token = self.peek()
        if token.kind is not TokKind.EOF:
            self.lookahead = None
        return token

    def fail(self, token: Token, expected: str, problem: str = "") -> FilterParseError:
        """Build the error for ``token``: what was expected, and what was found."""
        message = problem or f"Expected {expected}, found {token.shown()}"
        return FilterParseError(
            f"{message} at position {token.position}", position=token.position, expected=expected
        )

    def expect_end(self, expected: str) -> None:
        token = self.peek()
        if token.kind is not TokKind.EOF:
            raise self.fail(token, expected)

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.peek().word == "OR":
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(_flatten(items, Or))

    def parse_and(self) -> Expr:
        items = [self.parse_primary()]
        while self.peek().word == "AND":
            self.advance()
            items.append(self.parse_primary())
        return items[0] if len(items) == 1 else And(_flatten(items, And))

    def parse_primary(self) -> Expr:
        token = self.advance()
        if token.kind is not TokKind.LPAREN:
            return self.parse_comparison(token)
        if self.depth >= _MAX_DEPTH:
            raise self.fail(token, "fewer nested parentheses", f"More than {_MAX_DEPTH} nested '('")
        self.depth += 1
        expr = self.parse_or()
        self.depth -= 1
        closing = self.advance()
        if closing.kind is not TokKind.RPAREN:
            raise self.fail(closing, f"')' to close the '(' at position {token.position}")
        return expr

    def parse_comparison(self, token: Token) -> Expr:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise self.fail(token, "fewer comparisons", f"More than {MAX_COMPARISONS} comparisons")
        fld = self.parse_field(token)
        op_token = self.advance()
        word = op_token.word
        if op_token.kind is TokKind.OP or word in ("LIKE", "ILIKE"):
            op = _OPS[word or op_token.text]
            if op not in allowed_ops(fld):
                raise self.fail(op_token, _ops_text(fld), _not_allowed(op_token, fld))
            return Compare(fld, op, self.parse_value(fld), token.position)
        if word == "NOT" and self.peek().word == "IN":
            self.advance()
            word = "NOT IN"
        if word in ("IN", "NOT IN"):
            if not fld.allows_lists:
                raise self.fail(op_token, _ops_text(fld), _not_allowed(op_token, fld))
            return InList(fld, self.parse_list(), word == "NOT IN", token.position)
        if word == "IS":
            negated = self.peek().word == "NOT"
            if negated:
                self.advance()
            null = self.advance()
            if null.word != "NULL":
                raise self.fail(null, "NULL" if negated else "NULL or NOT NULL")
            if not fld.allows_null_test:
                problem = f"IS [NOT] NULL applies to params and tags only, not {fld.describe()}"
                raise self.fail(op_token, _ops_text(fld), problem)
            return IsNull(fld, negated, token.position)
        if word == "NOT":
            raise self.fail(self.peek(), "IN after NOT")
        raise self.fail(op_token, f"a comparator after {fld.describe()}: {_ops_text(fld)}")

    def parse_field(self, token: Token) -> Field:
        """Resolve a path token to a :class:`Field` (prefix, key, aggregate)."""
        if token.kind is not TokKind.PATH or token.word in _KEYWORDS:
            raise self.fail(token, _FIELD_HELP)
        first, rest = token.segments[0], token.segments[1:]
        if not rest:
            if first.quote == "'":
                raise self.fail(token, _FIELD_HELP, f"Expected {_FIELD_HELP}, found a string")
            if not first.quote and first.text in PREFIXES:
                end = token.position + len(token.text)
                raise FilterParseError(
                    f"Expected '.' and a key right after {first.text!r} at position {end}",
                    position=end,
                    expected=f"{first.text}.<key> with no space around the dot",
                )
            return self._attribute(first.text, first.position)
        if first.quote not in ("", "`") or first.text not in PREFIXES:
            problem = f"Unknown prefix {first.text!r}" + (
                " (datasets are not searchable in Runstream)" if "dataset" in first.text else ""
            )
            raise FilterParseError(
                f"{problem} at position {first.position}",
                position=first.position,
                expected="metrics., params., tags. or attributes.",
            )
        kind = PREFIXES[first.text]
        key, aggregate = _key_and_aggregate(kind, rest)
        if kind is Kind.ATTRIBUTE:
            return self._attribute(key, rest[0].position)
        return Field(kind, key, aggregate)

    def _attribute(self, name: str, position: int) -> Field:
        column = ATTRIBUTE_ALIASES.get(name)
        if column is None:
            raise FilterParseError(
                f"Unknown attribute {name!r} at position {position}",
                position=position,
                expected="one of " + ", ".join(sorted(set(ATTRIBUTE_ALIASES.values()))),
            )
        return Field(Kind.ATTRIBUTE, column)

    def parse_value(self, fld: Field) -> str | int | float:
        token = self.advance()
        if fld.is_numeric:
            if token.kind is not TokKind.NUMBER:
                raise self.fail(token, f"a number for {fld.describe()}")
            # Beyond 18 digits an int may not fit BIGINT (or even Python's int() digit
            # limit); a double compares with the BIGINT time columns just as well.
            digits = token.text.removeprefix("-")
            if fld.kind is Kind.METRIC or len(digits) > 18 or not digits.isdigit():
                return float(token.text)
            return int(token.text)
        return self._string(token, f"for {fld.describe()}")

    def _string(self, token: Token, what: str) -> str:
        segments = token.segments
        if token.kind is TokKind.PATH and len(segments) == 1 and segments[0].quote in ("'", '"'):
            return segments[0].text
        raise self.fail(token, f"a quoted string {what} (single or double quotes)")

    def parse_list(self) -> tuple[str, ...]:
        opening = self.advance()
        if opening.kind is not TokKind.LPAREN:
            raise self.fail(opening, "'(' and a list of quoted strings")
        values: list[str] = []
        while True:
            token = self.advance()
            if token.kind is TokKind.RPAREN and values:
                return tuple(values)
            if token.kind is TokKind.RPAREN:
                raise self.fail(token, "at least one quoted string in the list")
            values.append(self._string(token, "in the list"))
            separator = self.advance()
            if separator.kind is TokKind.RPAREN:
                return tuple(values)
            if separator.kind is not TokKind.COMMA:
                raise self.fail(separator, "',' or ')' in the list")


def _key_and_aggregate(kind: Kind, rest: tuple[Segment, ...]) -> tuple[str, Aggregate | None]:
    """Read the key segments after the prefix, and a metric's aggregate suffix."""
    aggregate = Aggregate.LAST if kind is Kind.METRIC else None
    if rest[0].quote:
        key, tail = rest[0].text, rest[1:]
        if tail:
            suffix = tail[0]
            names = {a.value for a in Aggregate}
            if kind is not Kind.METRIC or len(tail) > 1 or suffix.text.lower() not in names:
                why = "" if kind is Kind.METRIC else " (aggregate suffixes apply to metrics only)"
                raise FilterParseError(
                    f"Unexpected {'.'.join(s.text for s in tail)!r} after the quoted key at "
                    f"position {suffix.position}{why}",
                    position=suffix.position,
                    expected="one of min, max, count, last after a quoted metric key",
                )
            aggregate = Aggregate(suffix.text.lower())
    else:
        quoted = next((s for s in rest if s.quote), None)
        if quoted is not None:
            raise FilterParseError(
                f"Quoted part inside a bare key at position {quoted.position}",
                position=quoted.position,
                expected="one quoted key for the whole key, e.g. params.`a.b c`",
            )
        key = ".".join(s.text for s in rest)
    if not key:
        raise FilterParseError(
            f"Empty key at position {rest[0].position}",
            position=rest[0].position,
            expected="a non-empty key",
        )
    return key, aggregate


def _flatten(items: list[Expr], node: type[And] | type[Or]) -> tuple[Expr, ...]:
    """Splice children of the same node type, so (a OR b) OR c == a OR b OR c."""
    out: list[Expr] = []
    for item in items:
        out.extend(item.items if isinstance(item, node) else (item,))
    return tuple(out)


def _ops_text(fld: Field) -> str:
    ops = sorted(op.value for op in allowed_ops(fld))
    extra = (["IN", "NOT IN"] if fld.allows_lists else []) + (
        ["IS NULL", "IS NOT NULL"] if fld.allows_null_test else []
    )
    return ", ".join(ops + extra)


def _not_allowed(op_token: Token, fld: Field) -> str:
    allowed = _ops_text(fld)
    return f"Comparator {op_token.text!r} is not allowed on {fld.describe()} (allowed: {allowed})"
