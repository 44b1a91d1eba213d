"""Runs and tables as pandas DataFrames, shaped exactly as MLflow shapes them.

pandas is optional (``pip install 'runstream[pandas]'``); only the functions here
import it, on first use, and say which extra to install when it is missing.

``runs_frame`` builds the frame the way ``mlflow.search_runs`` does (same columns in
the same order, same nulls, built from the same Python lists), so the column names
and dtypes are MLflow's: ``run_id``, ``experiment_id``, ``status``, ``artifact_uri``,
``start_time`` and ``end_time`` (UTC timestamps), then ``metrics.*`` (NaN when a run
lacks one), ``params.*`` and ``tags.*`` (None when a run lacks one).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runstream.errors import ConfigError, ValidationError
from runstream.sdk.entities import Run

PANDAS_EXTRA = "pip install 'runstream[pandas]'"


def require_pandas(what: str) -> Any:
    """The pandas module, or a ConfigError naming the extra that installs it.

    Raises:
        ConfigError: pandas is not installed.
    """
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise ConfigError(f"{what} needs pandas, which is not installed: {PANDAS_EXTRA}") from exc


def _column(columns: dict[str, list[Any]], key: str, value: Any, filled: int, null: Any) -> None:
    """Appends ``value`` to ``columns[key]``, first padding a new column with ``null``."""
    if key not in columns:
        columns[key] = [null] * filled
    columns[key].append(value)


def runs_frame(runs: Sequence[Run]) -> Any:
    """A DataFrame of runs, one row each, as ``mlflow.search_runs`` returns it.

    Raises:
        ConfigError: pandas is not installed.
    """
    pd = require_pandas("search_runs(output_format='pandas')")
    import numpy as np

    info: dict[str, list[Any]] = {
        "run_id": [],
        "experiment_id": [],
        "status": [],
        "artifact_uri": [],
        "start_time": [],
        "end_time": [],
    }
    metrics: dict[str, list[Any]] = {}
    params: dict[str, list[Any]] = {}
    tags: dict[str, list[Any]] = {}
    for i, run in enumerate(runs):
        info["run_id"].append(run.info.run_id)
        info["experiment_id"].append(run.info.experiment_id)
        info["status"].append(run.info.status)
        info["artifact_uri"].append(run.info.artifact_uri)
        info["start_time"].append(pd.to_datetime(run.info.start_time, unit="ms", utc=True))
        info["end_time"].append(pd.to_datetime(run.info.end_time, unit="ms", utc=True))
        for table, values, null in (
            (metrics, run.data.metrics, np.nan),
            (params, run.data.params, None),
            (tags, run.data.tags, None),
        ):
            for key in table.keys() - values.keys():
                table[key].append(null)
            for key, value in values.items():
                _column(table, key, value, i, null)
    data: dict[str, list[Any]] = dict(info)
    for prefix, table in (("metrics.", metrics), ("params.", params), ("tags.", tags)):
        data.update({prefix + key: column for key, column in table.items()})
    return pd.DataFrame(data)


def table_frame(data: Any) -> Any:
    """``log_table``'s data (a DataFrame or a dict of columns) as a DataFrame.

    Raises:
        ValidationError: neither a DataFrame nor a dict.
        ConfigError: pandas is not installed.
    """
    pd = require_pandas("log_table")
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, dict):
        raise ValidationError("data must be a pandas.DataFrame or a dictionary")
    try:
        return pd.DataFrame(data)
    except ValueError:
        return pd.DataFrame([data])


def check_table_file(artifact_file: str) -> None:
    """MLflow's rule: a table is stored as ``.json`` or ``.parquet``.

    Raises:
        ValidationError: another extension.
    """
    if not artifact_file.endswith((".json", ".parquet")):
        raise ValidationError(
            f"Invalid artifact file path '{artifact_file}'. Please ensure the file you are "
            "trying to log as a table has a file name with either '.json' or '.parquet' "
            "extension."
        )


def write_table(frame: Any, path: Path) -> None:
    """Writes a table as MLflow does: JSON in ``split`` orientation, or Parquet."""
    if path.name.endswith(".json"):
        frame.to_json(path, orient="split", index=False, date_format="iso")
    else:
        frame.to_parquet(path, index=False)


def read_table(path: Path) -> Any:
    """Reads a table written by :func:`write_table` (or by MLflow's ``log_table``)."""
    pd = require_pandas("load_table")
    if path.name.endswith(".json"):
        return pd.read_json(path, orient="split")
    return pd.read_parquet(path)


__all__ = [
    "PANDAS_EXTRA",
    "check_table_file",
    "read_table",
    "require_pandas",
    "runs_frame",
    "table_frame",
    "write_table",
]
