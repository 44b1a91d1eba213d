"""Runs of one lake snapshot held in memory as columns, for searches in milliseconds.

A search over the lake joins ``runs`` with ``params``, ``tags`` and
``latest_metrics`` and pays DuckLake's per-table catalog reads on every request:
about 150 ms on 100,000 runs. :class:`RunIndex` holds the same four tables of one
snapshot as Arrow / numpy columns and evaluates a :class:`RunSearch` with vector
operations: a few milliseconds for the same search. It is pure: it is built from
Arrow tables someone else read (:mod:`runstream.query.read.index_cache` does the
reading and keeps it fresh).

It is one of the two :class:`~runstream.query.search.planner.Executor` of a
planned search and answers exactly what :mod:`runstream.query.search.sql` would
on the same snapshot: the same rules 1-6 of that module's docstring, the same
order, the same page tokens (a token from one works with the other). For the few
searches whose SQL semantics it does not reproduce it answers ``None``, and the
caller runs the SQL instead:

- a NaN in the filter (DuckDB orders NaN above every number);
- a ``LIKE`` / ``ILIKE`` pattern with a backslash (Arrow treats it as an escape,
  the lake's SQL does not), or a non-ASCII ``ILIKE`` pattern (case folding differs).

Layout: ``runs`` sorted by ``run_id``, so a run's ordinal (its row number) orders
like its id; each keyed table grouped by key, so one key's rows are one
contiguous slice, with each row's run ordinal alongside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from runstream.core.metrics import LatestMetric
from runstream.core.rows import RunRow
from runstream.query.records import RUN_COLUMNS, Page, Run
from runstream.query.search.planner import Cursor, RunSearch
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
)

__all__ = ["KEYED_COLUMNS", "RunIndex"]

# Columns of each keyed table as the index expects them (after ``rn``).
KEYED_COLUMNS: dict[Kind, tuple[str, ...]] = {
    Kind.PARAM: ("key", "value"),
    Kind.TAG: ("key", "value"),
    Kind.METRIC: ("key", "value", "step", "timestamp", "min_value", "max_value", "count"),
}
_METRIC_COLUMN = {
    Aggregate.LAST: "value",
    Aggregate.MIN: "min_value",
    Aggregate.MAX: "max_value",
    Aggregate.COUNT: "count",
}
_NUMERIC_OPS: dict[CompareOp, Callable[[Any, Any], Any]] = {
    CompareOp.EQ: np.equal,
    CompareOp.NE: np.not_equal,
    CompareOp.LT: np.less,
    CompareOp.LE: np.less_equal,
    CompareOp.GT: np.greater,
    CompareOp.GE: np.greater_equal,
}
_ARROW_OPS = {
    CompareOp.EQ: "equal",
    CompareOp.NE: "not_equal",
    CompareOp.LT: "less",
    CompareOp.LE: "less_equal",
    CompareOp.GT: "greater",
    CompareOp.GE: "greater_equal",
}


class _Unsupported(Exception):
    """The index does not evaluate this search exactly as the SQL would."""


def _bools(arr: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """An Arrow boolean array as numpy, NULL read as False (SQL's WHERE)."""
    filled = pc.fill_null(arr, False)
    out: np.ndarray[Any, np.dtype[np.bool_]] = np.asarray(filled.to_numpy(zero_copy_only=False))
    return out


def _floats(arr: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A numeric Arrow array as (float64 values, valid mask); NULL becomes NaN, invalid."""
    valid = _bools(pc.is_valid(arr))
    values = np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    return values, valid


@dataclass(frozen=True)
class _Keyed:
    """One keyed table: rows grouped by key, with both access paths."""

    table: Any  # pyarrow.Table: KEYED_COLUMNS[kind], rows grouped by key
    rn: np.ndarray[Any, Any]  # int64 ordinal of each row's run
    slices: dict[str, tuple[int, int]]  # key -> [start, end) rows
    by_run: np.ndarray[Any, Any]  # row numbers ordered by rn
    run_starts: np.ndarray[Any, Any]  # by_run[run_starts[p]:run_starts[p + 1]] = run p's rows

    @classmethod
    def build(cls, table: Any, kind: Kind, run_ids: Any) -> _Keyed:
        """Group ``table`` (``run_id`` + the kind's columns, any order) by key.

        Rows of runs missing from ``run_ids`` are dropped (as the SQL's joins do).
        """
        table = table.combine_chunks()
        rn_arrow = pc.index_in(table.column("run_id"), value_set=run_ids)
        known = pc.is_valid(rn_arrow)
        if not pc.all(known).as_py():
            table, rn_arrow = table.filter(known), rn_arrow.filter(known)
        codes = pc.dictionary_encode(table.column("key")).combine_chunks()
        indices = np.asarray(codes.indices.to_numpy(zero_copy_only=False), np.int64)
        order = np.argsort(indices, kind="stable")
        counts = np.bincount(indices, minlength=len(codes.dictionary))
        ends = np.cumsum(counts)
        slices = {
            str(key): (int(end - count), int(end))
            for key, count, end in zip(codes.dictionary.to_pylist(), counts, ends, strict=True)
        }
        grouped = table.select(list(KEYED_COLUMNS[kind])).take(pa.array(order, pa.int64()))
        rn = np.asarray(rn_arrow.to_numpy(zero_copy_only=False), np.int64)[order]
        by_run = np.argsort(rn, kind="stable")
        run_starts = np.searchsorted(rn[by_run], np.arange(len(run_ids) + 1))
        return cls(grouped, rn, slices, by_run, run_starts)

    def key_slice(self, key: str) -> tuple[int, int]:
        return self.slices.get(key, (0, 0))

    def column(self, name: str, key: str) -> Any:
        start, end = self.key_slice(key)
        return self.table.column(name).slice(start, end - start)


class RunIndex:
    """The runs of one snapshot, searchable without the lake.

    Args:
        snapshot_id: the lake snapshot the tables were read from.
        runs: every run, columns :data:`RUN_COLUMNS`, in any order.
        keyed: per kind, its table with ``run_id`` and the :data:`KEYED_COLUMNS` of
            that kind, in any order.
    """

    def __init__(self, snapshot_id: int, runs: Any, keyed: dict[Kind, Any]) -> None:
        self.snapshot_id = snapshot_id
        # Sorted by run_id, a run's ordinal orders like its id (the last sort key).
        self._runs = runs.take(pc.sort_indices(runs, [("run_id", "ascending")])).combine_chunks()
        self._n = int(self._runs.num_rows)
        run_ids = self._runs.column("run_id").combine_chunks()
        self._ids: list[str] = run_ids.to_pylist()
        self._position = {run_id: i for i, run_id in enumerate(self._ids)}
        self._keyed = {kind: _Keyed.build(t, kind, run_ids) for kind, t in keyed.items()}

    @property
    def run_count(self) -> int:
        """How many runs the index holds."""
        return self._n

    # -- search -----------------------------------------------------------------

    def search(self, plan: RunSearch, cursor: Cursor | None = None) -> Page[str] | None:
        """One page of matching run ids in search order, as the SQL search returns it.

        Returns None for a search the index does not evaluate like the SQL (see the
        module docstring): run the SQL instead.
        """
        try:
            return self._search(plan, cursor)
        except _Unsupported:
            return None

    def _search(self, search: RunSearch, cursor: Cursor | None) -> Page[str]:
        mask = self._in_list(self._runs.column("experiment_id"), search.experiment_ids)
        mask &= self._in_list(self._runs.column("lifecycle_stage"), search.view_type.value)
        if search.filter is not None:
            mask &= self._mask(search.filter)
        rows = np.flatnonzero(mask)
        keys = [self._sort_column(k.field, rows) for k in search.sort_keys]
        if cursor is not None:
            rows, keys = self._after(rows, keys, search, cursor)
        lex: list[Any] = [rows]
        for (rank, _raw, order_value), key in zip(
            reversed(keys), reversed(search.sort_keys), strict=True
        ):
            lex += [order_value if key.ascending else -order_value, rank]
        order = np.lexsort(lex)[: search.max_results + 1]
        page = rows[order]
        run_ids = [self._ids[i] for i in page[: search.max_results]]
        if len(page) <= search.max_results or not run_ids:
            return Page(run_ids, None)
        last = int(order[search.max_results - 1])
        pairs = [
            (int(rank[last]), _token_value(raw, last, int(rank[last]))) for rank, raw, _ in keys
        ]
        return Page(run_ids, search.next_page_token(pairs, run_ids[-1]))

    def _in_list(self, column: Any, values: Sequence[str]) -> np.ndarray[Any, Any]:
        return _bools(pc.is_in(column, value_set=pa.array(list(values), pa.string())))

    def _mask(self, expr: Expr) -> np.ndarray[Any, Any]:
        """Rows of ``runs`` for which ``expr`` holds (NULL counts as false, as in WHERE)."""
        if isinstance(expr, And | Or):
            parts = [self._mask(item) for item in expr.items]
            combine = np.logical_and if isinstance(expr, And) else np.logical_or
            out = parts[0]
            for part in parts[1:]:
                out = combine(out, part)
            return out
        fld = expr.field
        if fld.kind is Kind.ATTRIBUTE:
            column = self._runs.column(fld.key)
            if isinstance(expr, IsNull):
                return _bools(pc.is_valid(column) if expr.negated else pc.is_null(column))
            return _string_or_number_test(expr, column)
        keyed = self._keyed[fld.kind]
        start, end = keyed.key_slice(fld.key)
        if isinstance(expr, IsNull):
            has = np.zeros(self._n, np.bool_)
            has[keyed.rn[start:end]] = True
            return has if expr.negated else ~has
        if fld.kind is Kind.METRIC:
            assert isinstance(expr, Compare)  # InList is refused on metrics by the parser
            test = _metric_test(
                expr, keyed.column(_METRIC_COLUMN[fld.aggregate or Aggregate.LAST], fld.key)
            )
        else:
            test = _string_or_number_test(expr, keyed.column("value", fld.key))
        out = np.zeros(self._n, np.bool_)
        out[keyed.rn[start:end][test]] = True
        return out

    def _sort_column(self, fld: Field, rows: np.ndarray[Any, Any]) -> tuple[Any, Any, Any]:
        """(rank, raw values, orderable values) of one sort key over ``rows``.

        Rank 0 sorts by value, then (metrics) 1 for NaN, then the missing or NULL
        ones; raw values are what a page token stores; orderable values are numbers
        that sort like the raw ones (dense ranks for strings).
        """
        if fld.kind is Kind.ATTRIBUTE:
            column = self._runs.column(fld.key).take(pa.array(rows, pa.int64()))
            rank = np.where(_bools(pc.is_valid(column)), 0, 1).astype(np.int8)
        else:
            keyed = self._keyed[fld.kind]
            start, end = keyed.key_slice(fld.key)
            name = (
                _METRIC_COLUMN[fld.aggregate or Aggregate.LAST]
                if fld.kind is Kind.METRIC
                else "value"
            )
            slot = np.full(self._n, -1, np.int64)
            slot[keyed.rn[start:end]] = np.arange(end - start)
            picked = slot[rows]
            column = keyed.column(name, fld.key).take(pa.array(picked, pa.int64(), mask=picked < 0))
            rank = np.where(_bools(pc.is_valid(column)), 0, 2 if fld.kind is Kind.METRIC else 1)
            rank = rank.astype(np.int8)
        if fld.is_numeric:
            values, _valid = _floats(column)
            if fld.kind is Kind.METRIC:
                rank[(rank == 0) & np.isnan(values)] = 1
            orderable = np.where(rank == 0, values, 0.0)
            if fld.kind is Kind.ATTRIBUTE:  # exact int64 times, not rounded through float
                ints = np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), np.int64)
                orderable = np.where(rank == 0, ints, 0)
            return rank, column, orderable
        dense = pc.rank(column, sort_keys="ascending", tiebreaker="dense")
        orderable = np.where(rank == 0, np.asarray(dense.to_numpy(), np.int64), 0)
        return rank, column, orderable

    def _after(
        self,
        rows: np.ndarray[Any, Any],
        keys: list[tuple[Any, Any, Any]],
        search: RunSearch,
        cursor: Cursor,
    ) -> tuple[np.ndarray[Any, Any], list[tuple[Any, Any, Any]]]:
        """Keep the rows strictly after the cursor in search order (rule 6)."""
        pairs, last_id = cursor.pairs, cursor.run_id
        ids = self._runs.column("run_id").take(pa.array(rows, pa.int64()))
        after = _bools(pc.greater(ids, last_id))
        for i in reversed(range(len(keys))):
            rank, raw, _ = keys[i]
            cur_rank, cur_value = pairs[i]
            if cur_value is not None:
                op = "greater" if search.sort_keys[i].ascending else "less"
                if search.sort_keys[i].field.is_numeric:
                    values, _ = _floats(raw)
                    beyond = _NUMERIC_OPS[CompareOp.GT if op == "greater" else CompareOp.LT](
                        values, cur_value
                    )
                    same = values == cur_value
                    if search.sort_keys[i].field.kind is Kind.ATTRIBUTE:
                        ints = np.asarray(pc.fill_null(raw, 0).to_numpy(zero_copy_only=False))
                        beyond = ints > cur_value if op == "greater" else ints < cur_value
                        same = ints == cur_value
                else:
                    beyond = _bools(pc.call_function(op, [raw, pa.scalar(cur_value)]))
                    same = _bools(pc.equal(raw, cur_value))
                after = beyond | (same & after)
            after = (rank > cur_rank) | ((rank == cur_rank) & after)
        keep = np.flatnonzero(after)
        return rows[keep], [(r[keep], raw.take(pa.array(keep)), o[keep]) for r, raw, o in keys]

    # -- loading ----------------------------------------------------------------

    def load(
        self,
        run_ids: Sequence[str],
        params: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> list[Run]:
        """The runs with these ids, in the order given, unknown ids skipped.

        ``params`` / ``metrics`` / ``tags`` keep only these keys (None keeps all).
        """
        found = [
            p for p in (self._position.get(i) for i in dict.fromkeys(run_ids)) if p is not None
        ]
        if not found:
            return []
        rows = self._runs.take(pa.array(found, pa.int64())).to_pylist()
        items = {
            kind: self._items(kind, found, keys)
            for kind, keys in ((Kind.PARAM, params), (Kind.TAG, tags), (Kind.METRIC, metrics))
        }
        runs = []
        for slot, row in enumerate(rows):
            runs.append(
                Run(
                    RunRow(**{c: row[c] for c in RUN_COLUMNS}),
                    {k: str(v["value"]) for k, v in items[Kind.PARAM][slot]},
                    {k: str(v["value"]) for k, v in items[Kind.TAG][slot]},
                    {k: _latest(v) for k, v in items[Kind.METRIC][slot]},
                )
            )
        return runs

    def _items(
        self, kind: Kind, positions: list[int], keys: Sequence[str] | None
    ) -> list[list[tuple[str, dict[str, Any]]]]:
        """Per run position, its rows of one keyed table as (key, row) pairs."""
        keyed = self._keyed[kind]
        wanted = None if keys is None else set(keys)
        spans = [(int(keyed.run_starts[p]), int(keyed.run_starts[p + 1])) for p in positions]
        picked: Any = np.concatenate([keyed.by_run[s:e] for s, e in spans])
        rows = keyed.table.take(pa.array(picked, pa.int64())).to_pylist()
        out: list[list[tuple[str, dict[str, Any]]]] = []
        offset = 0
        for start, end in spans:
            chunk = rows[offset : offset + end - start]
            offset += end - start
            out.append([(r["key"], r) for r in chunk if wanted is None or r["key"] in wanted])
        return out


def _latest(row: dict[str, Any]) -> LatestMetric:
    return LatestMetric(
        float(row["value"]),
        int(row["step"]),
        int(row["timestamp"]),
        row["min_value"],
        row["max_value"],
        int(row["count"] or 0),
    )


def _token_value(raw: Any, i: int, rank: int) -> Any:
    """The sort value a page token stores: None unless ranked 0, else a plain Python value."""
    if rank != 0:
        return None
    value = raw[i].as_py()
    return value


def _check_number(value: float) -> None:
    if math.isnan(float(value)):
        raise _Unsupported("NaN in the filter")


def _check_pattern(op: CompareOp, pattern: str) -> None:
    if "\\" in pattern or (op is CompareOp.ILIKE and not pattern.isascii()):
        raise _Unsupported("pattern the index does not match like the SQL")


def _metric_test(expr: Compare, column: Any) -> np.ndarray[Any, Any]:
    """Rule 2: a NaN never satisfies = < <= > >= and always satisfies !=; NULL nothing."""
    assert not isinstance(expr.value, str)
    _check_number(expr.value)
    values, valid = _floats(column)
    nan = np.isnan(values) & valid
    with np.errstate(invalid="ignore"):
        test = _NUMERIC_OPS[expr.op](values, float(expr.value)) & valid
    if expr.op is CompareOp.NE:
        return np.asarray(test | nan)
    return np.asarray(test & ~nan)


def _string_or_number_test(expr: Compare | InList, column: Any) -> np.ndarray[Any, Any]:
    """A leaf over a params / tags value or a ``runs`` column (rule 4: NULL matches nothing)."""
    if isinstance(expr, InList):
        inside = _bools(pc.is_in(column, value_set=pa.array(list(expr.values), pa.string())))
        if not expr.negated:
            return inside
        return np.asarray(~inside & _bools(pc.is_valid(column)))
    value = expr.value
    if expr.op in (CompareOp.LIKE, CompareOp.ILIKE):
        assert isinstance(value, str)
        _check_pattern(expr.op, value)
        return _bools(pc.match_like(column, value, ignore_case=expr.op is CompareOp.ILIKE))
    if not isinstance(value, str):
        _check_number(value)
        if not pa.types.is_integer(column.type) and not pa.types.is_floating(column.type):
            raise _Unsupported("number compared with a text column")
    elif not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        raise _Unsupported("text compared with a number column")
    return _bools(pc.call_function(_ARROW_OPS[expr.op], [column, pa.scalar(value)]))
