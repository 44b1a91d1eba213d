"""Projection of experiment, run, artifact and logged-model events.

Each handler applies one accepted event to the :class:`~runstream.core.working.Working`
state, or raises :class:`~runstream.core.working.EventRejectedError` before changing
anything (an event is applied whole or not at all). MLflow's semantics: params are
immutable (the same value again is a harmless retry), tags are last write wins,
deleted runs and experiments accept nothing but a restore.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from runstream.core.rows import ExperimentRow, MetricBlock, RunRow
from runstream.core.runs import (
    Lifecycle,
    RunStatus,
    default_artifact_location,
    end_run,
    run_artifact_uri,
)
from runstream.core.working import EventRejectedError, Reason, Working
from runstream.events import DATASET_CONTEXT_TAG, Envelope, EventType, RunInputsBody
from runstream.events.bodies import (
    ArtifactLoggedBody,
    ExperimentCreatedBody,
    ExperimentDeletedBody,
    ExperimentRenamedBody,
    ExperimentRestoredBody,
    ExperimentTagDeletedBody,
    ExperimentTagSetBody,
    ModelLoggedBody,
    RunDeletedBody,
    RunEndedBody,
    RunMetricsBody,
    RunParamsBody,
    RunRestoredBody,
    RunStartedBody,
    RunTagDeletedBody,
    RunTagsBody,
)

# A handler as the dispatch table holds it: the event's type decides its body's class
# (the decoder guarantees it), and each handler is typed with its own body.
Handler = Callable[[Working, Envelope[Any]], None]

DEFAULT_EXPERIMENT_ID = "0"
# MLflow keeps the run name and the run description in tags too; both spellings stay in sync.
RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"


def _rid(env: Envelope[Any]) -> str:
    # The envelope validator guarantees routing fields; this keeps mypy honest.
    if env.run_id is None:
        raise EventRejectedError(Reason.MALFORMED, f"{env.type} without run_id")
    return env.run_id


def _eid(env: Envelope[Any]) -> str:
    if env.experiment_id is None:
        raise EventRejectedError(Reason.MALFORMED, f"{env.type} without experiment_id")
    return env.experiment_id


def _check_name_free(w: Working, name: str, experiment_id: str) -> None:
    for exp in w.experiments.values():
        if exp.name == name and exp.experiment_id != experiment_id:
            raise EventRejectedError(
                Reason.EXPERIMENT_NAME_TAKEN,
                f"experiment name {name!r} is taken by experiment {exp.experiment_id}",
            )


def _live_experiment(w: Working, env: Envelope[Any]) -> ExperimentRow:
    exp = w.experiment(_eid(env))
    if exp.lifecycle_stage == Lifecycle.DELETED:
        raise EventRejectedError(
            Reason.EXPERIMENT_DELETED, f"experiment {exp.experiment_id} is deleted"
        )
    return exp


def experiment_created(w: Working, env: Envelope[ExperimentCreatedBody]) -> None:
    """``experiment.created``: a new experiment with a unique name."""
    eid, body = _eid(env), env.body
    if eid in w.experiments:
        raise EventRejectedError(Reason.EXPERIMENT_EXISTS, f"experiment {eid} already exists")
    _check_name_free(w, body.name, eid)
    location = body.artifact_location or default_artifact_location(w.artifact_root, eid)
    w.experiments[eid] = ExperimentRow(
        eid, body.name, location, Lifecycle.ACTIVE.value, env.produced_at, env.produced_at
    )
    w.touch("experiments", (eid,))
    for key, value in body.tags.items():
        w.set_kv("experiment_tags", (eid, key), (eid, key, value))


def experiment_renamed(w: Working, env: Envelope[ExperimentRenamedBody]) -> None:
    """``experiment.renamed``: a new, unused name for a live experiment."""
    exp = _live_experiment(w, env)
    _check_name_free(w, env.body.name, exp.experiment_id)
    exp.name = env.body.name
    exp.last_update_time = env.produced_at
    w.touch("experiments", (exp.experiment_id,))


def experiment_tag_set(w: Working, env: Envelope[ExperimentTagSetBody]) -> None:
    """``experiment.tag_set``: last write wins."""
    exp = _live_experiment(w, env)
    key, value = env.body.key, env.body.value
    w.set_kv("experiment_tags", (exp.experiment_id, key), (exp.experiment_id, key, value))


def experiment_tag_deleted(w: Working, env: Envelope[ExperimentTagDeletedBody]) -> None:
    """``experiment.tag_deleted``: removes the tag (a missing tag is not an error)."""
    exp = _live_experiment(w, env)
    w.set_kv("experiment_tags", (exp.experiment_id, env.body.key), None)


def _experiment_lifecycle(new: Lifecycle) -> Handler:
    def apply(w: Working, env: Envelope[ExperimentDeletedBody | ExperimentRestoredBody]) -> None:
        exp = w.experiment(_eid(env))
        if exp.experiment_id == DEFAULT_EXPERIMENT_ID and new == Lifecycle.DELETED:
            raise EventRejectedError(
                Reason.BAD_TRANSITION, "the Default experiment cannot be deleted"
            )
        if exp.lifecycle_stage != new:
            exp.lifecycle_stage = new.value
            exp.last_update_time = env.produced_at
            w.touch("experiments", (exp.experiment_id,))

    return apply


def run_started(w: Working, env: Envelope[RunStartedBody]) -> None:
    """``run.started``: a new run; its experiment may not have arrived yet (other partition)."""
    rid, body = _rid(env), env.body
    eid = env.experiment_id or DEFAULT_EXPERIMENT_ID
    if rid in w.runs:
        raise EventRejectedError(Reason.RUN_EXISTS, f"run {rid} was already started")
    exp = w.experiments.get(eid)
    if exp is not None and exp.lifecycle_stage == Lifecycle.DELETED:
        raise EventRejectedError(Reason.EXPERIMENT_DELETED, f"experiment {eid} is deleted")
    location = (exp.artifact_location if exp else None) or default_artifact_location(
        w.artifact_root, eid
    )
    w.runs[rid] = RunRow(
        run_id=rid,
        experiment_id=eid,
        run_name=body.run_name,
        user_id=body.user_id,
        status=RunStatus.RUNNING.value,
        start_time=body.start_time,
        end_time=None,
        lifecycle_stage=Lifecycle.ACTIVE.value,
        source_name=body.source_name,
        source_type=str(body.source_type),
        git_commit=body.git_commit,
        parent_run_id=body.parent_run_id,
        artifact_uri=run_artifact_uri(location, rid),
        description=body.description,
    )
    w.touch("runs", (rid,))
    tags: dict[str, str] = {RUN_NAME_TAG: body.run_name}
    if body.description is not None:
        tags[NOTE_TAG] = body.description
    tags.update(body.tags)
    for key, value in tags.items():
        _set_run_tag(w, w.runs[rid], key, value)


def _set_run_tag(w: Working, run: RunRow, key: str, value: str) -> None:
    w.set_kv("tags", (run.run_id, key), (run.run_id, key, value))
    if key == RUN_NAME_TAG and run.run_name != value:
        run.run_name = value
        w.touch("runs", (run.run_id,))
    elif key == NOTE_TAG and run.description != value:
        run.description = value
        w.touch("runs", (run.run_id,))


def run_params(w: Working, env: Envelope[RunParamsBody]) -> None:
    """``run.params``: every param is new or logged again with the same value."""
    run = w.active_run(env.run_id)
    new: dict[str, str] = {}
    for entry in env.body.params:
        before = new.get(entry.key, w.params.get((run.run_id, entry.key)))
        if before is not None and before != entry.value:
            raise EventRejectedError(
                Reason.PARAM_CONFLICT,
                f"param {entry.key!r} of run {run.run_id} is {before!r}; "
                f"cannot change it to {entry.value!r} (params are immutable)",
            )
        if before is None:
            new[entry.key] = entry.value
    for key, value in new.items():
        w.params[(run.run_id, key)] = value
        w.set_kv("params", (run.run_id, key), (run.run_id, key, value))


def run_metrics(w: Working, env: Envelope[RunMetricsBody]) -> None:
    """``run.metrics``: points stay columnar; the lake writer explodes them in bulk."""
    run = w.active_run(env.run_id)
    body = env.body
    # The body's columns are immutable tuples: the block shares them (no copy).
    w.blocks.append(MetricBlock(run.run_id, body.keys, body.values, body.steps, body.timestamps))


def run_tags(w: Working, env: Envelope[RunTagsBody]) -> None:
    """``run.tags``: last write wins per key."""
    run = w.active_run(env.run_id)
    for entry in env.body.tags:
        _set_run_tag(w, run, entry.key, entry.value)


def run_tag_deleted(w: Working, env: Envelope[RunTagDeletedBody]) -> None:
    """``run.tag_deleted``: removes the tag (a missing tag is not an error)."""
    run = w.active_run(env.run_id)
    w.set_kv("tags", (run.run_id, env.body.key), None)


def run_ended(w: Working, env: Envelope[RunEndedBody]) -> None:
    """``run.ended``: the first terminal status wins; a repeat of it is harmless."""
    run = w.active_run(env.run_id)
    # end_run raises InvalidTransitionError; the dispatcher turns it into bad_transition.
    if end_run(run.status, str(env.body.status)):
        run.status = str(env.body.status)
        run.end_time = env.body.end_time
        w.touch("runs", (run.run_id,))


def _run_lifecycle(new: Lifecycle) -> Handler:
    def apply(w: Working, env: Envelope[RunDeletedBody | RunRestoredBody]) -> None:
        rid = _rid(env)
        run = w.runs.get(rid)
        if run is None:
            raise EventRejectedError(Reason.UNKNOWN_RUN, f"run {rid!r} was never started")
        if run.lifecycle_stage != new:
            run.lifecycle_stage = new.value
            w.touch("runs", (rid,))

    return apply


def artifact_logged(w: Working, env: Envelope[ArtifactLoggedBody]) -> None:
    """``artifact.logged``: logging a path again replaces the entry."""
    run = w.active_run(env.run_id)
    b = env.body
    w.set_kv(
        "artifacts",
        (run.run_id, b.path),
        (run.run_id, b.path, b.uri, b.size, b.sha256, b.media_type, env.produced_at),
    )


def _json(value: Any) -> str | None:
    # Sorted keys: a replay must write byte-identical JSON for `rebuild` to compare.
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def model_logged(w: Working, env: Envelope[ModelLoggedBody]) -> None:
    """``model.logged``: one row per (run, artifact path)."""
    run = w.active_run(env.run_id)
    b = env.body
    w.set_kv(
        "logged_models",
        (run.run_id, b.artifact_path),
        (
            run.run_id,
            b.artifact_path,
            b.model_uuid,
            _json(b.flavors),
            _json(b.signature),
            _json(b.input_example),
            env.produced_at,
        ),
    )


def run_inputs(w: Working, env: Envelope[RunInputsBody]) -> None:
    """``run.inputs``: one row per (run, dataset name, digest); logging it again replaces it."""
    run = w.active_run(env.run_id)
    for entry in env.body.datasets:
        d = entry.dataset
        tags = {t.key: t.value for t in entry.tags}
        w.set_kv(
            "dataset_inputs",
            (run.run_id, d.name, d.digest),
            (
                run.run_id,
                d.name,
                d.digest,
                d.source_type,
                d.source,
                d.schema_,
                d.profile,
                tags.get(DATASET_CONTEXT_TAG),
                _json(tags),
                env.produced_at,
            ),
        )


HANDLERS: dict[EventType, Handler] = {
    EventType.EXPERIMENT_CREATED: experiment_created,
    EventType.EXPERIMENT_RENAMED: experiment_renamed,
    EventType.EXPERIMENT_TAG_SET: experiment_tag_set,
    EventType.EXPERIMENT_TAG_DELETED: experiment_tag_deleted,
    EventType.EXPERIMENT_DELETED: _experiment_lifecycle(Lifecycle.DELETED),
    EventType.EXPERIMENT_RESTORED: _experiment_lifecycle(Lifecycle.ACTIVE),
    EventType.RUN_STARTED: run_started,
    EventType.RUN_PARAMS: run_params,
    EventType.RUN_METRICS: run_metrics,
    EventType.RUN_TAGS: run_tags,
    EventType.RUN_TAG_DELETED: run_tag_deleted,
    EventType.RUN_ENDED: run_ended,
    EventType.RUN_DELETED: _run_lifecycle(Lifecycle.DELETED),
    EventType.RUN_RESTORED: _run_lifecycle(Lifecycle.ACTIVE),
    EventType.RUN_INPUTS: run_inputs,
    EventType.ARTIFACT_LOGGED: artifact_logged,
    EventType.MODEL_LOGGED: model_logged,
}

__all__ = ["HANDLERS", "Handler"]
