"""Module-level reads with MLflow's names: ``search_runs``, ``search_experiments``, ...

Each answers through the query service (``runstream.sdk.read_client``); the
DataFrames are built as MLflow builds them (``runstream.sdk.frames``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from runstream.errors import ValidationError
from runstream.sdk.active import STATE
from runstream.sdk.entities import Experiment, Run, ViewType
from runstream.sdk.fluent import current_experiment_id
from runstream.sdk.frames import runs_frame

logger = logging.getLogger("runstream.sdk")

# MLflow's defaults: at most 100,000 runs in a DataFrame, fetched 10,000 per page.
SEARCH_MAX_RESULTS_PANDAS = 100_000
NUM_RUNS_PER_PAGE_PANDAS = 10_000


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Every experiment matching the filter (all pages, or at most ``max_results``)."""
    reads = STATE.get_client().reads
    found: list[Experiment] = []
    token: str | None = None
    while max_results is None or len(found) < max_results:
        want = 1000 if max_results is None else min(1000, max_results - len(found))
        page = reads.search_experiments(view_type, want, filter_string, order_by, token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (raises NotFoundError when there is none)."""
    return STATE.get_client().reads.get_experiment(experiment_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent run of a nested run, or None."""
    return STATE.get_client().reads.get_parent_run(run_id)


def _experiment_ids(
    experiment_ids: list[str] | None,
    experiment_names: list[str] | None,
    search_all_experiments: bool,
) -> list[str]:
    """The experiments a ``search_runs`` call covers (MLflow's rules)."""
    if experiment_ids and experiment_names:
        raise ValidationError("Only experiment_ids or experiment_names can be used, but not both")
    if experiment_ids:
        return [str(i) for i in experiment_ids]
    if experiment_names:
        client = STATE.get_client()
        ids = []
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name) if name is not None else None
            if experiment is None:
                logger.warning("Cannot retrieve experiment by name %s", name)
            else:
                ids.append(experiment.experiment_id)
        return ids
    if search_all_experiments:
        return [e.experiment_id for e in search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    return [current_experiment_id()]


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Runs matching MLflow's filter grammar: a DataFrame (MLflow's columns) or a list.

    Without experiment ids or names, searches the active experiment (or every
    experiment with ``search_all_experiments=True``).

    Raises:
        ValidationError: ids and names together, a bad filter or order_by, an unknown
            output format.
        ConfigError: ``output_format="pandas"`` without pandas installed.
    """
    if output_format not in ("pandas", "list"):
        raise ValidationError(
            f"Unsupported output format: {output_format}. Supported string values are "
            "'pandas' or 'list'"
        )
    ids = _experiment_ids(experiment_ids, experiment_names, search_all_experiments)
    runs: list[Run] = []
    if ids:
        reads = STATE.get_client().reads
        token: str | None = None
        while len(runs) < max_results:
            want = min(NUM_RUNS_PER_PAGE_PANDAS, max_results - len(runs))
            page = reads.search_runs(ids, filter_string, run_view_type, want, order_by, token)
            runs.extend(page)
            token = page.token
            if not token:
                break
    return runs if output_format == "list" else runs_frame(runs)


def load_table(
    artifact_file: str,
    run_ids: list[str] | None = None,
    extra_columns: list[str] | None = None,
) -> Any:
    """A table logged with ``log_table`` by runs of the active experiment, as one DataFrame."""
    return STATE.get_client().load_table(
        current_experiment_id(), artifact_file, run_ids, extra_columns
    )


__all__ = [
    "get_experiment",
    "get_parent_run",
    "load_table",
    "search_experiments",
    "search_runs",
]
