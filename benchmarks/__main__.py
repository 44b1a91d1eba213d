"""``python -m benchmarks``: the same workloads on Runstream, MLflow and FastTrackML, side by side.

Steps:

1. start every chosen system on loopback, in a work folder: Runstream's local stack with its
   applications (as ``runstream up``), MLflow's and FastTrackML's servers from their own venvs
   (installed on first use) with SQLite; a system that cannot start is reported, not fatal;
2. for each workload, ``--repeat`` times, run it against each system in a fresh client
   process of that system's interpreter (the order of systems rotates between repeats, so
   drift on a noisy machine does not always favour the same one);
3. stop every system started, whatever happened;
4. print the report (one table per workload, medians and ratios to Runstream, machine facts,
   versions) and write it to ``benchmarks/results/<date>.md`` (``<date>-quick.md`` for
   ``--quick``); a complete full run also refreshes ``benchmarks/results/latest.md``.

Exit status: 0 when every client process succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import peers, workloads
from benchmarks.report import Report, Section, runstream_versions
from benchmarks.workloads.runner import run_client

from runstream.stack import free_ports

SYSTEMS = ("runstream", "mlflow", "fasttrackml")
RESULTS = Path(__file__).resolve().parent / "results"


def _names(raw: list[str] | None, allowed: Sequence[str], what: str) -> list[str]:
    if not raw:
        return list(allowed)
    chosen = [n.strip() for item in raw for n in item.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return [n for n in allowed if n in chosen]


def _overrides(parser: argparse.ArgumentParser,
               items: list[str]) -> dict[str, dict[str, float | int]]:
    """``["ingest.runs=10"]`` -> ``{"ingest": {"runs": 10}}`` (checked against the sizes)."""
    found: dict[str, dict[str, float | int]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        workload, _, param = target.partition(".")
        if not sep or workload not in workloads.NAMES:
            parser.error(f"--set {item}: expected WORKLOAD.PARAM=VALUE")
        if param not in workloads.load(workload).FULL:
            parser.error(f"--set {item}: {workload} has no parameter {param!r}")
        try:
            value: float | int = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                parser.error(f"--set {item}: {raw!r} is not a number")
        found.setdefault(workload, {})[param] = value
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes (the CI smoke test)")
    size.add_argument("--full", action="store_true", help="the issue's sizes (default)")
    parser.add_argument("--only", action="append", metavar="WORKLOAD",
                        help=f"run only these workloads (comma list): {', '.join(workloads.NAMES)}")
    parser.add_argument("--systems", action="append", metavar="NAMES",
                        help=f"comma list of systems (default all): {', '.join(SYSTEMS)}")
    parser.add_argument("--repeat", type=int,
                        help="repeats per workload (default: 3, 1 for runs_at_scale and "
                        "read_load whose many samples come from one population; 1 with --quick)")
    parser.add_argument("--writer-threads", type=int, default=4,
                        help="threads writing to each system, standing for concurrent training "
                        "processes (default 4)")
    parser.add_argument("--set", action="append", default=[], metavar="WORKLOAD.PARAM=VALUE",
                        help="override one size parameter, e.g. long_history.steps=200000")
    parser.add_argument("--results-dir", type=Path, default=RESULTS,
                        help="where the Markdown report goes (default benchmarks/results)")
    parser.add_argument("--workdir", type=Path,
                        help="state of the servers and client logs (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    args = parser.parse_args(argv)
    args.mode = "quick" if args.quick else "full"
    args.workloads = _names(args.only, workloads.NAMES, "workload")
    args.system_names = _names(args.systems, SYSTEMS, "system")
    args.overrides = _overrides(parser, args.set)
    if args.overrides:
        args.mode = f"{args.mode}, custom"
    if (args.repeat is not None and args.repeat < 1) or args.writer_threads < 1:
        parser.error("--repeat and --writer-threads must be >= 1")
    return args


def start_systems(names: list[str], workdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Start the systems side by side; the running ones and why the others are not."""
    skipped: dict[str, str] = {}
    if "runstream" in names and (missing := peers.runstream_missing()):
        skipped["runstream"] = missing
        names = [n for n in names if n != "runstream"]

    # Every port is picked in one call, so systems starting side by side never collide.
    wanted = {n: peers.PORTS_NEEDED if n == "runstream" else 1 for n in names}
    free = iter(free_ports(sum(wanted.values())))
    ports = {n: [next(free) for _ in range(count)] for n, count in wanted.items()}

    def start(name: str) -> Any:
        print(f"[bench] starting {name} ...", file=sys.stderr, flush=True)
        if name == "runstream":
            return peers.start_runstream(workdir / name, ports[name])
        return peers.start_peer(name, workdir / name, ports[name][0])

    servers: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        futures = {name: pool.submit(start, name) for name in names}
        for name, future in futures.items():
            try:
                servers[name] = future.result()
            except Exception as exc:
                skipped[name] = f"did not start: {type(exc).__name__}: {exc}"
    return servers, skipped


