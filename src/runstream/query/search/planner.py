"""Plan a run search: validate MLflow's ``search_runs`` arguments, decode its cursor.

Use::

    plan = plan_search(["0"], "metrics.acc > 0.9", ["metrics.acc DESC"], max_results=100)
    cursor = plan.cursor(page_token)        # None on the first page
    page = index.search(plan, cursor) or SqlSearch(fetch).search(plan, cursor)

A plan is executed by an :class:`Executor`: the in-memory run index
(:mod:`.index`) answers ``None`` for what it does not evaluate exactly like the
SQL, and the SQL executor (:mod:`.sql`) answers everything. Both follow the rules
of :mod:`.sql`'s docstring, return the same pages, and issue the same page
tokens (a token from one continues on the other).

A page token is decoded once, here, into a :class:`Cursor` that every executor
trusts:

1. the token is one this server issued, for a search with the same
   fingerprint (experiments, filter, sort keys, view type), else
   :class:`~runstream.errors.PageTokenError`;
2. it holds one ``(rank, value)`` pair per sort key and the last run id;
3. each rank is in range for its key (metrics rank NaN as 1 and missing as 2;
   other keys rank missing as 1), and the value is None exactly when the rank
   is not 0, of the key's type otherwise.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from runstream.errors import PageTokenError, ValidationError
from runstream.query.records import Page
from runstream.query.search.page_token import decode_page_token, encode_page_token, fingerprint
from runstream.query.search.parser import parse_filter, parse_order_by
from runstream.query.search.syntax import Expr, Field, Kind, OrderKey

__all__ = [
    "MAX_RESULTS_DEFAULT",
    "MAX_RESULTS_LIMIT",
    "Cursor",
    "Executor",
    "RunSearch",
    "ViewType",
    "plan_search",
]

MAX_RESULTS_DEFAULT = 1000
MAX_RESULTS_LIMIT = 50_000

_DEFAULT_KEY = OrderKey(Field(Kind.ATTRIBUTE, "start_time"), ascending=False)


class ViewType(enum.Enum):
    """Which lifecycle stages a search returns (MLflow's run_view_type)."""

    ACTIVE_ONLY = ("active",)
    DELETED_ONLY = ("deleted",)
    ALL = ("active", "deleted")


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its last row's sort values and run id.

    Attributes:
        pairs: one ``(rank, value)`` per sort key; value is None unless rank is 0.
        run_id: the last run id sent (the final tie-breaker).
    """

    pairs: tuple[tuple[int, Any], ...]
    run_id: str


@dataclass(frozen=True)
class RunSearch:
    """A validated run search: what to match, in which order, how many per page."""

    experiment_ids: tuple[str, ...]
    filter: Expr | None
    order_by: tuple[OrderKey, ...]
    view_type: ViewType
    max_results: int
    caller: str = ""

    def restricted(self, readable: Callable[[str], bool], caller: str) -> RunSearch:
        """The same search over only the experiments ``readable`` allows, for ``caller``.

        Access control happens here, before any executor runs: a hidden
        experiment's runs are outside the search, so no filter, order, count or
        page can reach them; and the caller is part of the fingerprint, so a page
        token minted for one caller is refused for another.
        """
        kept = tuple(e for e in self.experiment_ids if readable(e))
        return dataclasses.replace(self, experiment_ids=kept, caller=caller)

    @property
    def sort_keys(self) -> tuple[OrderKey, ...]:
        """The order_by keys plus MLflow's ``start_time DESC`` unless already present."""
        if any(k.field == _DEFAULT_KEY.field for k in self.order_by):
            return self.order_by
        return (*self.order_by, _DEFAULT_KEY)

    @property
    def fingerprint(self) -> str:
        """Hash of what decides the result order; page size may change between pages."""
        parts: tuple[object, ...] = (
            self.experiment_ids, self.filter, self.sort_keys, self.view_type.name
        )
        # Without access control the caller is empty, and tokens stay as they were.
        canonical = repr((*parts, self.caller) if self.caller else parts)
        return fingerprint(canonical)

    def cursor(self, page_token: str | None) -> Cursor | None:
        """Decode and check ``page_token`` (rules 1-3); None without a token.

        Raises:
            PageTokenError: the token was not issued for this search, or was forged.
        """
        if not page_token:
            return None
        return _check_cursor(self.sort_keys, decode_page_token(page_token, self.fingerprint))

    def next_page_token(self, pairs: Sequence[Sequence[Any]], run_id: str) -> str:
        """The token of the page after a row with these sort ``pairs`` and ``run_id``."""
        cursor = {"k": [[rank, value] for rank, value in pairs], "id": run_id}
        return encode_page_token(self.fingerprint, cursor)


class Executor(Protocol):
    """Something that answers a planned search, one page at a time."""

    def search(self, plan: RunSearch, cursor: Cursor | None = None) -> Page[str] | None:
        """One page of matching run ids in search order, or None when it cannot serve it."""
        ...


def plan_search(
    experiment_ids: Sequence[str | int] | str | int,
    filter_string: str | None = None,
    order_by: Sequence[str] | str | None = None,
    run_view_type: ViewType | str | int = ViewType.ACTIVE_ONLY,
    max_results: int | None = MAX_RESULTS_DEFAULT,
) -> RunSearch:
    """Parse and validate the arguments of MLflow's ``search_runs``.

    Raises:
        FilterParseError: if the filter or an order_by clause does not parse.
        ValidationError: for a bad view type, max_results or experiment id.
    """
    if isinstance(experiment_ids, str | int):
        experiment_ids = [experiment_ids]
    ids: set[str] = set()
    for exp_id in experiment_ids:
        if isinstance(exp_id, bool) or not isinstance(exp_id, str | int):
            raise ValidationError(f"Experiment ids must be strings, got {exp_id!r}")
        ids.add(str(exp_id))
    return RunSearch(
        experiment_ids=tuple(sorted(ids)),
        filter=parse_filter(filter_string),
        order_by=tuple(parse_order_by(order_by)),
        view_type=_view_type(run_view_type),
        max_results=_max_results(max_results),
    )


def _view_type(value: ViewType | str | int) -> ViewType:
    if isinstance(value, ViewType):
        return value
    # MLflow's protobuf enum numbers, as its REST clients send them.
    by_number = {1: ViewType.ACTIVE_ONLY, 2: ViewType.DELETED_ONLY, 3: ViewType.ALL}
    if isinstance(value, int) and not isinstance(value, bool) and value in by_number:
        return by_number[value]
    if isinstance(value, str) and value.upper() in ViewType.__members__:
        return ViewType[value.upper()]
    raise ValidationError(
        f"Invalid run_view_type {value!r}; expected ACTIVE_ONLY, DELETED_ONLY or ALL"
    )


def _max_results(value: int | None) -> int:
    if value is None:
        return MAX_RESULTS_DEFAULT
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"max_results must be an integer, got {value!r}")
    if not 1 <= value <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            f"Invalid value {value} for max_results; it must be between 1 and {MAX_RESULTS_LIMIT}"
        )
    return value


def _check_cursor(keys: Sequence[OrderKey], cursor: Any) -> Cursor:
    """Rules 2 and 3: the decoded cursor fits ``keys``."""
    bad = PageTokenError("Invalid page token: its cursor does not fit this query")
    if not isinstance(cursor, dict) or set(cursor) != {"k", "id"}:
        raise bad
    pairs, run_id = cursor["k"], cursor["id"]
    if not isinstance(run_id, str) or not isinstance(pairs, list) or len(pairs) != len(keys):
        raise bad
    out: list[tuple[int, Any]] = []
    for key, pair in zip(keys, pairs, strict=True):
        if not isinstance(pair, list) or len(pair) != 2:
            raise bad
        rank, value = pair
        max_rank = 2 if key.field.kind is Kind.METRIC else 1
        if type(rank) is not int or not 0 <= rank <= max_rank or (rank == 0) == (value is None):
            raise bad
        numeric = key.field.is_numeric
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float) if numeric else str)
        ):
            raise bad
        out.append((rank, value))
    return Cursor(tuple(out), run_id)
