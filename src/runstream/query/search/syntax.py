"""Typed syntax tree of the run-search language, and its vocabulary.

:mod:`runstream.query.search.parser` builds these nodes from text;
:mod:`runstream.query.search.sql` turns them into SQL. Nodes are frozen and
compare without their source positions, so two filters that differ only in
spacing or in the alias they use (``metric.`` / ``metrics.``) are equal and
hash to the same page-token fingerprint.

::

    Expr = Compare | InList | IsNull | And | Or
    Compare(field, op, value)         metrics.acc > 0.9, params.lr = '0.1'
    InList(field, values, negated)    tags.team IN ('a', 'b')
    IsNull(field, negated)            params.seed IS NOT NULL
    And(items) / Or(items)            two or more sub-expressions
"""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass

__all__ = [
    "ATTRIBUTE_ALIASES",
    "NUMERIC_ATTRIBUTES",
    "PREFIXES",
    "Aggregate",
    "And",
    "Compare",
    "CompareOp",
    "Expr",
    "Field",
    "InList",
    "IsNull",
    "Kind",
    "Or",
    "OrderKey",
    "allowed_ops",
]


class Kind(enum.Enum):
    """What a field names: a run's metric, param, tag, or a column of ``runs``."""

    METRIC = "metric"
    PARAM = "param"
    TAG = "tag"
    ATTRIBUTE = "attribute"


class Aggregate(enum.Enum):
    """Which summary of a metric a field reads (``latest_metrics`` columns)."""

    LAST = "last"
    MIN = "min"
    MAX = "max"
    COUNT = "count"


class CompareOp(enum.Enum):
    """A binary comparator with one value on its right."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"


# Attribute names as written by users -> canonical ``runs`` column names.
# ``created`` and the ``run name`` spellings are MLflow's aliases;
# ``lifecycle_stage`` is a Runstream extension (MLflow filters it only
# through run_view_type).
ATTRIBUTE_ALIASES: dict[str, str] = {
    "run_id": "run_id",
    "run_name": "run_name",
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
    "status": "status",
    "start_time": "start_time",
    "created": "start_time",
    "Created": "start_time",
    "end_time": "end_time",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "lifecycle_stage": "lifecycle_stage",
}

_BARE_KEY = re.compile(r"\w+(?:\.\w+)*")

# Field prefixes MLflow accepts (bare or in backticks) -> what they name.
PREFIXES: dict[str, Kind] = {
    "metric": Kind.METRIC,
    "metrics": Kind.METRIC,
    "param": Kind.PARAM,
    "params": Kind.PARAM,
    "parameter": Kind.PARAM,
    "parameters": Kind.PARAM,
    "tag": Kind.TAG,
    "tags": Kind.TAG,
    "attribute": Kind.ATTRIBUTE,
    "attributes": Kind.ATTRIBUTE,
    "attr": Kind.ATTRIBUTE,
    "run": Kind.ATTRIBUTE,
}
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})

# MLflow lets only run_id be compared with a list; we keep that rule.
_LIST_ATTRIBUTES = frozenset({"run_id"})

_NUMERIC_OPS = frozenset(
    {CompareOp.EQ, CompareOp.NE, CompareOp.LT, CompareOp.LE, CompareOp.GT, CompareOp.GE}
)
_STRING_OPS = frozenset({CompareOp.EQ, CompareOp.NE, CompareOp.LIKE, CompareOp.ILIKE})


@dataclass(frozen=True)
class Field:
    """A searchable or sortable quantity of a run.

    Attributes:
        kind: metric, param, tag or attribute.
        key: the metric / param / tag key, or the canonical ``runs`` column name.
        aggregate: for metrics, which summary is read; ``None`` for other kinds.
    """

    kind: Kind
    key: str
    aggregate: Aggregate | None = None

    @property
    def is_numeric(self) -> bool:
        """Whether values of this field are numbers (metrics, start/end time)."""
        return self.kind is Kind.METRIC or (
            self.kind is Kind.ATTRIBUTE and self.key in NUMERIC_ATTRIBUTES
        )

    @property
    def allows_lists(self) -> bool:
        """Whether ``IN`` / ``NOT IN`` apply (params, tags, and MLflow's run_id)."""
        return self.kind in (Kind.PARAM, Kind.TAG) or (
            self.kind is Kind.ATTRIBUTE and self.key in _LIST_ATTRIBUTES
        )

    @property
    def allows_null_test(self) -> bool:
        """Whether ``IS NULL`` / ``IS NOT NULL`` apply (params and tags only, as MLflow)."""
        return self.kind in (Kind.PARAM, Kind.TAG)

    def describe(self) -> str:
        """Render the field in canonical filter syntax, for messages."""
        if self.kind is Kind.ATTRIBUTE:
            return f"attributes.{self.key}"
        suffix = ""
        if self.aggregate is not None and self.aggregate is not Aggregate.LAST:
            suffix = f".{self.aggregate.value}"
        key = self.key
        # An aggregate suffix is only read after a quoted key, so quote then too.
        if suffix or not _BARE_KEY.fullmatch(key):
            key = "`" + key.replace("`", "``") + "`"
        return f"{self.kind.value}s.{key}{suffix}"


def allowed_ops(fld: Field) -> frozenset[CompareOp]:
    """Return the binary comparators MLflow allows on ``fld``."""
    return _NUMERIC_OPS if fld.is_numeric else _STRING_OPS


@dataclass(frozen=True)
class Compare:
    """``field op value``; value is ``float`` for metrics, ``int | float`` for times."""

    field: Field
    op: CompareOp
    value: str | int | float
    position: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class InList:
    """``field IN (values)`` or, when negated, ``field NOT IN (values)``."""

    field: Field
    values: tuple[str, ...]
    negated: bool = False
    position: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class IsNull:
    """``field IS NULL`` (no such key on the run) or, when negated, ``IS NOT NULL``."""

    field: Field
    negated: bool = False
    position: int = dataclasses.field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    """All of two or more sub-expressions hold."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one of two or more sub-expressions holds."""

    items: tuple[Expr, ...]


Expr = Compare | InList | IsNull | And | Or


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` clause: a field and a direction."""

    field: Field
    ascending: bool = True
