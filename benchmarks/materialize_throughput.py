"""Materializer throughput: drain a backlog of metric points from the broker into the lake.

Usage::

    .venv/bin/python -m benchmarks.materialize_throughput [--repeat 3] [--points 10000000]
        [--live-points 2000000] [--points-per-event 1000] [--batch-max-events 5000]
        [--batch-max-ms 500] [--steady-s 120] [--steady-rate 20000]
        [--steady-points-per-event 20] [--keep]

    # a small run, about a minute:
    .venv/bin/python -m benchmarks.materialize_throughput --points 1000000 \\
        --live-points 200000 --steady-s 20 --repeat 1

Each repeat, in a fresh temporary folder (deleted afterwards unless ``--keep`` or failed):

1. start a local stack (SeaweedFS S3 + Tansu) on free ports;
2. produce ``--points`` metric points (``run.metrics`` events of ``--points-per-event``
   points over ``--runs`` runs) and wait until the broker has them: the backlog;
3. start ``python -m runstream.materializer`` as a child process (lake catalog in SQLite,
   data on the local S3) and time it until the lake's ``consumer_offsets`` cover the
   backlog; the sustained rate counts what was committed after the first commit, over
   the time since it;
4. live phase: produce ``--live-points`` more while the materializer runs; the lag
   (events) when the producer stops, and the seconds to drain it;
5. steady phase (``--steady-s 0`` skips it): ``--steady-rate`` points/s as SDKs send
   them, events of ``--steady-points-per-event`` points round-robin over the runs, every
   100 ms for ``--steady-s`` seconds; the lake's live data files are counted when it
   starts and once it is drained, and extrapolated to an hour and a day;
6. stop the materializer; one compaction pass (``compact(lake, retention_s=0)``); data
   files before and after.

The materializer's own maintenance runs every 600 s of its life, so at these sizes it
does not run during the phases: the file counts are what the commits left. The report
says so, or warns, from the materializer's log.

Prints one Markdown table: per measurement the median over the repeats, then the min and
max (the machine is shared and noisy: quote medians); then the settings and machine facts.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from benchmarks.report import fmt, machine_facts
from benchmarks.workloads.base import median

from runstream.config import Ports, Settings, load_settings, settings_to_env
from runstream.errors import LakeError
from runstream.events import new_event_id, new_run_id
from runstream.kafka.admin import ensure_topics
from runstream.lake.connection import CATALOG, open_lake
from runstream.lake.maintenance import MAX_FILE_BYTES, compact, count_data_files
from runstream.lake.reader import DuckLakeReader
from runstream.stack import LocalStack, free_ports

KEYS = ["loss", "accuracy", "lr", "grad_norm", "val_loss", "val_accuracy", "epoch", "tokens"]
# First step index of each phase's events, so no phase rewrites another's points.
LIVE_STEP0 = 10**6
STEADY_STEP0 = 2 * 10**6
STEADY_TICK_S = 0.1
POLL_S = 0.2
# What the materializer logs when its own maintenance (a compaction) ran.
MAINTENANCE_LOG_MARK = b"maintenance:"
MAINTENANCE_EVERY_S = 600
HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True)
class Plan:
    """The command line: sizes, materializer settings, repeats."""

    repeat: int
    points: int
    live_points: int
    points_per_event: int
    runs: int
    partitions: int
    batch_max_events: int
    batch_max_ms: int
    steady_s: float
    steady_rate: int
    steady_points_per_event: int
    keep: bool


def _row(label: str, *, count: bool = False) -> Any:
    """A field of :class:`Outcome` shown as one table row, in declaration order; a
    ``count`` is shown as a whole number."""
    return field(metadata={"row": label, "count": count})


@dataclass(frozen=True)
class Outcome:
    """Every number of one repeat; ``None`` where its phase was skipped."""

    backlog_events_per_s: float | None = _row(
        "backlog: events/s, sustained (first commit to drained)")
    backlog_points_per_s: float | None = _row(
        "**backlog: points/s, sustained** (first commit to drained; target 500,000)")
    backlog_points_per_s_with_startup: float = _row(
        "backlog: points/s, from materializer process start")
    cpu_us_per_point: float = _row("backlog: materializer CPU µs/point (start-up included)")
    peak_rss_mib: float = _row("materializer peak RSS, MiB (all phases; target < 1,024)")
    live_lag_events: float = _row("live: lag at producer stop, events", count=True)
    live_drain_s: float = _row("live: seconds to drain that lag")
    steady_points_per_s: float | None = _row("steady: points/s produced")
    steady_files_per_hour: float | None = _row(
        "steady: data files created per hour", count=True)
    steady_files_per_day: float | None = _row(
        "steady: data files created per day (extrapolated)", count=True)
    steady_files_per_day_compacted: float | None = _row(
        "steady: data files per day after compaction (estimate, upper bound: a day's "
        "small-file bytes / 64 MiB, per table)", count=True)
    files_before_compaction: float = _row(
        "whole lake: data files before one compaction pass", count=True)
    files_after_compaction: float = _row(
        "whole lake: data files after it (measured)", count=True)
    compaction_s: float = _row("whole lake: compaction pass, seconds")
    steady_files_per_day_by_table: dict[str, float] = field(default_factory=dict)
    steady_gb_per_day_by_table: dict[str, float] = field(default_factory=dict)
    maintenance_ran: bool = False


@dataclass(frozen=True)
class BacklogDrain:
    """How the materializer drained the backlog; no sustained rates (None) when the
    first commit held all of it (a backlog smaller than one batch)."""

    events_per_s: float | None
    points_per_s: float | None
    points_per_s_with_startup: float
    cpu_us_per_point: float


@dataclass(frozen=True)
class LiveCatchUp:
    """The live phase: lag when the producer stopped and the time to drain it."""

    lag_events: int
    drain_s: float


@dataclass(frozen=True)
class FileCensus:
    """The lake's live data files at one moment."""

    files: int
    files_by_table: dict[str, int]
    bytes_by_table: dict[str, int]


