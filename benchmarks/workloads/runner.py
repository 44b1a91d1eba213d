"""The harness side of a client process: start it in the right interpreter, collect its result.

Each (workload, system, repeat) runs in a fresh process of the system's client interpreter:
``benchmarks/.venvs/<peer>/bin/python`` for MLflow and FastTrackML, this interpreter for
Runstream. Its output goes to a log file under the work folder; a failure keeps the log's tail.
Every process has a time limit derived from the workload's own bounds, so nothing hangs.
Meanwhile the memory of the system's processes (and their children) is sampled: its peak
becomes one more row of the workload's table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks.peers import LOCATION_SETTINGS
from benchmarks.workloads.base import Measurement, Params

ROOT = Path(__file__).resolve().parents[2]


class Server(Protocol):
    """A running system: where it answers and which interpreter runs its clients."""

    name: str
    url: str
    python: Path

    def pids(self) -> list[int]:
        """PIDs of the system's own processes (their children count too)."""


def _process_tree(roots: list[int]) -> set[int]:
    """The roots and all their descendants, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages split between sharers, so a tree of forked
    workers is not counted several times (as summing RSS would)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class MemorySampler(threading.Thread):
    """Peak memory (PSS) of a system's process tree, sampled every ``interval_s``."""

    def __init__(self, roots: list[int], interval_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.roots, self.interval_s = roots, interval_s
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        """Sample until :attr:`done` is set."""
        while True:
            total = sum(_pss_bytes(pid) for pid in _process_tree(self.roots))
            self.peak = max(self.peak, total)
            if self.done.wait(self.interval_s):
                return


@dataclass
class ClientResult:
    """What one client process reported."""

    workload: str
    system: str
    measurements: list[Measurement] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def time_limit(params: Params) -> float:
    """Seconds a client process may take (its workload's ``client_timeout_s``)."""
    return float(params.get("client_timeout_s", 1800))


def client_env(server: Server) -> dict[str, str]:
    """The client's environment: ours with our tuning but no tracking location, plus the
    server's own settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", *LOCATION_SETTINGS))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(getattr(server, "client_env", {}))
    return env


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_client(workload: str, server: Server, params: Params, workdir: Path, tag: str,
               writer_threads: int) -> ClientResult:
    """Run ``workload`` against ``server`` in a client process; never raises for its failures."""
    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"{workload}-{server.name}-{tag}"
    spec_file, out_file, log_file = (workdir / f"{stem}.{ext}" for ext in ("spec", "out", "log"))
    out_file.unlink(missing_ok=True)
    spec: dict[str, Any] = {"workload": workload, "system": server.name, "url": server.url,
                            "params": params, "writer_threads": writer_threads,
                            "out": str(out_file)}
    spec_file.write_text(json.dumps(spec))
    result = ClientResult(workload, server.name)
    sampler = MemorySampler(server.pids())
    sampler.start()
    start = time.perf_counter()
    with log_file.open("wb") as log:
        try:
            subprocess.run(
                [str(server.python), "-m", "benchmarks.workloads.child", str(spec_file)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=client_env(server),
                timeout=time_limit(params), check=False,
            )
        except subprocess.TimeoutExpired:
            result.error = f"timed out after {time_limit(params):.0f}s"
    result.seconds = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    if not result.error:
        try:
            document = json.loads(out_file.read_text())
        except (OSError, ValueError):
            document = {"error": "the client process wrote no result"}
        result.error = document.get("error", "")
        result.measurements = [Measurement.from_json(m)
                               for m in document.get("measurements", [])]
        if result.measurements and sampler.peak:
            result.measurements.append(Measurement(
                "server memory, peak PSS", sampler.peak / 2**20, "MiB", False))
    if result.error:
        result.error += f"\n  log {log_file}:\n{_tail(log_file)}"
    state = "failed" if result.error else "ok"
    print(f"[bench] {workload:<14} {server.name:<12} {tag:<3} {state} in {result.seconds:.1f}s",
          file=sys.stderr, flush=True)
    return result
