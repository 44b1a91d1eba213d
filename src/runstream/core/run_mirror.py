"""One run as the lake will hold it, folded in memory from the events written to it.

A writer that started a run and wrote every event of it since (the MLflow gateway
for runs created through it) can answer a read of the run before the materializer
has committed those events, instead of waiting for it. The mirror applies the same
reducer the materializer applies (:func:`runstream.core.projection.reduce_batch`)
to the same events, so what it shows is what the lake will show once it holds
them: the rules (params immutable, last tag wins, the latest metric by
``(step, timestamp, value)``, the first terminal status wins, rejected events
change nothing) are written once.

What a mirror cannot know is what *other* writers sent to the same run; readers
use it only while the lake does not yet hold the mirror's last write, and read the
lake afterwards.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from runstream.core.metrics import LatestMetric, fold_latest
from runstream.core.positions import Position
from runstream.core.projection import Delivered, reduce_batch
from runstream.core.rows import ExperimentRow, RunRow
from runstream.core.working import Key, Row, StateView
from runstream.events import Envelope, EventType


@dataclass
class RunMirror:
    """A run's rows as the lake will hold them after the events applied so far.

    Attributes:
        run: its ``runs`` row.
        params: param values by key.
        tags: tag values by key.
        metrics: the summary of each metric (``latest_metrics``).
        inputs: ``dataset_inputs`` rows by ``(run_id, name, digest)``.
        outputs: ``logged_model_outputs`` rows by ``(run_id, model_id)``.
        model_inputs: ``logged_model_inputs`` rows by ``(run_id, model_id)``.
        position: the log position of the last event applied (None before any).
    """

    run: RunRow
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, LatestMetric] = field(default_factory=dict)
    inputs: dict[Key, Row] = field(default_factory=dict)
    outputs: dict[Key, Row] = field(default_factory=dict)
    model_inputs: dict[Key, Row] = field(default_factory=dict)
    position: Position | None = None

    @classmethod
    def start(
        cls,
        started: Envelope[Any],
        experiment: ExperimentRow | None,
        artifact_root: str,
    ) -> RunMirror | None:
        """The mirror of a run from its ``run.started`` event (None: the lake would refuse it).

        Args:
            started: the run's ``run.started`` event.
            experiment: the experiment as the writer knows it (its artifact location
                decides the run's), or None when unknown.
            artifact_root: ``s3://bucket`` of experiments without a location.
        """
        state = StateView(experiments={experiment.experiment_id: experiment} if experiment else {})
        result = reduce_batch([_delivered(started)], state, artifact_root=artifact_root)
        row = result.upserts.get("runs", {}).get((started.run_id,))
        if result.rejections or row is None:
            return None
        mirror = cls(RunRow(*row))
        mirror._take(result.upserts)
        return mirror

    def apply(self, events: Iterable[Envelope[Any]], artifact_root: str) -> None:
        """Apply later events of this run, in log order (refused ones change nothing)."""
        mine = [_delivered(e) for e in events if e.run_id == self.run.run_id]
        if not mine:
            return
        state = StateView(
            runs={self.run.run_id: self.run},
            params={(self.run.run_id, k): v for k, v in self.params.items()},
        )
        result = reduce_batch(mine, state, artifact_root=artifact_root)
        row = result.upserts.get("runs", {}).get((self.run.run_id,))
        if row is not None:
            self.run = RunRow(*row)
        self._take(result.upserts)
        for block in result.metric_blocks:
            by_key: dict[str, list[tuple[float, int, int]]] = {}
            for k, v, s, t in zip(
                block.keys, block.values, block.steps, block.timestamps, strict=True
            ):
                by_key.setdefault(k, []).append((v, s, t))
            for key, points in by_key.items():
                latest = fold_latest(self.metrics.get(key), points)
                if latest is not None:
                    self.metrics[key] = latest

    def _take(self, upserts: dict[str, dict[Key, Row | None]]) -> None:
        for table, target in (("params", self.params), ("tags", self.tags)):
            for (_run, key), row in upserts.get(table, {}).items():
                if row is None:
                    target.pop(key, None)
                else:
                    target[key] = row[2]
        for table, rows in (
            ("dataset_inputs", self.inputs),
            ("logged_model_outputs", self.outputs),
            ("logged_model_inputs", self.model_inputs),
        ):
            for key, row in upserts.get(table, {}).items():
                rows.pop(key, None)  # logging again moves it last, as ``logged_at`` does
                if row is not None:
                    rows[key] = row


def _delivered(event: Envelope[Any]) -> Delivered:
    return Delivered("", 0, 0, b"", event)


class RunMirrors:
    """Mirrors of the runs one writer started, by run id (the oldest forgotten past capacity).

    Args:
        artifact_root: ``s3://bucket`` of experiments without a location.
        capacity: runs kept.
    """

    def __init__(self, artifact_root: str, capacity: int = 10_000) -> None:
        self.artifact_root = artifact_root
        self._capacity = capacity
        self._runs: OrderedDict[str, RunMirror] = OrderedDict()

    def get(self, run_id: str) -> RunMirror | None:
        """The mirror of a run this writer started, if still kept."""
        return self._runs.get(run_id)

    def written(
        self,
        events: Iterable[tuple[Envelope[Any], Position]],
        experiment: Callable[[str], ExperimentRow | None],
    ) -> None:
        """Fold events the log acknowledged, in order, into the mirrors they belong to.

        A ``run.started`` begins a mirror (``experiment``: what the writer knows of
        the run's experiment, by id); an event of a run without a mirror is ignored.
        """
        for event, position in events:
            run_id = event.run_id
            if run_id is None:
                continue
            if event.type is EventType.RUN_STARTED:
                known = experiment(event.experiment_id or "")
                started = RunMirror.start(event, known, self.artifact_root)
                if started is None:
                    continue
                self._runs[run_id] = started
                mirror = started
            else:
                found = self._runs.get(run_id)
                if found is None:
                    continue
                found.apply([event], self.artifact_root)
                mirror = found
            mirror.position = position
            self._runs.move_to_end(run_id)
        while len(self._runs) > self._capacity:
            self._runs.popitem(last=False)


__all__ = ["RunMirror", "RunMirrors"]
