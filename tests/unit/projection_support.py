"""Helpers for projection tests: event builders and an in-memory lake.

``MemoryLake`` applies :class:`BatchResult` objects the way the lake writer does
(model moves in order, then upserts by key, then appends) and serves state views, so tests can
check that splitting a stream into batches never changes the outcome.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from runstream.core.metrics import LatestMetric, fold_latest
from runstream.core.projection import BatchResult, Delivered, reduce_batch, state_keys
from runstream.core.rows import ExperimentRow, LoggedModelRow, ModelRow, RunRow, VersionRow
from runstream.core.working import PURGED_ON_MODEL_DELETE, RENAMED_WITH_MODEL, StateView
from runstream.events import Envelope, EventType, encode, make_event, new_run_id

ROOT = "s3://artifacts"
_offsets = itertools.count()


def ev(event_type: EventType, body: dict[str, Any], **routing: Any) -> Envelope[Any]:
    """Build a valid event with a fresh id."""
    return make_event(event_type, body, **routing)


def deliver(*events: Envelope[Any], topic: str = "t.events", partition: int = 0) -> list[Delivered]:
    """Wrap events as if read from the log, at increasing offsets."""
    return [Delivered(topic, partition, next(_offsets), encode(e), e) for e in events]


def run_started(run_id: str | None = None, experiment_id: str = "0", **body: Any) -> Envelope[Any]:
    """A ``run.started`` event with sensible defaults."""
    fields = {
        "run_name": "r",
        "user_id": "u",
        "source_name": "train.py",
        "source_type": "LOCAL",
        "start_time": 1000,
    }
    fields.update(body)
    return ev(
        EventType.RUN_STARTED, fields, run_id=run_id or new_run_id(), experiment_id=experiment_id
    )


def metrics(run_id: str, points: list[tuple[str, float, int, int]]) -> Envelope[Any]:
    """A ``run.metrics`` event from (key, value, step, timestamp) points."""
    return ev(
        EventType.RUN_METRICS,
        {
            "keys": [p[0] for p in points],
            "values": [p[1] for p in points],
            "steps": [p[2] for p in points],
            "timestamps": [p[3] for p in points],
        },
        run_id=run_id,
    )


def params(run_id: str, **kv: str) -> Envelope[Any]:
    """A ``run.params`` event."""
    return ev(
        EventType.RUN_PARAMS, {"params": [{"key": k, "value": v} for k, v in kv.items()]},
        run_id=run_id,
    )


def reg(event_type: EventType, name: str, **body: Any) -> Envelope[Any]:
    """A registry event for model ``name``."""
    return ev(event_type, body, model_name=name)


class MemoryLake:
    """An in-memory stand-in for the lake, applying results like the writer does."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = defaultdict(dict)
        self.appends: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.latest: dict[tuple[str, str], LatestMetric] = {}
        self.points = 0
        self.event_ids: set[str] = set()
        self.tables["experiments"][("0",)] = ("0", "Default", None, "active", 0, 0)

    def state(self, batch: list[Delivered]) -> StateView:
        keys = state_keys(batch)
        t = self.tables
        return StateView(
            experiments={
                k[0]: ExperimentRow(*r)
                for k, r in t["experiments"].items()
                if k[0] in keys.experiment_ids or r[1] in keys.experiment_names
            },
            runs={k[0]: RunRow(*r) for k, r in t["runs"].items() if k[0] in keys.run_ids},
            params={k: r[2] for k, r in t["params"].items() if k[0] in keys.param_run_ids},
            models={
                k[0]: ModelRow(*r)
                for k, r in t["registered_models"].items()
                if k[0] in keys.model_names
            },
            versions={
                k: VersionRow(*r) for k, r in t["model_versions"].items()
                if k[0] in keys.model_names
            },
            aliases={
                k: r[2] for k, r in t["registered_model_aliases"].items()
                if k[0] in keys.model_names
            },
            logged_models={
                k[0]: LoggedModelRow(*r) for k, r in t["mlflow_logged_models"].items()
                if k[0] in keys.logged_model_ids
            },
            seen_event_ids=self.event_ids & keys.event_ids,
        )

    def apply(self, result: BatchResult) -> None:
        for move in result.model_moves:
            if move.new_name is None:
                for table in PURGED_ON_MODEL_DELETE:
                    rows = self.tables[table]
                    for key in [k for k in rows if k[0] == move.name]:
                        del rows[key]
                continue
            for table in RENAMED_WITH_MODEL:
                new = move.new_name
                if table == "stage_transitions":
                    history = self.appends[table]
                    history[:] = [(new, *r[1:]) if r[0] == move.name else r for r in history]
                    continue
                rows = self.tables[table]
                for key in [k for k in rows if k[0] == move.name]:
                    rows[(new, *key[1:])] = (new, *rows.pop(key)[1:])
        for table, changes in result.upserts.items():
            for key, row in changes.items():
                if row is None:
                    self.tables[table].pop(key, None)
                else:
                    self.tables[table][key] = row
        for table, rows in result.appends.items():
            self.appends[table].extend(rows)
        for block in result.metric_blocks:
            self.points += len(block)
            for key, value, step, ts in zip(
                block.keys, block.values, block.steps, block.timestamps, strict=True
            ):
                current = self.latest.get((block.run_id, key))
                self.latest[(block.run_id, key)] = fold_latest(current, [(value, step, ts)])  # type: ignore[assignment]
        self.event_ids.update(d.event.event_id for d in result.accepted)

    def feed(self, batch: list[Delivered]) -> BatchResult:
        result = reduce_batch(batch, self.state(batch), artifact_root=ROOT)
        self.apply(result)
        return result

    def row(self, table: str, *key: Any) -> tuple[Any, ...] | None:
        return self.tables[table].get(tuple(key))
