"""Runs at scale: create many small runs, then search them.

Each run gets ``params`` params (``p0`` takes ten values), ``metrics`` metrics (one value each,
uniform in [0, 1), seeded by the run's number) and ``tags`` tags, then ends. Creation is timed
until every run is searchable (the last run of every writer thread readable by ``runs/get``,
then a paged ``runs/search`` counting them all). Then, through ``runs/search``:

- filtered + ordered: ``metrics.m0 > 0.5 and params.p0 = 'v3'`` ordered by ``metrics.m1 DESC``,
  100 results; the answer is checked against what was written;
- unfiltered first page of 1,000 (MLflow's default page);
- paging through all runs 1,000 at a time.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from functools import partial

from benchmarks.workloads.base import (
    Deadline,
    Measurement,
    Params,
    fmt_count,
    in_threads,
    latency_ms,
    median,
    percentile,
    rate,
    timed,
    wait_until,
)
from benchmarks.workloads.rest import Reader
from benchmarks.workloads.writers import Writer

TITLE = "Runs at scale: creation rate and search latency"
QUICK: Params = {"runs": 60, "params": 5, "metrics": 5, "tags": 3, "search_repeat": 10,
                 "page_repeat": 2, "budget_s": 60, "visible_timeout_s": 90,
                 "client_timeout_s": 300}
# MLflow creates about 13 runs/s here: past budget_s its search runs over what it created.
FULL: Params = {"runs": 100_000, "params": 5, "metrics": 5, "tags": 3, "search_repeat": 30,
                "page_repeat": 3, "budget_s": 1800, "visible_timeout_s": 900,
                "client_timeout_s": 5400}
# One population gives many search samples; repeating means re-creating it (hours on MLflow).
FULL_REPEAT = 1
FILTER = "metrics.m0 > 0.5 and params.p0 = 'v3'"
ORDER_BY = ["metrics.m1 DESC"]
FILTERED_PAGE = 100
PAGE = 1000


def describe(params: Params) -> str:
    """One line of what this size does."""
    return (f"{fmt_count(params['runs'])} runs x ({params['params']} params, "
            f"{params['metrics']} metrics, {params['tags']} tags); search {FILTER!r} "
            f"order by {ORDER_BY[0]}")


def run_data(n: int, params: Params) -> tuple[dict[str, str], dict[str, float], dict[str, str]]:
    """Params, metrics and tags of run number ``n`` (deterministic)."""
    rng = random.Random(n)
    p = {f"p{i}": f"v{(n + i) % 10}" for i in range(params["params"])}
    m = {f"m{i}": rng.random() for i in range(params["metrics"])}
    t = {f"t{i}": f"tag-{n % (i + 2)}" for i in range(params["tags"])}
    return p, m, t


def create_runs(writer: Writer, experiment_id: str, params: Params,
                deadline: Deadline) -> tuple[list[int], list[str]]:
    """Create the runs over the writer's threads; numbers written and each thread's last id."""
    written: list[int] = []
    last_ids: list[str] = []
    lock = threading.Lock()

    def work(numbers: range) -> None:
        last = ""
        for n in numbers:
            if deadline.passed():
                break
            run_id = writer.start_run(experiment_id, f"run-{n}")
            writer.log_run_data(run_id, *run_data(n, params))
            writer.end_run(run_id)
            last = run_id
            with lock:
                written.append(n)
        if last:
            with lock:
                last_ids.append(last)

    in_threads(work, params["runs"], writer.threads)
    writer.flush()
    return written, last_ids


def wait_searchable(reader: Reader, experiment_id: str, last_ids: list[str], count: int,
                    params: Params) -> None:
    """Wait until the last runs are readable and a paged search counts every run."""
    timeout = params["visible_timeout_s"]
    for run_id in last_ids:
        wait_until(partial(reader.get_run_exists, run_id), timeout, 0.1, f"run {run_id}")
    wait_until(lambda: len(reader.all_runs([experiment_id], page=PAGE)) >= count, timeout, 0.5,
               f"{count} runs")


def expected_filtered(numbers: list[int], params: Params) -> list[float]:
    """The ``m1`` values, best first, of the runs the filtered search must return."""
    values = []
    for n in numbers:
        p, m, _ = run_data(n, params)
        if m["m0"] > 0.5 and p["p0"] == "v3":
            values.append(m["m1"])
    return sorted(values, reverse=True)[:FILTERED_PAGE]


def check_filtered(reader: Reader, experiment_id: str, expected: list[float]) -> str:
    """Empty when the filtered search returns what was written, else what differs."""
    runs = reader.search_runs([experiment_id], FILTER, ORDER_BY, FILTERED_PAGE)["runs"] or []
    got = [next(m["value"] for m in r["data"]["metrics"] if m["key"] == "m1") for r in runs]
    if len(got) != len(expected) or any(abs(a - b) > 1e-9 for a, b in zip(got, expected,
                                                                         strict=False)):
        return f"WRONG: filtered search gave {len(got)} runs, expected {len(expected)}"
    return ""


def measure(writer: Writer, reader: Reader, params: Params) -> list[Measurement]:
    """Create, wait until searchable, then time the three searches."""
    name = f"bench-runs-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    experiment_id = writer.create_experiment(name)
    numbers, last_ids = create_runs(writer, experiment_id, params, Deadline(params["budget_s"]))
    experiment_id = experiment_id or reader.wait_experiment_id(name, params["visible_timeout_s"])
    wait_searchable(reader, experiment_id, last_ids, len(numbers), params)
    created = time.perf_counter() - start
    wrong = check_filtered(reader, experiment_id, expected_filtered(numbers, params))
    filtered = timed(lambda: reader.search_runs([experiment_id], FILTER, ORDER_BY,
                                                FILTERED_PAGE), params["search_repeat"])
    first = timed(lambda: reader.search_runs([experiment_id], max_results=PAGE),
                  params["search_repeat"])
    paging = timed(lambda: reader.all_runs([experiment_id], page=PAGE), params["page_repeat"])
    capped = len(numbers) < params["runs"]
    size_note = f"over {fmt_count(len(numbers))} runs (capped)" if capped else ""
    return [
        rate("runs created/s until searchable", len(numbers), created, "runs/s", size_note),
        latency_ms("filtered+ordered search p50", median(filtered), wrong or size_note),
        latency_ms("filtered+ordered search p95", percentile(filtered, 95), wrong or size_note),
        latency_ms("unfiltered first page (1,000) p50", median(first), size_note),
        Measurement("page through all runs (1,000 per page)", median(paging), "s", False,
                    size_note),
    ]
