"""``python -m benchmarks --quick`` once, end to end: the harness works (not the numbers).

It starts every system (installing the peers' venvs on first use), runs every workload
against each in its own client process, stops everything, prints one table per workload
and saves the report. Runstream is either measured or reported as not measured yet with the
part that is missing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


TITLES = ("Ingest", "Freshness", "Runs at scale", "Long history", "Read load")


def _leftover_pids(workdir: Path) -> list[int]:
    """Live processes whose command line or environment mentions the work folder."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if str(workdir).encode() in cmdline or str(workdir).encode() in environ:
                found.append(int(proc.name))
    return found


@pytest.mark.timeout(900)  # a fresh machine installs both peers first (1-2 min each)
def test_quick_benchmark_prints_and_saves_every_table(tmp_path: Path) -> None:
    workdir, results = tmp_path / "work", tmp_path / "results"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick",
         "--results-dir", str(results), "--workdir", str(workdir)],
        cwd=ROOT, capture_output=True, text=True, timeout=840, check=False,
    )
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"

    (saved,) = results.glob("*-quick.md")
    report = saved.read_text()
    assert report.strip() in run.stdout
    systems = re.search(r"^Systems: (.*)$", report, re.MULTILINE)
    assert systems is not None
    measured = systems.group(1).split(", ")
    assert {"mlflow", "fasttrackml"} <= set(measured)
    assert "runstream" in measured or "**runstream not measured**" in report
    assert "cores" in report and "memory" in report and "mlflow server 3.17.2" in report

    sections = report.split("\n### ")[1:]
    assert [s.split(":", 1)[0] for s in sections] == list(TITLES)
    for table in sections:
        name = table.split(":", 1)[0]
        rows = [line for line in table.splitlines() if line.startswith("| ")]
        header, body = rows[0], rows[1:]
        assert header.startswith("| measurement | " + " | ".join(measured)), header
        assert body, f"{name}: no measurement"
        for row in body:
            cells = [c.strip() for c in row.strip("|").split("|")][1 : 1 + len(measured)]
            assert "—" not in cells, f"{name}: a system has no value in {row}"
    assert "FAILED" not in report
    assert _leftover_pids(workdir) == [], "servers left running after the benchmark"


@pytest.mark.timeout(300)
def test_the_throughput_benchmark_prints_one_table_of_real_numbers() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.materialize_throughput", "--repeat", "1",
         "--points", "2000000", "--live-points", "100000", "--steady-s", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=280, check=False,
    )
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    rows = {
        cells[1].strip(" *"): cells[2].strip()
        for line in run.stdout.splitlines()
        if (cells := line.split("|")) and len(cells) == 6 and not set(cells[2]) <= {"-", ":", " "}
    }
    sustained = next(v for k, v in rows.items() if k.startswith("backlog: points/s, sustained"))
    assert float(sustained.replace(",", "")) > 0
    files = next(v for k, v in rows.items() if k.startswith("steady: data files created per day"))
    assert float(files.replace(",", "")) > 0
    assert run.stdout.count("| measurement |") == 1
    assert "Settings:" in run.stdout or "settings" in run.stdout.lower()
