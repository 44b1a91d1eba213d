"""Long history: one metric of many steps, written once, then read whole and downsampled.

The full read pages ``metrics/get-history`` 25,000 points at a time, as
``MlflowClient.get_metric_history`` does, and checks the count. The downsampled read asks for
about ``points`` points: ``metrics/get-history-bulk-interval`` with ``max_results`` on MLflow and
Runstream (MLflow's own endpoint for its charts), FastTrackML's Aim metric search with
``steps`` (its UI's endpoint; it has no bulk-interval).
"""

from __future__ import annotations

import time
import uuid

from benchmarks.workloads.base import (
    Measurement,
    Params,
    fmt_count,
    latency_ms,
    median,
    rate,
    wait_until,
)
from benchmarks.workloads.rest import Reader, latest_steps
from benchmarks.workloads.writers import Writer

TITLE = "Long history: one metric, full and downsampled reads"
QUICK: Params = {"steps": 5_000, "points": 100, "full_repeat": 2, "sampled_repeat": 5,
                 "visible_timeout_s": 90, "client_timeout_s": 300}
# MLflow reads 1M points in about 100 s (25,000 per page), hence the client limit.
FULL: Params = {"steps": 1_000_000, "points": 1_000, "full_repeat": 3, "sampled_repeat": 15,
                "visible_timeout_s": 600, "client_timeout_s": 3600}
KEY = "loss"


def describe(params: Params) -> str:
    """One line of what this size does."""
    return (f"1 metric x {fmt_count(params['steps'])} steps; downsampled to "
            f"{fmt_count(params['points'])} points")


def measure(writer: Writer, reader: Reader, params: Params) -> list[Measurement]:
    """Write the history, wait until its last step shows, time both reads."""
    steps = params["steps"]
    name = f"bench-history-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    experiment_id = writer.create_experiment(name)
    run_id = writer.start_run(experiment_id, "long-history")
    log = writer.logger(run_id)
    for step in range(steps):
        log(KEY, 1.0 / (step + 1), step)
    writer.end_run(run_id)
    writer.flush()
    wait_until(lambda: latest_steps(reader.get_run(run_id)).get(KEY) == steps - 1,
               params["visible_timeout_s"], 0.1, f"{KEY} of run {run_id}")
    written = time.perf_counter() - start

    counts: list[int] = []
    full = []
    for _ in range(params["full_repeat"]):
        t0 = time.perf_counter()
        counts.append(reader.history(run_id, KEY))
        full.append(time.perf_counter() - t0)
    if any(c != steps for c in counts):
        raise AssertionError(f"full history read returned {counts} points, expected {steps}")

    sampled_counts: list[int] = []
    sampled = []
    for _ in range(params["sampled_repeat"]):
        t0 = time.perf_counter()
        sampled_counts.append(reader.history_downsampled(run_id, KEY, params["points"]))
        sampled.append(time.perf_counter() - t0)
    got = sampled_counts[0]
    # MLflow keeps each bucket's min and max beside the sample: allow a few times the ask.
    if not 0 < got <= params["points"] * 4:
        raise AssertionError(f"downsampled read returned {got} points for {params['points']}")
    return [
        rate("write until queryable", steps, written, "points/s"),
        latency_ms("full history read", median(full)),
        latency_ms(f"downsampled read (~{fmt_count(params['points'])})", median(sampled),
                   f"{got} points returned"),
    ]
