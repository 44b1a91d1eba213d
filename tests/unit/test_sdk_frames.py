"""DataFrames shaped as MLflow's, and a clear error when pandas is missing."""

from __future__ import annotations

import math
import sys

import pytest

from runstream.errors import ConfigError, ValidationError
from runstream.sdk.entities import Run, RunData, RunInfo, ViewType
from runstream.sdk.frames import runs_frame
from runstream.sdk.read_client import view_name


def _run(run_id: str, **data: dict[str, object]) -> Run:
    info = RunInfo(run_id, "1", run_id, "u", "FINISHED", 1_700_000_000_000, None, "s3://b/x")
    return Run(info, RunData(**data))  # type: ignore[arg-type]


def test_runs_frame_has_mlflows_columns_nulls_and_dtypes() -> None:
    frame = runs_frame(
        [_run("a", metrics={"acc": 0.5}, params={"lr": "0.1"}), _run("b", tags={"t": "x"})]
    )
    assert list(frame.columns) == [
        "run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
        "metrics.acc", "params.lr", "tags.t",
    ]  # fmt: skip
    assert str(frame["start_time"].dtype).startswith("datetime64") and "UTC" in str(
        frame["start_time"].dtype
    )
    assert frame["metrics.acc"].dtype == "float64" and math.isnan(frame["metrics.acc"][1])
    assert frame["params.lr"].isna()[1] and frame["tags.t"].isna()[0]


def test_without_pandas_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"runstream\[pandas\]"):
        runs_frame([])


def test_view_types_as_mlflow_spells_them() -> None:
    assert view_name(ViewType.ALL) == "ALL" and view_name(1) == "ACTIVE_ONLY"
    assert view_name("deleted_only") == "DELETED_ONLY"
    with pytest.raises(ValidationError):
        view_name(7)
