"""The module-level logging API with MLflow's names and signatures (``import runstream as mlflow``).

Every call validates in the caller's thread and queues events; ``log_metric`` costs
a few microseconds and never waits for the network (unless the buffer is full). A
call that needs a run when none is active starts one, as MLflow does. See
``runstream.sdk.active`` for the state these functions share.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, SupportsFloat, SupportsIndex

from runstream.config import Settings
from runstream.errors import ValidationError
from runstream.sdk.active import STATE, ActiveRun, describe
from runstream.sdk.client import RunstreamClient
from runstream.sdk.endpoints import check_tracking_uri
from runstream.sdk.entities import Experiment, Metric, ModelVersion, Param, Run, RunTag
from runstream.sdk.experiments import DEFAULT_EXPERIMENT_ID
from runstream.sdk.system_metrics import SystemMetricsMonitor, options_from_env

# -- configuration ---------------------------------------------------------------------


def set_tracking_uri(uri: str | Path) -> None:
    """Sets the query service's URL; the broker and bucket are learned from it."""
    STATE.tracking_uri = check_tracking_uri(str(uri), "set_tracking_uri")
    STATE.settings = None
    STATE.replace_client(None)


def get_tracking_uri() -> str:
    """The tracking URI in use (the query service's URL)."""
    if STATE.tracking_uri:
        return STATE.tracking_uri
    return STATE.get_client().tracking_uri


def configure(settings: Settings | None = None, *, client: RunstreamClient | None = None) -> None:
    """Points the fluent API at explicit settings, or at a ready client (Runstream only).

    With settings the SDK needs no query service: broker, topics and bucket come
    from them. ``configure()`` with no argument goes back to the environment.
    """
    STATE.settings = settings
    STATE.tracking_uri = None
    STATE.replace_client(client)


def get_client() -> RunstreamClient:
    """The client behind the fluent API (Runstream only)."""
    return STATE.get_client()


