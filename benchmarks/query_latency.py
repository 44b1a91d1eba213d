"""Query-service latency on a large lake: search, run detail, downsampled history.

Usage::

    .venv/bin/python -m benchmarks.query_latency [--quick] [--runs 100000]
        [--history-points 1000000] [--repeat 50] [--no-ingest]

Steps:

1. start a local stack (SeaweedFS S3 + Tansu) on free ports in a temporary folder;
2. write the lake directly through the lake adapter (no broker, no SDK: this measures
   reads): ``--runs`` runs with 5 params, 5 metrics (10 points of history each) and 3
   tags, plus one run whose metric ``loss`` has ``--history-points`` points; the data
   goes to Parquet on the local S3;
3. start the query service (``create_app`` under uvicorn) in a child process;
4. unless ``--no-ingest``, a child process keeps committing to the lake every 0.5 s
   (new runs with params and metrics, and metric points; inlined rows flushed to
   Parquet every 10 commits), so reads see new snapshots while they run;
5. time, over HTTP from this process, after a 3 s warm-up and for at least 10 s each:
   the filtered and ordered search (``metrics.m0 > 0.5 AND params.p0 = 'v3'`` by
   ``metrics.m1 DESC``, 100 per page), the unfiltered first page of 1,000, one run's
   detail, the long history downsampled to 1,000 points, and the long history in full
   (columns, as Arrow IPC and as columnar JSON); print p50 / p95 / max against the
   design targets (search p50 <= 50 ms, history <= 100 ms downsampled, <= 300 ms full).

The comparison with MLflow's server on the same workload lives in ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from runstream.config import Ports, Settings, load_settings, settings_to_env
from runstream.lake.connection import CATALOG, open_lake
from runstream.query.http.schemas.columnar import ARROW_STREAM
from runstream.stack import LocalStack, free_ports

NOW = 1_700_000_000_000
LONG_RUN = "f" * 32


@dataclass(frozen=True)
class Sizes:
    """How big the lake is."""

    runs: int
    history_points: int
    repeat: int


QUICK = Sizes(runs=10_000, history_points=100_000, repeat=15)
FULL = Sizes(runs=100_000, history_points=1_000_000, repeat=50)


def build_lake(settings: Settings, sizes: Sizes) -> float:
    """Write the benchmark lake in SQL inside the lake (one transaction per table)."""
    started = time.perf_counter()
    lake = open_lake(settings, read_only=False)
    con = lake.con
    n = sizes.runs
    rid = "printf('%032x', i)"
    statements = [
        f"INSERT INTO {CATALOG}.experiments VALUES ('1', 'bench', NULL, 'active', {NOW}, {NOW})",
        f"INSERT INTO {CATALOG}.runs SELECT {rid}, '1', 'run-' || i, 'bench',"
        " ['FINISHED', 'FAILED', 'RUNNING', 'KILLED'][i % 4 + 1], "
        f"{NOW} + i, {NOW} + i + 100, 'active', 'train.py', 'LOCAL', NULL, NULL,"
        f" 's3://{settings.artifacts_bucket}/1/' || {rid} || '/artifacts', NULL"
        f" FROM range({n}) t(i)",
        f"INSERT INTO {CATALOG}.params SELECT {rid}, 'p' || k, 'v' || ((i * 7 + k) % 10)"
        f" FROM range({n}) t(i), range(5) u(k)",
        f"INSERT INTO {CATALOG}.tags SELECT {rid}, 't' || k, 'tag' || ((i + k) % 5)"
        f" FROM range({n}) t(i), range(3) u(k)",
        f"INSERT INTO {CATALOG}.metrics SELECT {rid}, 'm' || k, hash(i, k, s) % 1000 / 1000.0,"
        f" s, {NOW} + i + s FROM range({n}) t(i), range(5) u(k), range(10) v(s)",
        f'INSERT INTO {CATALOG}.latest_metrics SELECT run_id, "key",'
        ' arg_max("value", step), max(step), max("timestamp"), min("value"), max("value"),'
        f' count(*) FROM {CATALOG}.metrics GROUP BY run_id, "key"',
        f"INSERT INTO {CATALOG}.runs VALUES ('{LONG_RUN}', '1', 'long', 'bench', 'FINISHED',"
        f" {NOW}, {NOW + 1}, 'active', 'train.py', 'LOCAL', NULL, NULL, NULL, NULL)",
        f"INSERT INTO {CATALOG}.metrics SELECT '{LONG_RUN}', 'loss',"
        f" 1.0 / (1 + s) + (hash(s) % 100) / 10000.0, s, {NOW} + s"
        f" FROM range({sizes.history_points}) t(s)",
        f"INSERT INTO {CATALOG}.latest_metrics VALUES ('{LONG_RUN}', 'loss', 0.0,"
        f" {sizes.history_points - 1}, {NOW}, 0.0, 1.0, {sizes.history_points})",
    ]
    try:
        for statement in statements:
            con.execute(statement)
        con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    finally:
        lake.close()
    return time.perf_counter() - started


def ingest_loop(env: dict[str, str], stop: Any) -> None:
    """Child process: commit new runs and metric points to the lake every 0.5 s."""
    settings = load_settings(env)
    lake = open_lake(settings, read_only=False)
    batch = 0
    try:
        while not stop.is_set():
            base = 10_000_000 + batch * 100
            rid = "printf('%032x', i)"
            ids = f"FROM range({base}, {base + 100}) t(i)"
            lake.con.execute("BEGIN TRANSACTION")
            lake.con.execute(
                f"INSERT INTO {CATALOG}.runs SELECT {rid}, '1', 'live-' || i, 'bench', 'RUNNING',"
                f" {NOW} + i, NULL, 'active', 'train.py', 'LOCAL', NULL, NULL, NULL, NULL"
                f" FROM range({base}, {base + 100}) t(i)"
            )
            lake.con.execute(
                f"INSERT INTO {CATALOG}.params SELECT {rid}, 'p0', 'v3' {ids}"
            )
            lake.con.execute(
                f"INSERT INTO {CATALOG}.latest_metrics"
                f" SELECT {rid}, 'm0', 0.9, 1, {NOW}, 0.9, 0.9, 1 {ids}"
            )
            lake.con.execute(
                f"INSERT INTO {CATALOG}.metrics SELECT {rid}, 'm0', random(), s, {NOW} + s"
                f" FROM range({base}, {base + 100}) t(i), range(100) u(s)"
            )
            lake.con.execute("COMMIT")
            batch += 1
            if batch % 10 == 0:  # as the materializer's maintenance does, now and then
                lake.con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
            stop.wait(0.5)
    finally:
        lake.close()


def start_service(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """Start ``create_app`` under uvicorn in a child process and wait until it answers."""
    code = (
        "import os, uvicorn\n"
        "from runstream.config import load_settings\n"
        "from runstream.query.http.app import create_app\n"
        f"uvicorn.run(create_app(load_settings(os.environ)), host='127.0.0.1', port={port},"
        " log_level='warning', access_log=False)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")},
        **settings_to_env(settings),
    }
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the query service exited during start")
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the query service did not become ready in 60 s")


def measure(
    name: str, call: Callable[[], httpx.Response], repeat: int, min_seconds: float = 10.0
) -> dict[str, Any]:
    """Warm up for 3 s, then time at least ``repeat`` calls and ``min_seconds``; all 200s.

    The time floor makes the samples span several refreshes of the service's run
    index (every second or two while ingest runs), so p95 includes them.
    """
    warm_until = time.monotonic() + 3.0
    while time.monotonic() < warm_until:
        call().raise_for_status()
    samples = []
    until = time.monotonic() + min_seconds
    while len(samples) < repeat or time.monotonic() < until:
        started = time.perf_counter()
        resp = call()
        samples.append((time.perf_counter() - started) * 1000)
        resp.raise_for_status()
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {
        "name": name,
        "n": len(samples),
        "p50": statistics.median(samples),
        "p95": p95,
        "max": samples[-1],
    }


def run(sizes: Sizes, ingest: bool) -> list[dict[str, Any]]:
    """Steps 1-5 of the module docstring; returns one row per measurement."""
    with tempfile.TemporaryDirectory(prefix="runstream-qbench-") as work:
        home = Path(work)
        names = [f.name for f in fields(Ports)]
        ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
        settings = load_settings(env, home=home, ports=ports)
        stack = LocalStack(settings)
        print(f"starting the local stack in {home} ...", flush=True)
        stack.up()
        proc = None
        stop = mp.get_context("spawn").Event()
        writer = None
        try:
            seconds = build_lake(settings, sizes)
            print(
                f"lake written: {sizes.runs:,} runs, {sizes.history_points:,}-point history "
                f"in {seconds:.1f} s",
                flush=True,
            )
            proc = start_service(settings, ports.api)
            if ingest:
                writer = mp.get_context("spawn").Process(
                    target=ingest_loop, args=(settings_to_env(settings), stop)
                )
                writer.start()
                time.sleep(1.0)
            base = f"http://127.0.0.1:{ports.api}"
            with httpx.Client(base_url=base, timeout=60) as client:
                search = {
                    "experiment_ids": ["1"],
                    "filter": "metrics.m0 > 0.5 AND params.p0 = 'v3'",
                    "order_by": ["metrics.m1 DESC"],
                    "max_results": 100,
                }
                history = {"run_ids": [LONG_RUN], "keys": ["loss"], "max_points": 1000}
                full = {"run_ids": [LONG_RUN], "keys": ["loss"]}
                rows = [
                    measure(
                        "search: filtered + ordered, 100 per page",
                        lambda: client.post("/api/v1/runs/search", json=search),
                        sizes.repeat,
                    ),
                    measure(
                        "search: MLflow REST, same search",
                        lambda: client.post(
                            "/api/2.0/mlflow/runs/search",
                            json={**search, "filter": search["filter"]},
                        ),
                        sizes.repeat,
                    ),
                    measure(
                        "search: unfiltered first page of 1,000",
                        lambda: client.post(
                            "/api/v1/runs/search",
                            json={"experiment_ids": ["1"], "max_results": 1000},
                        ),
                        max(5, sizes.repeat // 5),
                    ),
                    measure(
                        "run detail", lambda: client.get(f"/api/v1/runs/{'0' * 31}7"), sizes.repeat
                    ),
                    measure(
                        f"history: {sizes.history_points:,} points -> 1,000",
                        lambda: client.post("/api/v1/metrics/history", json=history),
                        sizes.repeat,
                    ),
                    measure(
                        f"history: {sizes.history_points:,} points, full, Arrow IPC",
                        lambda: client.post("/api/v1/metrics/columns", json=full,
                                            headers={"Accept": ARROW_STREAM}),
                        sizes.repeat,
                    ),
                    measure(
                        f"history: {sizes.history_points:,} points, full, columnar JSON",
                        lambda: client.post("/api/v1/metrics/columns", json=full),
                        sizes.repeat,
                    ),
                ]
        finally:
            stop.set()
            if writer is not None:
                writer.join(timeout=10)
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
            stack.down()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 runs, 100,000-point history")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--history-points", type=int)
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--no-ingest", action="store_true", help="no writer during the reads")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        runs=args.runs or base.runs,
        history_points=args.history_points or base.history_points,
        repeat=args.repeat or base.repeat,
    )
    rows = run(sizes, ingest=not args.no_ingest)
    print(f"\ncores: {os.cpu_count()}  ingest during reads: {not args.no_ingest}")
    print(f"{'measurement':48} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for row in rows:
        print(
            f"{row['name']:48} {row['n']:6d} {row['p50']:8.1f} {row['p95']:8.1f} {row['max']:8.1f}"
        )
    print("targets: search p50 <= 50 ms; 1,000,000-point history to 1,000 <= 100 ms, "
          "in full <= 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
