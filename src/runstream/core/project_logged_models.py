"""Projection of MLflow 3's logged models (``logged_model.*``) and of ``run.outputs``.

Logged-model events are keyed by experiment id, so one partition orders every
change of one model. Rules, as MLflow's tracking store keeps them:

1. A model is created once, in an existing, active experiment, with status
   ``PENDING``; its params and tags come with it.
2. Every later change needs the model to exist and not be deleted (a deleted
   model answers 404 in MLflow, so nothing may change it); each change moves its
   ``last_updated_time`` to the event's time.
3. Finalizing sets ``READY`` or ``FAILED``; finalizing again overwrites (MLflow's).
4. Params and tags are last-write-wins per key; deleting a missing tag is harmless.
   Metric points are kept every one, per (key, timestamp, step, run), as MLflow's
   ``logged_model_metrics``; they do not move ``last_updated_time`` (nor in MLflow).
5. Deleting is soft (``lifecycle_stage = deleted``): the row stays, so MLflow's
   ``allow_deleted`` reads still find it; params and tags stay too.
6. ``run.outputs`` needs an active run; the link is kept per (run, model), the
   latest step winning; ``run.model_inputs`` likewise, the latest time winning. The
   model is not checked: it lives in another partition (its experiment's) and may
   be materialized after the link.
"""

from __future__ import annotations

from typing import Any

from runstream.core.project_tracking import Handler
from runstream.core.rows import LoggedModelRow
from runstream.core.runs import Lifecycle
from runstream.core.working import EventRejectedError, Reason, Working
from runstream.events import Envelope, EventType
from runstream.events.logged_model_bodies import (
    LoggedModelCreatedBody,
    LoggedModelDeletedBody,
    LoggedModelFinalizedBody,
    LoggedModelMetricsBody,
    LoggedModelParamsBody,
    LoggedModelTagDeletedBody,
    LoggedModelTagsSetBody,
    RunModelInputsBody,
    RunOutputsBody,
)

STATUS_PENDING = "PENDING"
TABLE = "mlflow_logged_models"


def _live(w: Working, model_id: str) -> LoggedModelRow:
    """The model, refusing unknown and deleted ones (rule 2)."""
    row = w.logged_models.get(model_id)
    if row is None:
        raise EventRejectedError(
            Reason.UNKNOWN_LOGGED_MODEL, f"logged model {model_id} was never created"
        )
    if row.lifecycle_stage == Lifecycle.DELETED:
        raise EventRejectedError(Reason.UNKNOWN_LOGGED_MODEL, f"logged model {model_id} is deleted")
    return row


def _touch(w: Working, row: LoggedModelRow, at: int) -> None:
    row.last_updated_time = max(row.last_updated_time, at)
    w.touch(TABLE, (row.model_id,))


def _set_params(w: Working, model_id: str, params: dict[str, str]) -> None:
    for key, value in params.items():
        w.set_kv("logged_model_params", (model_id, key), (model_id, key, value))


