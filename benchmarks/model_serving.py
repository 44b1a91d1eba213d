"""``python -m benchmarks.model_serving``: one model, ``mlflow models serve`` vs Runstream's server.

Steps:

1. train a small scikit-learn pipeline on the wine data and save it once with MLflow's
   own flavor code (``runstream.sklearn.save_model`` is ``mlflow.sklearn.save_model``);
2. start MLflow's server from MLflow's venv (``benchmarks/peers.py``; ``mlflow models serve
   --env-manager local``, one worker) and Runstream's (one worker), each on a free
   loopback port, serving that same folder;
3. for each payload (1 row, 1,000 rows) and each client count (1, 8, 32), drive each
   server for ``--seconds`` from one client process (asyncio, keep-alive HTTP/1.1
   connections, one per concurrent client, the same bytes for both servers) and
   record requests/s and the p50/p99 of the latency each request saw; the order of the
   servers alternates between cells;
4. stop both servers, print a Markdown table and write it to
   ``benchmarks/results/serving-<date>.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.peers import peer_python, peer_version

from runstream.stack import free_ports

RESULTS = Path(__file__).resolve().parent / "results"


def _model(folder: Path) -> Any:
    import pandas as pd
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    import runstream

    wine = load_wine()
    x = pd.DataFrame(wine.data, columns=[n.replace("/", "_") for n in wine.feature_names])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, wine.target)
    runstream.sklearn.save_model(
        model, folder, input_example=x.head(2), pip_requirements=["scikit-learn", "skops"]
    )
    return x


def payload(x: Any, rows: int) -> bytes:
    """A ``dataframe_split`` body of ``rows`` rows (the wine rows, repeated)."""
    import pandas as pd

    frame = pd.concat([x] * (rows // len(x) + 1)).head(rows)
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split"))}).encode()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited; log {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready in {timeout_s}s; log {log}")


def start(name: str, folder: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Starts one server on a free port; returns the process and its URL."""
    (port,) = free_ports(1)
    log = work / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RUNSTREAM_"))}
    if name == "mlflow":
        python = peer_python("mlflow")
        env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
        command = [str(python.parent / "mlflow"), "models", "serve", "-m", str(folder),
                   "-p", str(port), "--host", "127.0.0.1", "--env-manager", "local"]
    else:
        env["RUNSTREAM_HOME"] = str(work / "runstream-home")
        command = [sys.executable, "-m", "runstream.cli.main", "models", "serve", "-m",
                   str(folder), "-p", str(port), "--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _wait(url, process, log)
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops a server and its children (its own process group)."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


CLIENT = Path(__file__).resolve().parent / "serving_client.py"


def drive(url: str, clients: int, seconds: float, body_file: Path) -> dict[str, float]:
    """One cell: ``clients`` keep-alive connections for ``seconds``, from a separate process."""
    host, port = url.removeprefix("http://").split(":")
    done = subprocess.run(
        [sys.executable, str(CLIENT), host, port, str(clients), str(seconds), str(body_file)],
        capture_output=True, text=True, timeout=seconds * 4 + 120, check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    """Runs the comparison (see the module docstring) and writes the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="per cell")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--rows", default="1,1000")
    parser.add_argument("--quick", action="store_true", help="2 s cells, 1 and 8 clients, 1 row")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.clients, args.rows = 2.0, "1,8", "1"
    clients = [int(c) for c in args.clients.split(",")]
    row_counts = [int(r) for r in args.rows.split(",")]
    work = Path(tempfile.mkdtemp(prefix="runstream-bench-serving-"))
    x = _model(work / "model")
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    results: dict[tuple[str, int, int], dict[str, float]] = {}
    try:
        for name in ("mlflow", "runstream"):
            servers[name] = start(name, work / "model", work)
        flip = False
        for rows in row_counts:
            body = work / f"body-{rows}.json"
            body.write_bytes(payload(x, rows))
            for n in clients:
                order = ["mlflow", "runstream"][:: -1 if flip else 1]
                flip = not flip
                for name in order:
                    cell = drive(servers[name][1], n, args.seconds, body)
                    results[(name, rows, n)] = cell
                    print(f"[serving] {name:9s} rows={rows:5d} clients={n:3d} "
                          f"{cell['rps']:8.1f} req/s p50 {cell['p50']:7.1f} ms "
                          f"p99 {cell['p99']:7.1f} ms errors {cell['errors']:.0f}", flush=True)
    finally:
        for process, _ in servers.values():
            stop(process)
    report = render(results, row_counts, clients, args.seconds)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    out = RESULTS / f"serving-{dt.date.today().isoformat()}{suffix}.md"
    out.write_text(report)
    print(f"written to {out}")
    return 0


def render(
    results: dict[tuple[str, int, int], dict[str, float]],
    row_counts: list[int], clients: list[int], seconds: float,
) -> str:
    """The Markdown report: one row per payload and client count."""
    lines = [
        "# Model serving: `mlflow models serve` vs `runstream models serve`",
        "",
        f"Same sklearn model folder, same client and bytes; one worker each; {seconds:g} s per "
        f"cell; {os.cpu_count()} cores; MLflow {peer_version('mlflow')}; "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Load average at the end: "
        f"{os.getloadavg()[0]:.1f}.",
        "",
        "| rows | clients | MLflow req/s | p50 ms | p99 ms | Runstream req/s | p50 ms | p99 ms "
        "| req/s ratio | p99 ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in row_counts:
        for n in clients:
            m, r = results.get(("mlflow", rows, n)), results.get(("runstream", rows, n))
            if m is None or r is None:
                continue
            lines.append(
                f"| {rows} | {n} | {m['rps']:.0f} | {m['p50']:.1f} | {m['p99']:.1f} | "
                f"{r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                f"{r['rps'] / m['rps']:.2f}x | {r['p99'] / m['p99']:.2f} |"
            )
    errors = sum(c["errors"] for c in results.values())
    lines += ["", f"Non-200 answers in all cells: {errors:.0f}.",
              f"Median Runstream/MLflow req/s ratio: "
              f"{statistics.median(_ratios(results)) if results else 0:.2f}x.", ""]
    return "\n".join(lines)


def _ratios(results: dict[tuple[str, int, int], dict[str, float]]) -> list[float]:
    out = []
    for (name, rows, n), cell in results.items():
        if name == "runstream" and ("mlflow", rows, n) in results:
            out.append(cell["rps"] / results[("mlflow", rows, n)]["rps"])
    return out or [0.0]


if __name__ == "__main__":
    sys.exit(main())
