"""The latest-metric rule (MLflow's), NaN ordering, and the wire encoding of values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runstream.core.metrics import LatestMetric, fold_latest, latest_order_key
from runstream.events.floats import float_from_wire, float_to_wire

NAN = math.nan


def test_highest_step_then_timestamp_then_value_wins() -> None:
    got = fold_latest(None, [(5.0, 1, 10), (1.0, 2, 0), (3.0, 2, 0), (2.0, 1, 99)])
    assert got == LatestMetric(3.0, 2, 0, 1.0, 5.0, 4)


def test_nan_ranks_as_zero_and_after_a_real_zero() -> None:
    # MLflow stores NaN as 0 with is_nan, and orders by (..., value, is_nan).
    assert latest_order_key(1, 1, NAN) > latest_order_key(1, 1, 0.0)
    assert latest_order_key(1, 1, NAN) < latest_order_key(1, 1, 0.1)
    assert latest_order_key(1, 1, NAN) > latest_order_key(1, 1, -math.inf)
    got = fold_latest(None, [(0.5, 3, 3), (NAN, 3, 3)])
    assert got is not None and got.value == 0.5


def test_min_and_max_ignore_nan_and_count_counts_everything() -> None:
    got = fold_latest(None, [(NAN, 0, 0), (NAN, 1, 0)])
    assert got is not None
    assert math.isnan(got.value) and got.min_value is None and got.max_value is None
    assert got.count == 2
    more = fold_latest(got, [(-1.0, 0, 0), (math.inf, 0, 0)])
    assert more is not None and (more.min_value, more.max_value, more.count) == (-1.0, math.inf, 4)
    assert math.isnan(more.value)  # still step 1


def test_nothing_folds_to_nothing() -> None:
    assert fold_latest(None, []) is None


points = st.lists(
    st.tuples(
        st.one_of(st.floats(allow_nan=True), st.just(NAN)),
        st.integers(-3, 3),
        st.integers(0, 3),
    ),
    max_size=20,
)


@given(points, points)
def test_folding_in_two_parts_equals_folding_at_once(
    a: list[tuple[float, int, int]], b: list[tuple[float, int, int]]
) -> None:
    assert repr(fold_latest(fold_latest(None, a), b)) == repr(fold_latest(None, a + b))


@pytest.mark.parametrize("value", [1.5, -0.0, math.inf, -math.inf, 1e308])
def test_values_round_trip_through_the_wire_form(value: float) -> None:
    assert float_from_wire(float_to_wire(value)) == value


def test_nan_travels_as_a_string() -> None:
    assert float_to_wire(NAN) == "NaN"
    assert math.isnan(float_from_wire("NaN"))
    with pytest.raises(ValueError):
        float_from_wire("nan")
