"""MLflow-client workloads against one tracking server (run by ``benchmarks.gateway_mlflow``).

Runs in MLflow's own venv (standard library and ``mlflow`` only), with only the tracking
URI set, so the very same client code drives MLflow's server and Runstream. Prints one
JSON object of results on stdout.

    python gateway_client.py <tracking-uri> '<params json>'
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of ``values``, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: Any) -> float:
    """Seconds one call took."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    """Run every workload; print the results as JSON."""
    url, params = sys.argv[1], json.loads(sys.argv[2])
    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=url)
    exp = client.create_experiment(f"gateway-bench-{time.time_ns()}")
    out: dict[str, Any] = {}
    now = int(time.time() * 1000)

    # 1. Synchronous log_metric, one call per point.
    run_id = client.create_run(exp).info.run_id
    lat = [timed(lambda i=i: client.log_metric(run_id, "m", float(i), now, i))
           for i in range(params["calls"])]
    out["log_metric calls/s"] = len(lat) / sum(lat)
    out["log_metric p99 ms"] = (pct(lat, 0.99) or 0) * 1000

    # 2. log_batch of 1,000 points.
    batch_lat = []
    for b in range(params["batches"]):
        points = [Metric("b", float(i), now, b * 1000 + i) for i in range(1000)]
        batch_lat.append(timed(lambda p=points: client.log_batch(run_id, metrics=p)))
    out["log_batch(1000) points/s"] = 1000 * len(batch_lat) / sum(batch_lat)
    out["log_batch(1000) p99 ms"] = (pct(batch_lat, 0.99) or 0) * 1000

    # 3. Run creation: create, log_batch, terminate; 1 and 16 threads.
    failed_runs = [0]

    def one_run(_: int) -> None:
        try:
            rid = client.create_run(exp).info.run_id
            client.log_batch(rid, metrics=[Metric("acc", 0.5, now, 0)],
                             params=[Param("lr", "0.1"), Param("layers", "3")])
            client.set_terminated(rid)
        except Exception:
            failed_runs[0] += 1

    for threads in (1, 16):
        failed_runs[0] = 0
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one_run, range(params["runs"])))
        made = params["runs"] - failed_runs[0]
        out[f"runs/s ({threads} threads)"] = made / (time.perf_counter() - started)
        out[f"run creation errors ({threads} threads)"] = failed_runs[0]

    # 4. 64 concurrent clients logging metrics.
    errors, lat64, lock = [0], [], threading.Lock()

    def worker(k: int) -> None:
        mine = MlflowClient(tracking_uri=url)
        try:
            rid = mine.create_run(exp).info.run_id
        except Exception:  # the server refused the run: each of its calls counts as failed
            with lock:
                errors[0] += params["calls_64"]
            return
        for i in range(params["calls_64"]):
            started = time.perf_counter()
            try:
                mine.log_metric(rid, "c", float(i), now, i)
            except Exception:
                with lock:
                    errors[0] += 1
                continue
            with lock:
                lat64.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(64) as pool:
        list(pool.map(worker, range(64)))
    took = time.perf_counter() - started
    out["64 clients calls/s"] = len(lat64) / took
    out["64 clients p99 ms"] = (pct(lat64, 0.99) or 0) * 1000
    out["64 clients errors"] = errors[0]

    # 5. Read right after a write (get_run), and Runstream's read-your-writes wait.
    waits, reads = [], []
    for i in range(params["reads"]):
        client.log_metric(run_id, "r", float(i), now, i)
        started = time.perf_counter()
        request = urllib.request.Request(f"{url}/api/2.0/mlflow/runs/get?run_id={run_id}")
        with urllib.request.urlopen(request, timeout=60) as answer:
            body = json.loads(answer.read())
            wait = answer.headers.get("X-Runstream-Wait-Ms")
        reads.append(time.perf_counter() - started)
        values = {m["key"]: m["value"] for m in body["run"]["data"].get("metrics", [])}
        if values.get("r") != float(i):
            out.setdefault("stale reads", 0)
            out["stale reads"] += 1
        if wait is not None:
            waits.append(float(wait) / 1000)
    out["read after write p50 ms"] = (statistics.median(reads) if reads else 0) * 1000
    out["read after write p99 ms"] = (pct(reads, 0.99) or 0) * 1000
    if waits:
        out["read-your-writes wait p50 ms"] = statistics.median(waits) * 1000
        out["read-your-writes wait p99 ms"] = (pct(waits, 0.99) or 0) * 1000
    out.setdefault("stale reads", 0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
