"""The projection: a pure reducer from a batch of decoded events to lake row changes.

``reduce_batch(events, state)`` applies events in log order to the
:class:`~runstream.core.working.StateView` the lake holds for the entities they
touch, and returns every row change plus the rejected events with their reasons.
It does no I/O: the materializer loads the state view (``state_keys`` says which
rows), calls the reducer, and writes the result in one lake transaction.

Rules applied, in this order, for each event:

1. An event id accepted earlier in the batch, or already in the lake's ``events``,
   is a duplicate (a producer retry): it is dropped and counted, not rejected. A
   retry of a rejected event is judged again, so batch boundaries never matter.
2. The handler of its type applies it whole, or rejects it whole with a reason
   (``core.working.Reason``); a rejected event changes nothing, and the batch goes on.
3. Accepted events are archived verbatim (the lake's ``events`` table), so the
   projection can be rebuilt by replaying them through this same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runstream.core import (
    project_auth,
    project_logged_models,
    project_registry,
    project_serving,
    project_tracking,
)
from runstream.core.rows import MetricBlock, PointColumns
from runstream.core.working import (
    EventRejectedError,
    Key,
    ModelMove,
    Reason,
    Row,
    StateView,
    Working,
)
from runstream.errors import InvalidTransitionError
from runstream.events import Envelope, EventType

_HANDLERS = {
    **project_tracking.HANDLERS,
    **project_logged_models.HANDLERS,
    **project_registry.HANDLERS,
    **project_auth.HANDLERS,
    **project_serving.HANDLERS,
}


@dataclass(frozen=True, slots=True)
class Delivered:
    """A decoded event and where it was read from.

    Attributes:
        topic: Kafka topic.
        partition: Kafka partition.
        offset: Kafka offset.
        payload: the message value as received (archived verbatim).
        event: the decoded envelope.
        columns: for ``run.metrics``, the points already converted for the lake by
            whoever decoded the event (see ``MetricBlock.columns``), or None.
    """

    topic: str
    partition: int
    offset: int
    payload: bytes
    event: Envelope[Any]
    columns: PointColumns | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event refused by the decoder or the projection.

    Attributes:
        topic: Kafka topic.
        partition: Kafka partition.
        offset: Kafka offset.
        payload: the message value as received.
        event_id: the event id when the bytes got that far, else None.
        reason: machine-readable reason (``param_conflict``, ``schema``, ...).
        detail: what a person needs to fix it.
    """

    topic: str
    partition: int
    offset: int
    payload: bytes
    event_id: str | None
    reason: str
    detail: str

    @property
    def text(self) -> str:
        """``reason: detail``, as stored in ``rejected_events.reason``."""
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True)
class StateKeys:
    """Which rows the state view of a batch must hold.

    Attributes:
        run_ids: runs the batch refers to.
        param_run_ids: runs whose existing params are needed (they log params).
        experiment_ids: experiments the batch refers to (run.started included).
        experiment_names: names the batch gives experiments (uniqueness checks).
        model_names: registered models the batch refers to (with all their versions;
            a rename refers to both names).
        event_ids: every event id of the batch (duplicate check against the lake).
        logged_model_ids: MLflow 3 logged models the batch changes.
    """

    run_ids: frozenset[str]
    param_run_ids: frozenset[str]
    experiment_ids: frozenset[str]
    experiment_names: frozenset[str]
    model_names: frozenset[str]
    event_ids: frozenset[str]
    logged_model_ids: frozenset[str] = frozenset()


def state_keys(events: Sequence[Delivered]) -> StateKeys:
    """Return the keys of the rows that :func:`reduce_batch` needs for ``events``."""
    runs: set[str] = set()
    param_runs: set[str] = set()
    experiments: set[str] = set()
    names: set[str] = set()
    models: set[str] = set()
    logged_models: set[str] = set()
    for d in events:
        env = d.event
        model_id = project_logged_models.logged_model_id(env)
        if model_id is not None:
            logged_models.add(model_id)
        if env.run_id is not None:
            runs.add(env.run_id)
            if env.type is EventType.RUN_PARAMS:
                param_runs.add(env.run_id)
        if env.experiment_id is not None:
            experiments.add(env.experiment_id)
            if env.type in (EventType.EXPERIMENT_CREATED, EventType.EXPERIMENT_RENAMED):
                names.add(env.body.name)
        if env.model_name is not None:
            models.add(env.model_name)
            if env.type is EventType.REGISTRY_MODEL_RENAMED:
                models.add(env.body.old_name)
    return StateKeys(
        run_ids=frozenset(runs),
        param_run_ids=frozenset(param_runs),
        experiment_ids=frozenset(experiments),
        experiment_names=frozenset(names),
        model_names=frozenset(models),
        event_ids=frozenset(d.event.event_id for d in events),
        logged_model_ids=frozenset(logged_models),
    )


