"""``python -m benchmarks.gateway_mlflow``: MLflow's client against MLflow's server and Runstream.

Steps:

1. start MLflow's tracking server (its own venv, SQLite, installed from PyPI on first use)
   and Runstream's local stack with its applications (as ``runstream up``), on free ports;
2. run :mod:`benchmarks.gateway_client` -- the same MLflow client program, from MLflow's
   venv, with only the tracking URI set -- against each, one after the other;
3. stop both, whatever happened;
4. print one table: each figure for both systems and Runstream's ratio to MLflow (for
   latencies and errors, MLflow's figure over Runstream's, so > 1 always means Runstream
   is ahead), plus Runstream's read-your-writes wait.

``--quick`` runs a smoke-sized version (seconds); the default size takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import peers

HERE = Path(__file__).resolve().parent
QUICK = {"calls": 50, "batches": 3, "runs": 16, "calls_64": 5, "reads": 20}
FULL = {"calls": 1000, "batches": 20, "runs": 200, "calls_64": 50, "reads": 200}
LOWER_IS_BETTER = ("ms", "errors", "stale")


def run_client(python: Path, url: str, params: dict[str, Any]) -> dict[str, float]:
    """One client process against ``url``; its JSON results."""
    out = subprocess.run(
        [str(python), str(HERE / "gateway_client.py"), url, json.dumps(params)],
        capture_output=True, text=True, check=False, timeout=3600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"client against {url} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def ratio(name: str, ours: float | None, theirs: float | None) -> str:
    """Runstream's advantage: > 1 means Runstream is ahead."""
    if ours is None or theirs is None:
        return "-"
    lower = any(word in name for word in LOWER_IS_BETTER)
    if lower:
        return "-" if ours == 0 and theirs == 0 else (f"{theirs / ours:.1f}x" if ours else "inf")
    return f"{ours / theirs:.1f}x" if theirs else "inf"


def cell(value: float | None) -> str:
    """One number of the table."""
    return "-" if value is None else f"{value:,.1f}"


def table(results: dict[str, dict[str, float]]) -> str:
    """The report as a Markdown table."""
    names = list(dict.fromkeys([*results["runstream"], *results["mlflow"]]))
    lines = ["| figure | Runstream | MLflow | Runstream's advantage |", "|---|---|---|---|"]
    for name in names:
        ours, theirs = results["runstream"].get(name), results["mlflow"].get(name)
        lines.append(f"| {name} | {cell(ours)} | {cell(theirs)} | {ratio(name, ours, theirs)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start both systems, run the client against each, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gateway_mlflow")
    parser.add_argument("--quick", action="store_true", help="smoke-sized run")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    python = peers.peer_python("mlflow")
    results: dict[str, dict[str, float]] = {}
    with peers.mlflow_and_runstream("gateway-bench-") as (runstream, mlflow):
        results["runstream"] = run_client(python, runstream.url, params)
        results["mlflow"] = run_client(python, mlflow.url, params)
    print(f"MLflow {peers.client_version('mlflow')} client, sizes {params}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
