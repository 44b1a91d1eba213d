"""Read load: a second process fires concurrent searches while the first keeps logging.

Steps:

1. create ``runs`` runs as in *runs at scale* and wait until they are searchable;
2. start a second process (this module run as a program, same interpreter) with ``clients``
   threads, each on its own keep-alive connection, firing the filtered + ordered search until
   ``requests`` answers in total or ``seconds`` have passed, whichever comes first;
3. meanwhile this process logs metrics to another run of the experiment at ``ingest_rate``
   points/s, so the searches run while the store takes writes;
4. report requests/s, p50 and p99 over the answers, errors, and the ingest rate held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchmarks.workloads.base import (
    Deadline,
    Measurement,
    Params,
    fmt_count,
    held_rate,
    latency_ms,
    percentile,
    rate,
)
from benchmarks.workloads.rest import Reader
from benchmarks.workloads.runs_at_scale import FILTER, ORDER_BY, create_runs, wait_searchable
from benchmarks.workloads.writers import Writer

TITLE = "Read load: concurrent searches from a second process while logging"
QUICK: Params = {"runs": 40, "params": 5, "metrics": 5, "tags": 3, "clients": 4,
                 "requests": 200, "seconds": 5, "ingest_rate": 1_000, "budget_s": 60,
                 "visible_timeout_s": 90, "client_timeout_s": 300}
FULL: Params = {"runs": 10_000, "params": 5, "metrics": 5, "tags": 3, "clients": 8,
                "requests": 20_000, "seconds": 60, "ingest_rate": 10_000, "budget_s": 900,
                "visible_timeout_s": 600, "client_timeout_s": 3600}
# One population gives many search samples; repeating means re-creating it (hours on MLflow).
FULL_REPEAT = 1
TICK_S = 0.1


def describe(params: Params) -> str:
    """One line of what this size does."""
    return (f"{fmt_count(params['runs'])} runs; {params['clients']} concurrent clients, at most "
            f"{fmt_count(params['requests'])} searches or {params['seconds']} s; "
            f"{fmt_count(params['ingest_rate'])} points/s logged meanwhile")


def fire(spec: dict[str, object]) -> dict[str, object]:
    """The second process: concurrent searches, bounded in count and time."""
    system, url = str(spec["system"]), str(spec["url"])
    experiment_id, clients = str(spec["experiment_id"]), int(str(spec["clients"]))
    budget = int(str(spec["requests"]))
    deadline = Deadline(float(str(spec["seconds"])))
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    issued = [0]

    def client() -> None:
        reader = Reader(system, url, timeout_s=30)
        try:
            while not deadline.passed():
                with lock:
                    if issued[0] >= budget:
                        return
                    issued[0] += 1
                t0 = time.perf_counter()
                try:
                    reader.search_runs([experiment_id], FILTER, ORDER_BY, 100)
                except OSError as exc:
                    with lock:
                        errors.append(str(exc)[:200])
                    continue
                with lock:
                    latencies.append(time.perf_counter() - t0)
        finally:
            reader.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - start}


def _log_until(writer: Writer, experiment_id: str, params: Params,
               load: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Log at the steady rate until the load process exits; points and seconds."""
    run_id = writer.start_run(experiment_id, "concurrent-writer")
    log = writer.logger(run_id)
    per_tick = max(1, round(params["ingest_rate"] * TICK_S))
    limit = Deadline(params["seconds"] + 60)
    start = time.perf_counter()
    tick = 0
    while load.poll() is None and not limit.passed():
        due = start + tick * TICK_S
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        for i in range(per_tick):
            log(f"load_{i % 10}", float(i), tick * per_tick + i)
        writer.step_done(run_id)
        tick += 1
    # Each tick's points are due over the tick that follows its start.
    elapsed = max(time.perf_counter() - start, tick * TICK_S)
    writer.end_run(run_id)
    return tick * per_tick, elapsed


def measure(writer: Writer, reader: Reader, params: Params) -> list[Measurement]:
    """Populate, then run the load process and the writer side by side."""
    name = f"bench-load-{uuid.uuid4().hex[:8]}"
    experiment_id = writer.create_experiment(name)
    numbers, last_ids = create_runs(writer, experiment_id, params, Deadline(params["budget_s"]))
    experiment_id = experiment_id or reader.wait_experiment_id(name, params["visible_timeout_s"])
    wait_searchable(reader, experiment_id, last_ids, len(numbers), params)
    spec = {"system": reader.system, "url": f"http://{reader.host}:{reader.port}",
            "experiment_id": experiment_id, "clients": params["clients"],
            "requests": params["requests"], "seconds": params["seconds"]}
    handle, path = tempfile.mkstemp(prefix="bench-load-", suffix=".json")
    os.close(handle)
    out = Path(path)
    load = subprocess.Popen([sys.executable, "-m", __name__, json.dumps(spec), str(out)])
    try:
        points, seconds = _log_until(writer, experiment_id, params, load)
        load.wait(timeout=params["seconds"] + 120)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    result = json.loads(out.read_text())
    out.unlink()
    latencies = result["latencies"]
    errors = result["errors"]
    note = f"{len(errors)} errors, e.g. {errors[0]}" if errors else ""
    if not latencies:
        raise AssertionError(f"no search answered: {note}")
    return [
        rate("searches/s", len(latencies), result["seconds"], "req/s",
             f"{fmt_count(len(latencies))} answers in {result['seconds']:.1f} s"),
        latency_ms("search p50 under load", percentile(latencies, 50), note),
        latency_ms("search p99 under load", percentile(latencies, 99), note),
        held_rate("ingest held meanwhile", points, seconds, params["ingest_rate"]),
    ]


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(fire(json.loads(sys.argv[1]))))