# -- experiments -------------------------------------------------------------------------


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Makes an experiment active, creating it when the name is new (MLflow's rule).

    The id of a new experiment derives from its name (``runstream.sdk.experiments``).
    """
    if (experiment_name is None) == (experiment_id is None):
        raise ValidationError("set_experiment needs exactly one of experiment_name, experiment_id")
    if experiment_id is not None:
        experiment = Experiment(str(experiment_id), "")
    else:
        experiment = STATE.get_client().resolve_experiment(str(experiment_name))
    STATE.experiment_id = experiment.experiment_id
    return experiment


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Creates an experiment; returns its id."""
    return STATE.get_client().create_experiment(name, artifact_location, tags)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment with this name, through the query service."""
    return STATE.get_client().get_experiment_by_name(name)


def set_experiment_tag(key: str, value: Any) -> None:
    """Sets a tag on the active experiment."""
    STATE.get_client().set_experiment_tag(current_experiment_id(), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Sets several tags on the active experiment."""
    for key, value in tags.items():
        set_experiment_tag(key, value)


def current_experiment_id() -> str:
    """The active experiment's id (``set_experiment``, MLflow's variables, else Default)."""
    if STATE.experiment_id is not None:
        return STATE.experiment_id
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
    if os.environ.get("MLFLOW_EXPERIMENT_NAME"):
        return set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"]).experiment_id
    return DEFAULT_EXPERIMENT_ID


# -- runs ----------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Starts a run (or resumes ``run_id``) and makes it active; use it with ``with``.

    Without ``run_id``, the first run of a process attaches to the run named by
    ``RUNSTREAM_RUN_ID`` or ``MLFLOW_RUN_ID`` when set (the run ``runstream run``
    created for it), as MLflow's ``start_run`` does.

    Raises:
        ValidationError: a run is already active and ``nested`` is False, or a bad
            name, tag or description.
    """
    stack = STATE.local.stack
    if stack and not nested:
        raise ValidationError(
            f"run {stack[-1].info.run_id} is already active; end it first, or call "
            "start_run(nested=True) to start a child run"
        )
    client = STATE.get_client()
    if run_id is None and not stack:
        run_id = _run_id_from_launcher()
    if run_id is not None:
        run = client.local_run(run_id) or client.get_run(run_id)
    else:
        parent = parent_run_id or (stack[-1].info.run_id if stack and nested else None)
        run = client.create_run(
            str(experiment_id) if experiment_id is not None else current_experiment_id(),
            tags=tags,
            run_name=run_name,
            parent_run_id=parent,
            description=description,
        )
    active = ActiveRun(run)
    stack.append(active)
    STATE.open_runs[run.info.run_id] = active
    STATE.install_exit_hooks()
    _monitor_system(client, run.info.run_id, log_system_metrics)
    return active


def _run_id_from_launcher() -> str | None:
    """The run a launcher created for this process (``runstream run``, ``mlflow run``).

    As MLflow does, the variable is used once: a later ``start_run`` starts a new run.
    """
    found = None
    for name in ("MLFLOW_RUN_ID", "RUNSTREAM_RUN_ID"):
        found = os.environ.pop(name, None) or found
    return found


def _monitor_system(client: RunstreamClient, run_id: str, asked: bool | None) -> None:
    """Starts the run's system-metrics thread when asked, or when the environment says so."""
    options = options_from_env(os.environ)
    if not (options.enabled if asked is None else asked) or run_id in STATE.monitors:
        return
    path = client.metrics

    def log(rid: str, key: str, value: float, step: int) -> None:
        path.log(rid, key, value, None, step)

    STATE.monitors[run_id] = SystemMetricsMonitor(run_id, log, options).start()


def end_run(status: str = "FINISHED") -> None:
    """Ends the active run (FINISHED, FAILED or KILLED) and flushes its events.

    Waits up to the client's ``end_run_timeout_s`` for delivery; if the broker does
    not take them in time, a loud warning says how many wait, and they stay queued.
    """
    end_run_of(None, status)


def end_run_of(run_id: str | None, status: str) -> None:
    """Ends ``run_id`` (the active run when None) and removes it from this thread's stack.

    A ``with`` block whose run is no longer on top of the stack (a child left open)
    ends just its own run.
    """
    stack = STATE.local.stack
    if not stack:
        return
    if run_id is not None and stack[-1].info.run_id != run_id:
        stack[:] = [r for r in stack if r.info.run_id != run_id]
    else:
        run_id = stack.pop().info.run_id
    active = STATE.open_runs.pop(run_id, None)
    monitor = STATE.monitors.pop(run_id, None)
    if monitor is not None:
        monitor.stop()  # its last points go before run.ended
    client = STATE.get_client()
    client.set_terminated(run_id, status)
    STATE.last_run = client.local_run(run_id) or active


def active_run() -> ActiveRun | None:
    """The active run of this thread, or None."""
    stack = STATE.local.stack
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, or else the run most recently ended in this process."""
    return active_run() or STATE.last_run


def get_run(run_id: str) -> Run:
    """A run, through the query service (or this process's view of it)."""
    return STATE.get_client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Moves a run to the deleted stage."""
    STATE.get_client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Restores a deleted run."""
    STATE.get_client().restore_run(run_id)


def current_run_id() -> str:
    """The active run's id, starting a run when none is active (MLflow's behaviour)."""
    stack = STATE.local.stack
    if stack:
        return stack[-1].info.run_id
    return start_run().info.run_id


# -- logging -----------------------------------------------------------------------------------


def log_metric(
    key: str,
    value: SupportsFloat,
    step: SupportsIndex | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Logs one metric point of the active run (queued; a few microseconds)."""
    stack = STATE.local.stack
    (STATE.client or STATE.get_client()).metrics.log(
        run_id or (stack[-1].info.run_id if stack else current_run_id()),
        key,
        value,
        timestamp,
        step,
    )


def log_metrics(
    metrics: Mapping[str, SupportsFloat],
    step: SupportsIndex | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Logs several metrics at one step."""
    if not isinstance(metrics, Mapping):
        raise ValidationError(f"log_metrics needs a dict of key -> value, not {describe(metrics)}")
    path, rid = STATE.get_client().metrics, run_id or current_run_id()
    for key, value in metrics.items():
        path.log(rid, key, value, timestamp, step)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Logs a param of the active run; returns ``value``."""
    return STATE.get_client().log_param(current_run_id(), key, value)


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Logs several params (all or none: a changed value rejects the whole call)."""
    if not isinstance(params, Mapping):
        raise ValidationError(f"log_params needs a dict of key -> value, not {describe(params)}")
    STATE.get_client().log_batch(
        run_id or current_run_id(), params=[Param(k, v) for k, v in params.items()]
    )


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Sets a tag of the active run."""
    STATE.get_client().set_tag(current_run_id(), key, value)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    """Sets several tags of the active run."""
    if not isinstance(tags, Mapping):
        raise ValidationError(f"set_tags needs a dict of key -> value, not {describe(tags)}")
    STATE.get_client().log_batch(current_run_id(), tags=[RunTag(k, v) for k, v in tags.items()])


def delete_tag(key: str) -> None:
    """Deletes a tag of the active run."""
    STATE.get_client().delete_tag(current_run_id(), key)


def log_batch(
    metrics: list[Metric] | None = None,
    params: list[Param] | None = None,
    tags: list[RunTag] | None = None,
) -> None:
    """Logs metrics, params and tags of the active run at once."""
    STATE.get_client().log_batch(current_run_id(), metrics or (), params or (), tags or ())


# -- registry and delivery ---------------------------------------------------------------------


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Registers a logged model as a new version of ``name`` (created when missing)."""
    from runstream.sdk.models import register_model as register

    return register(STATE.get_client(), model_uri, name, await_registration_for, tags=tags)


def flush(timeout_s: float = 60.0) -> None:
    """Waits until every event logged so far is delivered (raises DeliveryError if not)."""
    if STATE.client is not None:
        STATE.client.flush(timeout_s)


def flush_async_logging() -> None:
    """MLflow's name for :func:`flush`."""
    flush()


__all__ = [
    "active_run",
    "configure",
    "create_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush",
    "flush_async_logging",
    "get_client",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_batch",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "register_model",
    "restore_run",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
