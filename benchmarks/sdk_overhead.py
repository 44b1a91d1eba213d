"""What one ``log_metric`` call costs the training loop: Runstream's SDK next to MLflow's.

Both are timed the same way, call by call in the calling thread (``perf_counter_ns``
around each call, the timer's own cost subtracted), against real servers on loopback:

- ``runstream.log_metric``: the SDK publishing to a local broker (Tansu) started here
  in a temporary folder (S3 and broker only; the SDK needs nothing else to log); then
  with system metrics sampled every 10 ms, and offline into the local spool;
- ``mlflow.log_metric``: MLflow's client against ``mlflow server`` (SQLite backend),
  from MLflow's own venv (``benchmarks/.venvs/mlflow``, created on first use by
  ``benchmarks.peers``); synchronous (MLflow's default) and ``synchronous=False``
  (MLflow's async logging, the closest to what Runstream does).

Each timing ends with a flush, so everything timed was actually delivered. Prints one
table with the median and p99 per call and the ratio to Runstream's median::

    .venv/bin/python benchmarks/sdk_overhead.py            # 200,000 / 2,000 / 20,000 calls
    .venv/bin/python benchmarks/sdk_overhead.py --quick    # 20,000 / 200 / 2,000 calls
    .venv/bin/python benchmarks/sdk_overhead.py --skip-mlflow
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Shared by both sides (it also runs inside MLflow's interpreter): times fn(i) per call.
TIMER = """
import time

def time_calls(fn, calls):
    pc = time.perf_counter_ns
    overhead = []
    for _ in range(2000):
        t = pc()
        overhead.append(pc() - t)
    base = sorted(overhead)[1000]
    for i in range(min(1000, calls)):
        fn(i)  # warm-up: first-call imports, connections, caches
    samples = []
    for i in range(calls):
        t = pc()
        fn(i)
        samples.append(pc() - t - base)
    samples.sort()
    return {"calls": calls, "median_ns": samples[calls // 2],
            "p99_ns": samples[min(calls - 1, int(calls * 0.99))],
            "mean_ns": sum(samples) / calls}
"""

MLFLOW_CLIENT = (
    TIMER
    + """
import json, sys
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
sync_calls, async_calls = int(sys.argv[2]), int(sys.argv[3])
mlflow.set_experiment("sdk-overhead")
out = {}
with mlflow.start_run():
    out["sync"] = time_calls(lambda i: mlflow.log_metric("loss", 0.5, step=i), sync_calls)
    out["async"] = time_calls(
        lambda i: mlflow.log_metric("loss_async", 0.5, step=i, synchronous=False), async_calls)
    mlflow.flush_async_logging()
print(json.dumps(out))
"""
)


def _timer() -> Any:
    namespace: dict[str, Any] = {}
    exec(TIMER, namespace)
    return namespace["time_calls"]


def measure_runstream(calls: int, workdir: Path) -> dict[str, dict[str, Any]]:
    """Starts S3 and the broker on free ports, then times the SDK's ``log_metric`` three ways.

    - ``plain``: publishing to the broker;
    - ``system``: the same with system metrics sampled every 10 ms in the background
      (``start_run(log_system_metrics=True)``; MLflow's default is every 10 s);
    - ``spool``: offline (``RUNSTREAM_OFFLINE=1``), the sender writing the local spool.
    """
    from runstream.config import Ports, load_settings
    from runstream.sdk.client import RunstreamClient
    from runstream.stack import LocalStack, free_ports

    names = [f.name for f in dataclasses.fields(Ports)]
    ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    settings = load_settings(environ, home=workdir / "runstream", ports=ports, partitions=4)
    stack = LocalStack(settings)
    stack.up()
    results: dict[str, dict[str, Any]] = {}
    try:
        import runstream

        time_calls = _timer()
        runstream.configure(settings)
        runstream.set_experiment("sdk-overhead")
        with runstream.start_run():
            results["plain"] = time_calls(
                lambda i: runstream.log_metric("loss", 0.5, step=i), calls
            )
            runstream.flush(120)
        os.environ["RUNSTREAM_SYSTEM_METRICS_SAMPLING_INTERVAL"] = "0.01"
        try:
            with runstream.start_run(log_system_metrics=True):
                results["system"] = time_calls(
                    lambda i: runstream.log_metric("loss", 0.5, step=i), calls
                )
                runstream.flush(120)
        finally:
            del os.environ["RUNSTREAM_SYSTEM_METRICS_SAMPLING_INTERVAL"]
        offline = {"RUNSTREAM_OFFLINE": "1", "RUNSTREAM_SPOOL_DIR": str(workdir / "spool")}
        runstream.configure(client=RunstreamClient(settings=settings, environ=offline))
        with runstream.start_run():
            results["spool"] = time_calls(
                lambda i: runstream.log_metric("loss", 0.5, step=i), calls
            )
            runstream.flush(120)
        runstream.configure()
        return results
    finally:
        stack.down()


def measure_mlflow(sync_calls: int, async_calls: int, workdir: Path) -> dict[str, Any]:
    """Starts ``mlflow server`` (SQLite) from MLflow's venv and times its client there."""
    from benchmarks import peers

    server = peers.start_peer("mlflow", workdir / "mlflow")
    try:
        done = subprocess.run(
            [
                str(server.python),
                "-c",
                MLFLOW_CLIENT,
                server.url,
                str(sync_calls),
                str(async_calls),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"MLflow client failed:\n{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["version"] = peers.peer_version("mlflow")
        return result
    finally:
        server.stop()


def _us(ns: float) -> str:
    return f"{ns / 1000:,.2f}"


def render(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """One Markdown table; the ratio compares each median with Runstream's."""
    reference = rows[0][1]["median_ns"]
    lines = [
        "| client (one call, caller's thread) | calls | median µs | p99 µs | vs runstream |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows:
        ratio = row["median_ns"] / reference if reference > 0 else float("inf")
        versus = "1x" if name.startswith("runstream") else f"{ratio:,.0f}x slower"
        lines.append(
            f"| {name} | {row['calls']:,} | {_us(row['median_ns'])} | "
            f"{_us(row['p99_ns'])} | {versus} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Runs the measurements and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (about a minute)")
    parser.add_argument("--skip-mlflow", action="store_true", help="time Runstream only")
    args = parser.parse_args(argv)
    runstream_calls, sync_calls, async_calls = (
        (20_000, 200, 2_000) if args.quick else (200_000, 2_000, 20_000)
    )
    workdir = Path(tempfile.mkdtemp(prefix="runstream-sdk-overhead-"))
    try:
        ours = measure_runstream(runstream_calls, workdir)
        rows = [
            ("runstream.log_metric", ours["plain"]),
            ("runstream.log_metric, system metrics every 10 ms", ours["system"]),
            ("runstream.log_metric, offline spool", ours["spool"]),
        ]
        if not args.skip_mlflow:
            mlflow = measure_mlflow(sync_calls, async_calls, workdir)
            version = mlflow.get("version", "?")
            rows.append((f"mlflow {version} log_metric (synchronous, server)", mlflow["sync"]))
            rows.append((f"mlflow {version} log_metric(synchronous=False)", mlflow["async"]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(rows))
    print(
        f"\nmachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; Runstream's SDK "
        "publishes to Tansu on loopback; MLflow's server uses SQLite on loopback."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