def stop_systems(servers: dict[str, Any]) -> None:
    """Stop every system, side by side (the S3 store takes ~15 s to exit)."""
    with ThreadPoolExecutor(max_workers=len(servers) or 1) as pool:
        for future in [pool.submit(s.stop) for s in servers.values()]:
            try:
                future.result()
            except Exception as exc:
                print(f"[bench] stopping failed: {exc}", file=sys.stderr)


def versions(systems: list[str]) -> dict[str, str]:
    """Versions of everything measured."""
    found: dict[str, str] = {}
    if "runstream" in systems:
        found.update(runstream_versions())
    for peer in ("mlflow", "fasttrackml"):
        if peer in systems:
            found[f"{peer} server"] = peers.peer_version(peer)
            found[f"{peer}'s MLflow client"] = peers.client_version(peer)
    return found


def method_notes(writer_threads: int) -> list[str]:
    """How the systems are driven, for the report's header."""
    return [
        f"- Writes, from {writer_threads} threads standing for concurrent training processes: "
        "Runstream through its SDK (`runstream.log_metric` per point; `end_run` waits for "
        "delivery), MLflow and FastTrackML through MLflow's client (`log_batch` of up to 1,000 "
        "points, sent as it fills and at the end of each step where a workload has steps).",
        "- Reads: the same MLflow REST requests against all three (`runs/search`, `runs/get`, "
        "`metrics/get-history` paged by 25,000, `get-history-bulk-interval`); FastTrackML's "
        "downsampled read goes through its Aim API (`/aim/api/runs/search/metric`), the one "
        "its UI uses.",
        "- Servers: MLflow `mlflow server --workers 2` and FastTrackML `fml server`, both on "
        "SQLite; Runstream as `runstream up` (SeaweedFS, Tansu, materializer, query service).",
        "",
    ]


def run_workloads(args: argparse.Namespace, servers: dict[str, Any],
                  workdir: Path) -> tuple[list[Section], int]:
    """Every workload, every repeat, every system; the tables and the number of failures."""
    sections, failures = [], 0
    for name in args.workloads:
        module = workloads.load(name)
        params = dict(module.QUICK if args.quick else module.FULL)
        params.update(args.overrides.get(name, {}))
        repeats = args.repeat or (1 if args.quick else getattr(module, "FULL_REPEAT", 3))
        section = Section(name, module.TITLE, module.describe(params), repeats)
        for repeat in range(repeats):
            order = list(servers)
            order = order[repeat % len(order):] + order[: repeat % len(order)] if order else []
            for system in order:
                result = run_client(name, servers[system], params, workdir / "clients",
                                    f"r{repeat + 1}", args.writer_threads)
                failures += bool(result.error)
                section.add(result)
        sections.append(section)
    return sections, failures


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so the finally blocks stop every server


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="runstream-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"[bench] {args.mode} size; work folder {workdir}", file=sys.stderr, flush=True)
    servers, skipped = start_systems(args.system_names, workdir)
    try:
        sections, failures = run_workloads(args, servers, workdir)
    finally:
        stop_systems(servers)
    measured = [s for s in args.system_names if s in servers]
    report = Report(
        mode=args.mode,
        command=shlex.join(["python", "-m", "benchmarks", *(argv or sys.argv[1:])]),
        systems=measured, sections=sections, versions=versions(measured), skipped=skipped,
        method=method_notes(args.writer_threads),
    )
    print(report.markdown())
    complete = (args.mode == "full" and measured == list(SYSTEMS)
                and args.workloads == list(workloads.NAMES) and failures == 0)
    path = report.save(args.results_dir, latest=complete)
    print(f"[bench] report written to {path}", file=sys.stderr)
    if not args.keep and not args.workdir and failures == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    # A part not landed yet is a note, not a failure; a system that did not start is.
    started_failed = [s for s, why in skipped.items() if why.startswith("did not start")]
    return 1 if failures or started_failed else 0


if __name__ == "__main__":
    sys.exit(main())