@dataclass(frozen=True)
class SteadyFiles:
    """The steady phase: the rate held and the data files it left."""

    points_per_s: float
    files_per_hour: float
    files_per_day: float
    files_per_day_compacted: float
    files_per_day_by_table: dict[str, float]
    gb_per_day_by_table: dict[str, float]


@dataclass(frozen=True)
class CompactionPass:
    """One ``compact`` pass over the whole lake."""

    files_before: int
    files_after: int
    seconds: float


class LakeProgress:
    """What the materializer has committed, polled through one read-only lake reader."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._reader: DuckLakeReader | None = None

    def committed(self) -> tuple[int, int]:
        """Events committed (sum of consumer offsets) and metric points in the lake, from
        one snapshot; ``(0, 0)`` while the materializer is still creating the lake."""
        try:
            if self._reader is None:
                reader = DuckLakeReader(self._settings)
                reader.start()
                self._reader = reader
            rows = self._reader.query(
                "SELECT (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets),"
                " (SELECT count(*) FROM metrics)").rows
            return int(rows[0][0]), int(rows[0][1])
        except LakeError:
            return 0, 0

    def committed_events(self) -> int:
        """Events committed (sum of consumer offsets); 0 while the lake is being created."""
        try:
            if self._reader is None:
                return self.committed()[0]
            return int(self._reader.query(
                "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets").rows[0][0])
        except LakeError:
            return 0

    def close(self) -> None:
        """Release the reader (before the lake is opened read-write)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings(home: Path, plan: Plan) -> Settings:
    names = [f.name for f in dataclasses.fields(Ports)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    return load_settings(
        env, home=home, ports=Ports(**dict(zip(names, free_ports(len(names)), strict=True))),
        partitions=plan.partitions, batch_max_events=plan.batch_max_events,
        batch_max_ms=plan.batch_max_ms,
    )


def _child_env(settings: Settings) -> dict[str, str]:
    """This environment without RUNSTREAM_* (but the log level), plus these settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RUNSTREAM_") or k == "RUNSTREAM_LOG_LEVEL"}
    return {**env, **settings_to_env(settings)}


def _metric_messages(points: int, per_event: int, runs: list[str], step0: int,
                     first_event: int = 0) -> list[tuple[bytes, bytes]]:
    """Wire-format ``run.metrics`` events, encoded by hand (what the SDK sends).

    Event ``i`` (counted from ``first_event``) goes to run ``i % len(runs)`` at event
    step ``step0 + i // len(runs)``; its points cycle over :data:`KEYS`, so every
    (run, key, step) is written once whatever ``per_event``.
    """
    rng = random.Random(step0 + first_event)
    out: list[tuple[bytes, bytes]] = []
    now = int(time.time() * 1000)
    for i in range(first_event, first_event + points // per_event):
        rid = runs[i % len(runs)]
        first_point = (step0 + i // len(runs)) * per_event
        body = {
            "keys": [KEYS[(first_point + j) % len(KEYS)] for j in range(per_event)],
            "values": [rng.random() for _ in range(per_event)],
            "steps": [(first_point + j) // len(KEYS) for j in range(per_event)],
            "timestamps": [now + j for j in range(per_event)],
        }
        event = {"schema_version": 1, "event_id": new_event_id(), "type": "run.metrics",
                 "produced_at": now, "experiment_id": None, "run_id": rid, "model_name": None,
                 "body": body}
        out.append((rid.encode(), orjson.dumps(event)))
    return out


def _start_messages(runs: list[str]) -> list[tuple[bytes, bytes]]:
    now = int(time.time() * 1000)
    return [
        (rid.encode(), orjson.dumps({
            "schema_version": 1, "event_id": new_event_id(), "type": "run.started",
            "produced_at": now, "experiment_id": "0", "run_id": rid, "model_name": None,
            "body": {"run_name": f"bench-{i}", "user_id": "bench", "source_name": "bench.py",
                     "source_type": "LOCAL", "start_time": now}}))
        for i, rid in enumerate(runs)
    ]


def _producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all",
                            enable_idempotence=False, linger_ms=20,
                            max_batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)


async def _send_all(producer: AIOKafkaProducer, topic: str,
                    messages: list[tuple[bytes, bytes]]) -> None:
    """Send and wait until the broker acknowledged every message."""
    pending = []
    for key, value in messages:
        pending.append(await producer.send(topic, value, key=key))
        if len(pending) >= 500:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


async def _produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> float:
    """Send every message as fast as the broker takes them; returns the seconds taken."""
    producer = _producer(settings)
    await producer.start()
    started = time.monotonic()
    try:
        await _send_all(producer, settings.topic_events, messages)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def _produce_steady(settings: Settings, plan: Plan, runs: list[str]) -> tuple[int, float]:
    """Send ``plan.steady_rate`` points/s in ticks of 100 ms for ``plan.steady_s`` seconds
    (a late tick is sent at once, not skipped); returns (events sent, seconds taken)."""
    per_event = plan.steady_points_per_event
    events_per_tick = max(1, round(plan.steady_rate * STEADY_TICK_S / per_event))
    ticks = max(1, round(plan.steady_s / STEADY_TICK_S))
    producer = _producer(settings)
    await producer.start()
    started = time.monotonic()
    try:
        for tick in range(ticks):
            await asyncio.sleep(max(0.0, started + tick * STEADY_TICK_S - time.monotonic()))
            messages = _metric_messages(events_per_tick * per_event, per_event, runs,
                                        STEADY_STEP0, first_event=tick * events_per_tick)
            await _send_all(producer, settings.topic_events, messages)
    finally:
        await producer.stop()
    return ticks * events_per_tick, time.monotonic() - started


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (NaN where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _check_alive(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        raise SystemExit(f"materializer exited with {proc.returncode}")


def _first_commit(progress: LakeProgress, proc: subprocess.Popen[bytes],
                  timeout_s: float) -> tuple[float, int, int]:
    """Wait for the materializer's first commit: (when, events and points it committed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events, points = progress.committed()
        if events:
            return time.monotonic(), events, points
        _check_alive(proc)
        time.sleep(POLL_S)
    raise SystemExit(f"timed out: no lake commit in {timeout_s:.0f} s")


def _drained(progress: LakeProgress, target_events: int, proc: subprocess.Popen[bytes],
             timeout_s: float) -> float:
    """Wait until the lake's offsets reach ``target_events``; returns when they did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if progress.committed_events() >= target_events:
            return time.monotonic()
        _check_alive(proc)
        time.sleep(POLL_S)
    raise SystemExit(f"timed out: lake offsets below {target_events:,}")


def _spawn_materializer(settings: Settings) -> subprocess.Popen[bytes]:
    with open(settings.home / "materializer.log", "wb") as log:  # the child keeps its copy
        return subprocess.Popen([sys.executable, "-m", "runstream.materializer"],
                                env=_child_env(settings), stdout=log, stderr=subprocess.STDOUT)


def _drain_backlog(settings: Settings, plan: Plan, progress: LakeProgress,
                   backlog_events: int) -> tuple[subprocess.Popen[bytes], BacklogDrain]:
    """Start the materializer and time it through the backlog (step 3)."""
    proc = _spawn_materializer(settings)
    spawned = time.monotonic()
    first_at, first_events, first_points = _first_commit(progress, proc, timeout_s=600)
    drained_at = _drained(progress, backlog_events, proc, timeout_s=1800)
    cpu_s = _cpu_s(proc.pid)
    sustained_s = max(drained_at - first_at, 1e-9)
    after_first = first_events < backlog_events
    drain = BacklogDrain(
        events_per_s=(backlog_events - first_events) / sustained_s if after_first else None,
        points_per_s=(plan.points - first_points) / sustained_s if after_first else None,
        points_per_s_with_startup=plan.points / (drained_at - spawned),
        cpu_us_per_point=cpu_s * 1e6 / plan.points,
    )
    sustained = fmt(drain.points_per_s) if drain.points_per_s is not None else "n/a"
    _say(f"  backlog drained {drained_at - spawned:.1f} s after process start; first commit "
         f"at {first_at - spawned:.1f} s held {first_points:,} points; sustained "
         f"{sustained} points/s (all points over the same time: "
         f"{fmt(plan.points / sustained_s)}); CPU {cpu_s:.1f} s")
    return proc, drain


def _live_phase(settings: Settings, plan: Plan, runs: list[str], progress: LakeProgress,
                proc: subprocess.Popen[bytes], committed_before: int) -> tuple[int, LiveCatchUp]:
    """Produce the live points while the materializer runs (step 4); returns the events
    committed afterwards and the catch-up."""
    live = _metric_messages(plan.live_points, plan.points_per_event, runs, LIVE_STEP0)
    live_s = asyncio.run(_produce(settings, live))
    at_stop = progress.committed_events()
    stopped = time.monotonic()
    target = committed_before + len(live)
    caught_up = _drained(progress, target, proc, timeout_s=600)
    catch_up = LiveCatchUp(lag_events=target - at_stop, drain_s=caught_up - stopped)
    _say(f"  live: {plan.live_points:,} points produced in {live_s:.1f} s "
         f"({fmt(plan.live_points / live_s)} points/s); lag {catch_up.lag_events:,} events, "
         f"drained in {catch_up.drain_s:.1f} s")
    return target, catch_up


def _file_census(settings: Settings) -> FileCensus:
    """Count the lake's live data files, in total and per table, read-only."""
    with open_lake(settings, read_only=True) as lake:
        files = count_data_files(lake)
        rows = lake.con.execute(
            f"SELECT table_name, file_count, file_size_bytes FROM {CATALOG}.table_info()"
        ).fetchall()
    return FileCensus(files, {str(r[0]): int(r[1]) for r in rows},
                      {str(r[0]): int(r[2]) for r in rows})


def _steady_files(start: FileCensus, end: FileCensus, points_per_s: float,
                  seconds: float) -> SteadyFiles:
    """Extrapolate the files (and bytes) the steady phase added to an hour and a day."""
    per_day = DAY_S / seconds
    by_table = {table: (files - start.files_by_table.get(table, 0)) * per_day
                for table, files in end.files_by_table.items()}
    bytes_per_day = {table: (size - start.bytes_by_table.get(table, 0)) * per_day
                     for table, size in end.bytes_by_table.items()}
    created = end.files - start.files
    return SteadyFiles(
        points_per_s=points_per_s,
        files_per_hour=created * HOUR_S / seconds,
        files_per_day=created * per_day,
        files_per_day_compacted=sum(math.ceil(b / MAX_FILE_BYTES)
                                    for b in bytes_per_day.values() if b > 0),
        files_per_day_by_table={t: n for t, n in by_table.items() if n > 0},
        gb_per_day_by_table={t: b / 1e9 for t, b in bytes_per_day.items() if b > 0},
    )


def _steady_phase(settings: Settings, plan: Plan, runs: list[str], progress: LakeProgress,
                  proc: subprocess.Popen[bytes], committed_before: int) -> SteadyFiles:
    """SDK-like traffic at a fixed rate (step 5): the data files it leaves."""
    start = _file_census(settings)
    events, seconds = asyncio.run(_produce_steady(settings, plan, runs))
    _drained(progress, committed_before + events, proc, timeout_s=600)
    end = _file_census(settings)
    steady = _steady_files(start, end, events * plan.steady_points_per_event / seconds, seconds)
    _say(f"  steady: {events:,} events in {seconds:.1f} s ({fmt(steady.points_per_s)} "
         f"points/s); data files {start.files:,} -> {end.files:,}")
    return steady


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


def _compaction_pass(settings: Settings) -> CompactionPass:
    """One compaction pass over the whole lake, the materializer stopped (step 6)."""
    with open_lake(settings, read_only=False) as lake:
        before = count_data_files(lake)
        report = compact(lake, retention_s=0)
    _say(f"  compaction: {before:,} -> {report.files_after:,} data files "
         f"in {report.seconds:.1f} s")
    return CompactionPass(before, report.files_after, report.seconds)


def _maintenance_ran(settings: Settings) -> bool:
    return MAINTENANCE_LOG_MARK in (settings.home / "materializer.log").read_bytes()


def _measure(settings: Settings, plan: Plan) -> Outcome:
    """Steps 2-6 of the module docstring on a running stack."""
    ensure_topics(settings)
    runs = [new_run_id() for _ in range(plan.runs)]
    backlog = _start_messages(runs) + _metric_messages(plan.points, plan.points_per_event, runs, 0)
    produce_s = asyncio.run(_produce(settings, backlog))
    _say(f"  backlog: {len(backlog):,} events, {plan.points:,} points, "
         f"{sum(len(v) for _, v in backlog) / 1e6:,.0f} MB, produced in {produce_s:.1f} s")
    progress = LakeProgress(settings)
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc, backlog_drain = _drain_backlog(settings, plan, progress, len(backlog))
        committed, live = _live_phase(settings, plan, runs, progress, proc, len(backlog))
        steady = (_steady_phase(settings, plan, runs, progress, proc, committed)
                  if plan.steady_s > 0 else None)
        peak_rss_mib = _peak_rss_mib(proc.pid)
        _stop(proc)
    finally:
        progress.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    compaction = _compaction_pass(settings)
    return Outcome(
        backlog_events_per_s=backlog_drain.events_per_s,
        backlog_points_per_s=backlog_drain.points_per_s,
        backlog_points_per_s_with_startup=backlog_drain.points_per_s_with_startup,
        cpu_us_per_point=backlog_drain.cpu_us_per_point,
        peak_rss_mib=peak_rss_mib,
        live_lag_events=live.lag_events,
        live_drain_s=live.drain_s,
        steady_points_per_s=steady.points_per_s if steady else None,
        steady_files_per_hour=steady.files_per_hour if steady else None,
        steady_files_per_day=steady.files_per_day if steady else None,
        steady_files_per_day_compacted=steady.files_per_day_compacted if steady else None,
        files_before_compaction=compaction.files_before,
        files_after_compaction=compaction.files_after,
        compaction_s=compaction.seconds,
        steady_files_per_day_by_table=steady.files_per_day_by_table if steady else {},
        steady_gb_per_day_by_table=steady.gb_per_day_by_table if steady else {},
        maintenance_ran=_maintenance_ran(settings),
    )


def _repeat_once(plan: Plan, number: int) -> Outcome:
    """One repeat: a fresh stack in a fresh temporary folder, measured, torn down."""
    home = Path(tempfile.mkdtemp(prefix="rs-bench-"))
    settings = _settings(home, plan)
    stack = LocalStack(settings)
    _say(f"[{number}/{plan.repeat}] starting the local stack in {home} ...")
    stack.up()
    measured = False
    try:
        outcome = _measure(settings, plan)
        measured = True
        return outcome
    finally:
        stack.down()
        if measured and not plan.keep:
            shutil.rmtree(home, ignore_errors=True)
        else:
            _say(f"  work folder kept: {home}")


def _table(outcomes: list[Outcome]) -> list[str]:
    lines = ["| measurement | median | min | max |", "|---|---:|---:|---:|"]
    for f in dataclasses.fields(Outcome):
        if "row" not in f.metadata:
            continue
        values = [float(v) for o in outcomes if (v := getattr(o, f.name)) is not None]
        show = _whole if f.metadata["count"] else fmt
        stats = (median(values), min(values), max(values)) if values else ()
        cells = [show(v) for v in stats] or ["—", "—", "—"]
        lines.append(f"| {f.metadata['row']} | " + " | ".join(cells) + " |")
    return lines


def _whole(value: float) -> str:
    return f"{value:,.0f}"


def _notes(plan: Plan, outcomes: list[Outcome]) -> list[str]:
    notes: list[str] = []
    if plan.steady_s > 0:
        tables = sorted({t for o in outcomes for t in o.steady_files_per_day_by_table})
        by_table = ", ".join(
            f"{t} {_whole(median([o.steady_files_per_day_by_table.get(t, 0) for o in outcomes]))}"
            f" ({fmt(median([o.steady_gb_per_day_by_table.get(t, 0) for o in outcomes]))} GB)"
            for t in tables)
        notes.append(
            "- steady: data files (and GB) created per day by table (extrapolated, median): "
            f"{by_table or 'none'}. Inserts under the inlining limit go to the catalog, "
            "not to files. The after-compaction estimate is what maintenance (every "
            f"{MAINTENANCE_EVERY_S} s, up to 8 merged files per table per pass) converges to; "
            "it counts the small files' bytes, which shrink when merged, so it is an upper "
            "bound. One pass over the whole lake is measured in the last rows.")
    ran = [str(i + 1) for i, o in enumerate(outcomes) if o.maintenance_ran]
    notes.append(
        f"- WARNING: the materializer's own maintenance (every {MAINTENANCE_EVERY_S} s) ran "
        f"in repeat(s) {', '.join(ran)}: the file counts before compaction are lower than "
        "what the commits left." if ran else
        f"- The materializer's own maintenance (every {MAINTENANCE_EVERY_S} s of its life) did "
        "not run in any repeat: the counts before compaction are what the commits left.")
    return notes


def render(plan: Plan, outcomes: list[Outcome]) -> str:
    """The Markdown report: the table, notes, settings, machine facts."""
    facts = {**machine_facts(), "duckdb": importlib.metadata.version("duckdb")}
    steady = (f"steady_s={plan.steady_s:g} steady_rate={plan.steady_rate} points/s "
              f"steady_points/event={plan.steady_points_per_event}"
              if plan.steady_s > 0 else "steady phase skipped")
    lines = [
        "### Materializer throughput", "",
        f"_median, min and max of {len(outcomes)} repeat(s), each on a fresh local stack_", "",
        *_table(outcomes), "", *_notes(plan, outcomes), "",
        f"Settings: batch_max_events={plan.batch_max_events} batch_max_ms={plan.batch_max_ms} "
        f"partitions={plan.partitions} points/event={plan.points_per_event} "
        f"points={plan.points:,} live_points={plan.live_points:,} runs={plan.runs}; {steady}",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> Plan:
    """The command line, checked."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3,
                        help="repeats, each on a fresh stack; the table shows medians "
                        "(default 3)")
    parser.add_argument("--points", type=int, default=10_000_000, help="backlog points")
    parser.add_argument("--live-points", type=int, default=2_000_000,
                        help="points produced while the materializer runs")
    parser.add_argument("--points-per-event", type=int, default=1000,
                        help="points per event of the backlog and live phases")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-max-events", type=int, default=5000)
    parser.add_argument("--batch-max-ms", type=int, default=500)
    parser.add_argument("--steady-s", type=float, default=120,
                        help="seconds of the steady phase; 0 skips it (default 120)")
    parser.add_argument("--steady-rate", type=int, default=20_000,
                        help="points/s of the steady phase (default 20000)")
    parser.add_argument("--steady-points-per-event", type=int, default=20,
                        help="points per event of the steady phase (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep each repeat's work folder")
    args = parser.parse_args(argv)
    plan = Plan(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Plan)})
    if min(plan.repeat, plan.points_per_event, plan.runs, plan.steady_points_per_event,
           plan.steady_rate) < 1 or plan.points < plan.points_per_event:
        parser.error("--repeat, --runs, --steady-rate and the points per event must be >= 1, "
                     "and --points at least one event")
    if plan.live_points < plan.points_per_event or plan.steady_s < 0:
        parser.error("--live-points must be at least one event and --steady-s >= 0")
    return plan


def main(argv: list[str] | None = None) -> int:
    """Run every repeat and print the report."""
    plan = parse_args(argv)
    outcomes = [_repeat_once(plan, number) for number in range(1, plan.repeat + 1)]
    print(render(plan, outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
