"""One client of ``benchmarks.read_after``: write, then read right away, under ingest.

Run by :mod:`benchmarks.read_after` in the interpreter of the system under test, with
``mlflow`` (MLflow's client, against MLflow's server) or ``runstream`` (Runstream's SDK,
against Runstream's query service): the same program with one changed import.

While a background thread logs ``rate`` points/s in batches of 1,000 (the ingest
workload), the main thread repeats ``reads`` times: log one ``probe`` point, then
``get_run`` and check that the read shows it. It prints one JSON line: the read
latency p50/p99 after a write, how many reads missed the write, and the rate held.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import threading
import time
from typing import Any


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    module, url, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    mlflow: Any = importlib.import_module(module)
    mlflow.set_tracking_uri(url)
    entities = mlflow if module == "runstream" else importlib.import_module("mlflow.entities")
    metric_cls = entities.Metric
    client = mlflow.MlflowClient()
    exp = client.create_experiment(f"read-after-{time.time_ns()}")
    writer_run = client.create_run(exp).info.run_id
    stop = threading.Event()
    written = [0]

    def ingest() -> None:
        period = 1000 / params["rate"]
        step, next_at = 0, time.monotonic()
        while not stop.is_set():
            now = int(time.time() * 1000)
            batch = [metric_cls(f"w{i % 10}", float(i), now, step + i) for i in range(1000)]
            client.log_batch(writer_run, metrics=batch)
            step += 1000
            written[0] += 1000
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))

    thread = threading.Thread(target=ingest, daemon=True)
    started = time.monotonic()
    thread.start()
    run_id = client.create_run(exp).info.run_id
    latencies, stale = [], 0
    for i in range(params["reads"]):
        client.log_metric(run_id, "probe", float(i), step=i)
        t0 = time.perf_counter()
        seen = client.get_run(run_id).data.metrics.get("probe")
        latencies.append(time.perf_counter() - t0)
        stale += seen != float(i)
    stop.set()
    thread.join(60)
    elapsed = time.monotonic() - started
    print(json.dumps({
        "read after a write p50 ms": statistics.median(latencies) * 1000,
        "read after a write p99 ms": pct(latencies, 0.99) * 1000,
        "stale reads (missed the write)": stale,
        "ingest held, points/s": written[0] / elapsed,
    }))
    if hasattr(mlflow, "flush"):
        mlflow.flush(60)


if __name__ == "__main__":
    main()
