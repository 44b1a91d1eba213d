"""MLflow's tracking read endpoints: experiments, runs, metric histories, artifact lists."""

from __future__ import annotations

from typing import Any

from runstream.config import Settings
from runstream.core.run_mirror import RunMirror
from runstream.errors import ValidationError
from runstream.events import ResourceType
from runstream.query.http.access import Access
from runstream.query.http.mlflow import convert
from runstream.query.http.mlflow.args import Args
from runstream.query.read import experiments as exp_reader
from runstream.query.read import runs as run_reader
from runstream.query.read.artifacts import list_artifacts
from runstream.query.read.downsample import HistoryRequest
from runstream.query.read.metrics import full_history, histories
from runstream.query.read.session import ReadSession
from runstream.query.search.planner import MAX_RESULTS_DEFAULT, MAX_RESULTS_LIMIT, plan_search

# MLflow's own limits (mlflow.server.handlers, mlflow.store.tracking).
MAX_RUNS_BULK_HISTORY = 100
MAX_RESULTS_PER_RUN = 2500
MAX_HISTORY_PAGE = 25_000
MAX_ARTIFACTS_PAGE = 1000
_RUN_ID = ("run_uuid",)


def search_experiments(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``experiments/search``."""
    page = exp_reader.search_experiments(
        session,
        filter_string=args.text("filter"),
        order_by=args.strings("order_by", limit=16),
        view=args.text("view_type"),
        max_results=args.integer("max_results", default=1000, low=1, high=MAX_RESULTS_LIMIT)
        or 1000,
        page_token=args.text("page_token"),
        scope=access.experiments,
        caller=access.caller,
    )
    bucket = _settings.artifacts_bucket
    out: dict[str, Any] = {"experiments": [convert.experiment(e, bucket) for e in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_experiment(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``experiments/get``."""
    experiment_id = args.required("experiment_id")
    access.require(ResourceType.EXPERIMENT, experiment_id)
    exp = exp_reader.get_experiment(session, experiment_id)
    return {"experiment": convert.experiment(exp, _settings.artifacts_bucket)}


def get_experiment_by_name(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``experiments/get-by-name``."""
    exp = exp_reader.get_experiment_by_name(session, args.required("experiment_name"))
    access.require(ResourceType.EXPERIMENT, exp.row.experiment_id)
    return {"experiment": convert.experiment(exp, _settings.artifacts_bucket)}


def run_id_of(args: Args) -> str:
    """The run a ``runs/get`` names (``run_id``, or MLflow's older ``run_uuid``)."""
    return args.required("run_id", _RUN_ID)


def get_run(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``runs/get``."""
    run_id = run_id_of(args)
    access.require_runs(session, [run_id])
    return {"run": convert.run(run_reader.get_run(session, run_id), _settings.artifacts_bucket)}


def run_from_mirror(mirror: RunMirror, settings: Settings, access: Access) -> dict[str, Any]:
    """``runs/get`` of a run the lake does not hold all of yet, from the gateway's mirror."""
    access.require(ResourceType.EXPERIMENT, mirror.run.experiment_id)
    return {"run": convert.run(run_reader.run_from_mirror(mirror), settings.artifacts_bucket)}


def search_runs(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``runs/search``: MLflow's filter grammar, order_by and page tokens."""
    search = plan_search(
        args.strings("experiment_ids", limit=1000),
        args.text("filter"),
        args.strings("order_by", limit=32),
        args.text("run_view_type") or "ACTIVE_ONLY",
        args.integer("max_results", default=MAX_RESULTS_DEFAULT, low=1, high=MAX_RESULTS_LIMIT),
    )
    page = run_reader.search_runs(session, access.restrict(search), args.text("page_token"))
    bucket = _settings.artifacts_bucket
    out: dict[str, Any] = {"runs": [convert.run(r, bucket) for r in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_metric_history(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``metrics/get-history``: every point, paged when ``max_results`` is given."""
    run_id = args.required("run_id", _RUN_ID)
    key = args.required("metric_key")
    access.require_runs(session, [run_id])
    run_reader.get_run(session, run_id, run_reader.Columns(params=[], metrics=[], tags=[]))
    page = full_history(
        session,
        run_id,
        key,
        max_results=args.integer("max_results", low=1, high=MAX_HISTORY_PAGE),
        page_token=args.text("page_token"),
    )
    out: dict[str, Any] = {"metrics": [convert.metric_point(key, p) for p in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_metric_history_bulk_interval(
    session: ReadSession, args: Args, _settings: Settings, access: Access
) -> dict[str, Any]:
    """``metrics/get-history-bulk-interval``: many runs of one metric, thinned in the lake.

    Runstream keeps each bucket's min and max (plus first and last) rather than
    MLflow's evenly spaced steps, so spikes survive; at most ``max_results``
    points per run either way.
    """
    run_ids = args.strings("run_ids", limit=MAX_RUNS_BULK_HISTORY)
    if not run_ids:
        raise ValidationError("Missing value for required parameter 'run_ids'.")
    key = args.required("metric_key")
    access.require_runs(session, run_ids)
    start = args.integer("start_step", low=-(2**63), high=2**63 - 1)
    end = args.integer("end_step", low=-(2**63), high=2**63 - 1)
    if (start is None) != (end is None):
        raise ValidationError(
            "If either start step or end step are specified, both must be specified."
        )
    if start is not None and end is not None and start > end:
        raise ValidationError(
            f"end_step must be greater than start_step. Found start_step={start} and "
            f"end_step={end}."
        )
    max_results = (
        args.integer("max_results", default=MAX_RESULTS_PER_RUN, low=1, high=MAX_RESULTS_PER_RUN)
        or MAX_RESULTS_PER_RUN
    )
    req = HistoryRequest(
        tuple(dict.fromkeys(run_ids)), (key,), max(max_results, 4), min_step=start, max_step=end
    )
    # Downsampling needs room for first, last and one bucket: below 4, cut the result.
    metrics = [
        convert.metric_point(s.key, p, s.run_id)
        for s in histories(session, req)
        for p in s.points[:max_results]
    ]
    return {"metrics": metrics}


def list_artifacts_handler(
    session: ReadSession, args: Args, settings: Settings, access: Access
) -> dict[str, Any]:
    """``artifacts/list``: one directory level of a run's artifacts."""
    run_id = args.required("run_id", _RUN_ID)
    access.require_runs(session, [run_id])
    root, page = list_artifacts(
        session,
        run_id,
        args.text("path"),
        bucket=settings.artifacts_bucket,
        max_results=MAX_ARTIFACTS_PAGE,
        page_token=args.text("page_token"),
    )
    out: dict[str, Any] = {"root_uri": root, "files": [convert.file_info(e) for e in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


__all__ = [
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "get_metric_history_bulk_interval",
    "get_run",
    "list_artifacts_handler",
    "search_experiments",
    "search_runs",
]
