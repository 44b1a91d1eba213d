"""Batch boundaries never change the outcome: one batch or many, the same lake.

This is what makes ``runstream rebuild`` and crash recovery sound: a replay cut
into other batches must reproduce the live tables exactly.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from projection_support import MemoryLake, deliver, ev, metrics, params, reg, run_started

from runstream.core.projection import Delivered
from runstream.events import Envelope, EventType, new_run_id


def _stream(seed: int) -> list[Envelope[Any]]:
    rng = random.Random(seed)
    runs: list[str] = []
    out: list[Envelope[Any]] = [
        ev(EventType.EXPERIMENT_CREATED, {"name": "e1"}, experiment_id="1"),
        reg(EventType.REGISTRY_MODEL_CREATED, "m"),
    ]
    for _ in range(300):
        roll = rng.random()
        if roll < 0.1 or not runs:
            rid = new_run_id()
            runs.append(rid)
            out.append(run_started(rid, experiment_id=rng.choice(["0", "1"])))
            continue
        rid = rng.choice(runs)
        if roll < 0.4:
            pts = [
                (
                    rng.choice("abc"),
                    rng.choice([rng.random(), float("nan")]),
                    rng.randrange(5),
                    rng.randrange(3),
                )
                for _ in range(rng.randrange(1, 6))
            ]
            out.append(metrics(rid, pts))
        elif roll < 0.55:
            out.append(params(rid, **{rng.choice("xyz"): rng.choice("12")}))
        elif roll < 0.65:
            out.append(
                ev(
                    EventType.RUN_TAGS,
                    {"tags": [{"key": rng.choice("pq"), "value": str(rng.random())}]},
                    run_id=rid,
                )
            )
        elif roll < 0.7:
            out.append(
                ev(
                    EventType.RUN_ENDED,
                    {"status": rng.choice(["FINISHED", "FAILED"]), "end_time": 5},
                    run_id=rid,
                )
            )
        elif roll < 0.75:
            kind = rng.choice([EventType.RUN_DELETED, EventType.RUN_RESTORED])
            out.append(ev(kind, {}, run_id=rid))
        elif roll < 0.85:
            out.append(
                reg(
                    EventType.REGISTRY_VERSION_REQUESTED,
                    "m",
                    request_id=str(uuid.uuid4()),
                    source="s3://b/m",
                )
            )
        elif roll < 0.95:
            out.append(
                reg(
                    EventType.REGISTRY_STAGE_CHANGED,
                    "m",
                    version=rng.randrange(1, 6),
                    stage=rng.choice(["Staging", "Production"]),
                    archive_existing_versions=rng.random() < 0.5,
                )
            )
        else:
            out.append(
                reg(
                    EventType.REGISTRY_ALIAS_SET,
                    "m",
                    alias=rng.choice(["a", "b"]),
                    version=rng.randrange(1, 6),
                )
            )
    # Producer retries: some events delivered twice, later in the log.
    for e in rng.sample(out, 20):
        out.insert(rng.randrange(out.index(e), len(out) + 1), e)
    return out


def _cut(events: list[Delivered], rng: random.Random) -> list[list[Delivered]]:
    batches: list[list[Delivered]] = []
    i = 0
    while i < len(events):
        n = rng.randrange(1, 40)
        batches.append(events[i : i + n])
        i += n
    return batches


def _snapshot(lake: MemoryLake) -> tuple[Any, ...]:
    latest = {k: repr(v) for k, v in lake.latest.items()}  # repr: NaN == NaN
    return (dict(lake.tables), dict(lake.appends), latest, lake.points, lake.event_ids)


def test_any_cut_into_batches_gives_the_same_lake() -> None:
    for seed in range(5):
        delivered = deliver(*_stream(seed))
        whole = MemoryLake()
        reference = whole.feed(delivered)
        assert reference.duplicates > 10
        for cut_seed in range(3):
            lake = MemoryLake()
            rejected = 0
            for batch in _cut(delivered, random.Random(cut_seed)):
                rejected += len(lake.feed(batch).rejections)
            assert rejected == len(reference.rejections)
            assert _snapshot(lake) == _snapshot(whole)
