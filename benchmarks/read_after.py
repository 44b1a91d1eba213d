"""``python -m benchmarks.read_after``: read-your-writes under ingest, Runstream's SDK and MLflow.

MLflow's client answers a read right after a write from its server's database;
Runstream's SDK flushes, then the query service waits (bounded) until the lake holds
the positions the SDK sent (``X-Runstream-Read-After``). This measures what that costs a
script: while a background thread ingests ``rate`` points/s, one thread logs a point
and reads the run back, ``reads`` times. The same client program
(:mod:`benchmarks.read_after_client`) runs against both systems, MLflow's from its own
venv (``benchmarks/.venvs/mlflow``). Prints one table::

    .venv/bin/python -m benchmarks.read_after            # 300 reads at 20,000 points/s
    .venv/bin/python -m benchmarks.read_after --quick    # 30 reads at 5,000 points/s
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import peers
from benchmarks.gateway_mlflow import table

HERE = Path(__file__).resolve().parent
QUICK = {"reads": 30, "rate": 5_000}
FULL = {"reads": 300, "rate": 20_000}


def run_client(python: Path, module: str, url: str, params: dict[str, Any]) -> dict[str, float]:
    """One client process (``module`` is ``mlflow`` or ``runstream``); its JSON results."""
    out = subprocess.run(
        [str(python), str(HERE / "read_after_client.py"), module, url, json.dumps(params)],
        capture_output=True, text=True, check=False, timeout=3600,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{module} client against {url} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    """Start both systems, run the client against each, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.read_after")
    parser.add_argument("--quick", action="store_true", help="smoke-sized run")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else FULL
    python = peers.peer_python("mlflow")
    results: dict[str, dict[str, float]] = {}
    with peers.mlflow_and_runstream("read-after-bench-") as (runstream, mlflow):
        results["runstream"] = run_client(Path(sys.executable), "runstream", runstream.url, params)
        results["mlflow"] = run_client(python, "mlflow", mlflow.url, params)
    print(f"read right after a write, under ingest; sizes {params}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
