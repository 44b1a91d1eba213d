"""Ingest: runs x keys x steps metric points, timed until every point is queryable.

Each run logs ``steps`` training steps of ``keys`` metrics (step-major, as a training loop
does), then ends. The clock starts before the first log call and stops when ``runs/search``
shows, for every run, every key's latest value at the last step. For Runstream a run's events
share one partition and are committed in order, so the last step being visible means the whole
history is; for the peers ``log_batch`` is synchronous. After the clock stops, a sample of full
histories is read back and counted, so a system cannot win by losing points.

Past ``budget_s`` no new run starts: the rate is then over the runs written (noted).
"""

from __future__ import annotations

import threading
import time
import uuid

from benchmarks.workloads.base import (
    Deadline,
    Measurement,
    Params,
    fmt_count,
    in_threads,
    rate,
    wait_until,
)
from benchmarks.workloads.rest import Reader, latest_steps, run_id_of
from benchmarks.workloads.writers import Writer

TITLE = "Ingest: metric points per second until queryable"
# budget_s: no new run starts after it; client_timeout_s: the client process's hard limit.
QUICK: Params = {"runs": 2, "keys": 4, "steps": 250, "budget_s": 60, "visible_timeout_s": 90,
                 "poll_s": 0.1, "verify_runs": 2, "client_timeout_s": 300}
FULL: Params = {"runs": 100, "keys": 20, "steps": 5000, "budget_s": 900,
                "visible_timeout_s": 900, "poll_s": 0.25, "verify_runs": 5,
                "client_timeout_s": 3600}


def describe(params: Params) -> str:
    """One line of what this size does."""
    points = params["runs"] * params["keys"] * params["steps"]
    return (f"{params['runs']} runs x {params['keys']} keys x {fmt_count(params['steps'])} steps "
            f"= {fmt_count(points)} points")


def write_runs(writer: Writer, experiment_id: str, params: Params, deadline: Deadline,
               prefix: str) -> list[str]:
    """Log every run (over the writer's threads); the ids of the runs fully written."""
    keys = [f"metric_{k}" for k in range(params["keys"])]
    steps = params["steps"]
    done: list[str] = []
    lock = threading.Lock()

    def work(indices: range) -> None:
        for r in indices:
            if deadline.passed():
                return
            run_id = writer.start_run(experiment_id, f"{prefix}-{r}")
            log = writer.logger(run_id)
            for step in range(steps):
                for k, key in enumerate(keys):
                    log(key, step * 0.001 + k, step)
            writer.end_run(run_id)
            with lock:
                done.append(run_id)

    in_threads(work, params["runs"], writer.threads)
    writer.flush()
    return done


def all_visible(reader: Reader, experiment_id: str, run_ids: list[str], keys: int,
                last_step: int) -> bool:
    """True when every run shows every key with its latest value at ``last_step``."""
    runs = {run_id_of(r): latest_steps(r) for r in reader.all_runs([experiment_id])}
    for run_id in run_ids:
        latest = runs.get(run_id)
        if latest is None or len(latest) < keys:
            return False
        if any(step != last_step for step in latest.values()):
            return False
    return True


def measure(writer: Writer, reader: Reader, params: Params) -> list[Measurement]:
    """Write, wait until queryable, verify a sample; points/s and client cost per point."""
    name = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    deadline = Deadline(params["budget_s"])
    start = time.perf_counter()
    experiment_id = writer.create_experiment(name)
    run_ids = write_runs(writer, experiment_id, params, deadline, "ingest")
    logged = time.perf_counter()
    experiment_id = experiment_id or reader.wait_experiment_id(name, params["visible_timeout_s"])
    wait_until(
        lambda: all_visible(reader, experiment_id, run_ids, params["keys"], params["steps"] - 1),
        params["visible_timeout_s"], params["poll_s"], f"{len(run_ids)} runs of {name}",
    )
    visible = time.perf_counter()
    points = len(run_ids) * params["keys"] * params["steps"]
    for run_id in run_ids[: params["verify_runs"]]:
        got = reader.history(run_id, "metric_0")
        if got != params["steps"]:
            raise AssertionError(f"run {run_id}: {got} points of metric_0, "
                                 f"expected {params['steps']}")
    capped = len(run_ids) < params["runs"]
    note = (f"capped at {params['budget_s']}s: {len(run_ids)}/{params['runs']} runs, "
            f"{fmt_count(points)} points" if capped else "")
    return [
        rate("points/s until queryable", points, visible - start, "points/s", note),
        Measurement("client wall time per point", (logged - start) / points * 1e6, "µs", False),
        Measurement("last call -> all queryable", visible - logged, "s", False),
    ]