def _set_tags(w: Working, model_id: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        w.set_kv("logged_model_tags", (model_id, key), (model_id, key, value))


def created(w: Working, env: Envelope[LoggedModelCreatedBody]) -> None:
    """``logged_model.created``: a new PENDING model in an active experiment (rule 1)."""
    body = env.body
    exp = w.experiment(env.experiment_id)
    if exp.lifecycle_stage == Lifecycle.DELETED:
        raise EventRejectedError(
            Reason.EXPERIMENT_DELETED, f"experiment {exp.experiment_id} is deleted"
        )
    if body.model_id in w.logged_models:
        raise EventRejectedError(
            Reason.LOGGED_MODEL_EXISTS, f"logged model {body.model_id} already exists"
        )
    w.logged_models[body.model_id] = LoggedModelRow(
        body.model_id, exp.experiment_id, body.name, body.source_run_id, body.model_type,
        body.artifact_location, STATUS_PENDING, Lifecycle.ACTIVE.value, body.creation_time,
        body.creation_time,
    )
    w.touch(TABLE, (body.model_id,))
    _set_params(w, body.model_id, body.params)
    _set_tags(w, body.model_id, body.tags)


def finalized(w: Working, env: Envelope[LoggedModelFinalizedBody]) -> None:
    """``logged_model.finalized``: READY or FAILED (rule 3)."""
    row = _live(w, env.body.model_id)
    row.status = env.body.status.value
    _touch(w, row, env.produced_at)


def tags_set(w: Working, env: Envelope[LoggedModelTagsSetBody]) -> None:
    """``logged_model.tags_set``: last write wins per key (rule 4)."""
    row = _live(w, env.body.model_id)
    _set_tags(w, row.model_id, env.body.tags)
    _touch(w, row, env.produced_at)


def tag_deleted(w: Working, env: Envelope[LoggedModelTagDeletedBody]) -> None:
    """``logged_model.tag_deleted``: removes the tag (a missing one is harmless)."""
    row = _live(w, env.body.model_id)
    w.set_kv("logged_model_tags", (row.model_id, env.body.key), None)
    _touch(w, row, env.produced_at)


def params(w: Working, env: Envelope[LoggedModelParamsBody]) -> None:
    """``logged_model.params``: more params of the model (rule 4)."""
    row = _live(w, env.body.model_id)
    _set_params(w, row.model_id, env.body.params)
    _touch(w, row, env.produced_at)


def metrics(w: Working, env: Envelope[LoggedModelMetricsBody]) -> None:
    """``logged_model.metrics``: points linked to the model (rule 4)."""
    row = _live(w, env.body.model_id)
    run_id = env.body.run_id
    for m in env.body.metrics:
        w.set_kv("logged_model_metrics", (row.model_id, m.key, m.timestamp, m.step, run_id),
                 (row.model_id, m.key, m.value, m.timestamp, m.step, run_id, m.dataset_name,
                  m.dataset_digest))


def deleted(w: Working, env: Envelope[LoggedModelDeletedBody]) -> None:
    """``logged_model.deleted``: soft delete (rule 5)."""
    row = _live(w, env.body.model_id)
    row.lifecycle_stage = Lifecycle.DELETED.value
    _touch(w, row, env.produced_at)


def run_outputs(w: Working, env: Envelope[RunOutputsBody]) -> None:
    """``run.outputs``: the run produced these models (rule 6)."""
    run = w.active_run(env.run_id)
    for output in env.body.models:
        w.set_kv("logged_model_outputs", (run.run_id, output.model_id),
                 (run.run_id, output.model_id, output.step))


def run_model_inputs(w: Working, env: Envelope[RunModelInputsBody]) -> None:
    """``run.model_inputs``: the run used these models (rule 6)."""
    run = w.active_run(env.run_id)
    for used in env.body.models:
        w.set_kv("logged_model_inputs", (run.run_id, used.model_id),
                 (run.run_id, used.model_id, env.produced_at))


HANDLERS: dict[EventType, Handler] = {
    EventType.LOGGED_MODEL_CREATED: created,
    EventType.LOGGED_MODEL_FINALIZED: finalized,
    EventType.LOGGED_MODEL_TAGS_SET: tags_set,
    EventType.LOGGED_MODEL_TAG_DELETED: tag_deleted,
    EventType.LOGGED_MODEL_PARAMS: params,
    EventType.LOGGED_MODEL_METRICS: metrics,
    EventType.LOGGED_MODEL_DELETED: deleted,
    EventType.RUN_OUTPUTS: run_outputs,
    EventType.RUN_MODEL_INPUTS: run_model_inputs,
}
"""The handler of each type this module projects."""

_MODEL_EVENTS = frozenset(HANDLERS) - {EventType.RUN_OUTPUTS, EventType.RUN_MODEL_INPUTS}


def logged_model_id(env: Envelope[Any]) -> str | None:
    """The logged model an event changes, or None (for ``state_keys``)."""
    if env.type not in _MODEL_EVENTS:
        return None
    model_id: str = env.body.model_id
    return model_id

__all__ = ["HANDLERS", "STATUS_PENDING", "logged_model_id"]
