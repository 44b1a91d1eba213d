"""NaN and ±Inf on the wire: one spelling, read back as floats by every reader."""

from __future__ import annotations

import math

import orjson
import pytest

from runstream.core.metrics import LatestMetric
from runstream.core.rows import RunRow
from runstream.events.floats import float_from_wire, float_to_wire, floats_from_wire
from runstream.query.http.schemas.runs import RUN, RunResponse
from runstream.query.records import Run
from runstream.sdk.entities import run_from_json


@pytest.mark.parametrize(
    ("value", "wire"), [(math.inf, "Infinity"), (-math.inf, "-Infinity"), (1.5, 1.5)]
)
def test_spelling_round_trips(value: float, wire: float | str) -> None:
    assert float_to_wire(value) == wire
    assert float_from_wire(wire) == value


def test_nan_is_spelled_nan_and_other_strings_are_refused() -> None:
    assert float_to_wire(math.nan) == "NaN"
    assert math.isnan(float_from_wire("NaN"))
    with pytest.raises(ValueError):
        float_from_wire("nan")
    assert floats_from_wire([1, "Infinity", "x"]) == [1, math.inf, "x"]


def test_the_sdk_reads_a_nan_metric_of_the_api_as_a_float() -> None:
    info = RunRow(
        "a" * 32, "0", "r", "u", "RUNNING", 1, None, "active", None, None, None, None, None, None
    )
    run = Run(
        info,
        metrics={
            "loss": LatestMetric(math.nan, 3, 10, None, None, 1),
            "gain": LatestMetric(-math.inf, 3, 10, None, None, 1),
        },
    )
    body = orjson.loads(RUN.json(RunResponse.read(run, 1)))
    assert body["data"]["metrics"]["loss"]["value"] == "NaN"
    metrics = run_from_json(body).data.metrics
    assert isinstance(metrics["loss"], float) and math.isnan(metrics["loss"])
    assert metrics["gain"] == -math.inf


def test_the_latest_metric_record_has_the_columns_of_its_table() -> None:
    from runstream.core.metrics import LATEST_METRIC_COLUMNS
    from runstream.lake.tables import TABLES_BY_NAME

    columns = TABLES_BY_NAME["latest_metrics"].column_names
    assert columns == ("run_id", "key", *LATEST_METRIC_COLUMNS)