@dataclass
class BatchResult:
    """Everything one batch changes, ready for one lake transaction.

    Attributes:
        upserts: per table, the final row of every changed key (None: delete it).
        model_moves: models whose registry rows are deleted or renamed, in log order,
            before the upserts (``core.working.ModelMove``).
        appends: per append-only table (``stage_transitions``), rows to add.
        metric_blocks: metric points, columnar, for ``metrics`` and ``latest_metrics``.
        accepted: events to archive in ``events``, in log order.
        rejections: events refused, with reasons.
        duplicates: events dropped as duplicates.
    """

    upserts: dict[str, dict[Key, Row | None]] = field(default_factory=dict)
    model_moves: list[ModelMove] = field(default_factory=list)
    appends: dict[str, list[Row]] = field(default_factory=dict)
    metric_blocks: list[MetricBlock] = field(default_factory=list)
    accepted: list[Delivered] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    duplicates: int = 0

    @property
    def metric_points(self) -> int:
        """Number of metric points in the batch."""
        return sum(len(b) for b in self.metric_blocks)


def reject(d: Delivered, reason: str, detail: str, event_id: str | None = None) -> Rejection:
    """Build the rejection of a delivered event (also used for undecodable messages)."""
    return Rejection(d.topic, d.partition, d.offset, d.payload, event_id, reason, detail)


def reduce_batch(
    events: Sequence[Delivered], state: StateView, *, artifact_root: str
) -> BatchResult:
    """Apply a batch of events, in log order, to the state the lake holds for them.

    Args:
        events: decoded events in log order (per partition; partitions interleave freely).
        state: the rows named by :func:`state_keys` for these events, and the ids of
            these events that the lake already holds.
        artifact_root: ``s3://bucket`` under which experiments without an explicit
            artifact location keep their artifacts.

    Returns:
        The row changes, the accepted events to archive, and the rejections.
    """
    w = Working(state, artifact_root)
    result = BatchResult()
    seen = set(state.seen_event_ids)
    for d in events:
        env = d.event
        if env.event_id in seen:
            result.duplicates += 1
            continue
        blocks_before = len(w.blocks)
        try:
            _HANDLERS[env.type](w, env)
        except EventRejectedError as exc:
            del w.blocks[blocks_before:]
            result.rejections.append(
                Rejection(d.topic, d.partition, d.offset, d.payload, env.event_id,
                          exc.reason.value, str(exc))
            )
            continue
        except InvalidTransitionError as exc:
            del w.blocks[blocks_before:]
            result.rejections.append(
                Rejection(d.topic, d.partition, d.offset, d.payload, env.event_id,
                          Reason.BAD_TRANSITION.value, str(exc))
            )
            continue
        except Exception as exc:  # a bug in a handler must not stop the pipeline
            del w.blocks[blocks_before:]
            result.rejections.append(
                Rejection(d.topic, d.partition, d.offset, d.payload, env.event_id,
                          "internal_error", f"{type(exc).__name__}: {exc}")
            )
            continue
        if d.columns is not None and len(w.blocks) == blocks_before + 1:
            w.blocks[-1] = replace(w.blocks[-1], columns=d.columns)
        # Only accepted ids count as seen: a retry of a rejected event is judged
        # again, exactly as it would be if it arrived in a later batch.
        seen.add(env.event_id)
        result.accepted.append(d)
    result.upserts = w.changes()
    result.model_moves = w.moves
    result.appends = {t: rows for t, rows in w.appends.items() if rows}
    result.metric_blocks = w.blocks
    return result


__all__ = [
    "BatchResult",
    "Delivered",
    "ModelMove",
    "Reason",
    "Rejection",
    "StateKeys",
    "StateView",
    "reduce_batch",
    "reject",
    "state_keys",
]
