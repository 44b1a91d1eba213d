"""Materializer throughput: drain a backlog of metric points from the broker into the lake.

Usage::

    .venv/bin/python -m benchmarks.materialize_throughput [--points 10000000]
        [--points-per-event 1000] [--batch-max-events 5000] [--batch-max-ms 500]

Steps:

1. start a local stack (SeaweedFS S3 + Tansu) on free ports in a temporary folder;
2. produce ``--points`` metric points (``run.metrics`` events of ``--points-per-event``
   points over ``--runs`` runs) and wait until the broker has them: the backlog;
3. start ``runstream materialize`` as a child process (lake catalog in SQLite, data on
   the local S3) and time it until the lake's ``consumer_offsets`` cover the backlog;
4. live phase: produce ``--live-points`` more while the materializer runs; report the
   lag (messages, seconds to drain) when the producer stops;
5. print events/s, points/s, peak RSS of the materializer, and the number of data files
   before and after one compaction pass.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from runstream.config import Ports, Settings, load_settings
from runstream.errors import LakeError
from runstream.events import new_event_id, new_run_id
from runstream.kafka.admin import ensure_topics
from runstream.lake.connection import open_lake
from runstream.lake.maintenance import compact, count_data_files
from runstream.lake.reader import DuckLakeReader
from runstream.stack import LocalStack, free_ports

KEYS = ["loss", "accuracy", "lr", "grad_norm", "val_loss", "val_accuracy", "epoch", "tokens"]


def _settings(home: Path, args: argparse.Namespace) -> Settings:
    names = [f.name for f in dataclasses.fields(Ports)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    return load_settings(
        env, home=home, ports=Ports(**dict(zip(names, free_ports(len(names)), strict=True))),
        partitions=args.partitions, batch_max_events=args.batch_max_events,
        batch_max_ms=args.batch_max_ms,
    )


def _env(settings: Settings) -> dict[str, str]:
    """The RUNSTREAM_* variables that make a child process build the same settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RUNSTREAM_") or k == "RUNSTREAM_LOG_LEVEL"}
    env.update({
        "RUNSTREAM_HOME": str(settings.home),
        "RUNSTREAM_PARTITIONS": str(settings.partitions),
        "RUNSTREAM_BATCH_MAX_EVENTS": str(settings.batch_max_events),
        "RUNSTREAM_BATCH_MAX_MS": str(settings.batch_max_ms),
    })
    for f in dataclasses.fields(Ports):
        env[f"RUNSTREAM_PORT_{f.name.upper()}"] = str(getattr(settings.ports, f.name))
    return env


def _metric_messages(settings: Settings, points: int, per_event: int, runs: list[str],
                     step0: int) -> list[tuple[bytes, bytes]]:
    """Wire-format ``run.metrics`` events, encoded by hand (what the SDK sends)."""
    rng = random.Random(step0)
    out: list[tuple[bytes, bytes]] = []
    now = int(time.time() * 1000)
    for i in range(points // per_event):
        rid = runs[i % len(runs)]
        step = step0 + i // len(runs)
        body = {
            "keys": [KEYS[j % len(KEYS)] for j in range(per_event)],
            "values": [rng.random() for _ in range(per_event)],
            "steps": [step * per_event // len(KEYS) + j // len(KEYS) for j in range(per_event)],
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


async def _produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all",
                                enable_idempotence=False, linger_ms=20,
                                max_batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for key, value in messages:
            pending.append(await producer.send(settings.topic_events, value, key=key))
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - started


def _offsets(
    reader: DuckLakeReader | None, settings: Settings
) -> tuple[DuckLakeReader | None, int]:
    try:
        if reader is None:
            fresh = DuckLakeReader(settings)
            fresh.start()
            reader = fresh
        rows = reader.query("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets").rows
        return reader, int(rows[0][0])
    except LakeError:  # the materializer is still creating the lake
        return reader, 0


def _peak_rss_mb(pid: int) -> float:
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


def _wait(settings: Settings, target: int, proc: subprocess.Popen[bytes],
          timeout_s: float) -> tuple[float, float, float]:
    """Poll the lake until its offsets reach ``target``; returns (t_first, t_done, peak_rss)."""
    reader: DuckLakeReader | None = None
    first = 0.0
    peak = 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            reader, done = _offsets(reader, settings)
            peak = max(peak, _peak_rss_mb(proc.pid))
            if done and not first:
                first = time.monotonic()
            if done >= target:
                return first, time.monotonic(), peak
            if proc.poll() is not None:
                raise SystemExit(f"materializer exited with {proc.returncode}")
            time.sleep(0.2)
        raise SystemExit(f"timed out: lake offsets below {target}")
    finally:
        if reader is not None:
            reader.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its report."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--live-points", type=int, default=2_000_000)
    parser.add_argument("--points-per-event", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-max-events", type=int, default=5000)
    parser.add_argument("--batch-max-ms", type=int, default=500)
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="rs-bench-"))
    settings = _settings(home, args)
    stack = LocalStack(settings)
    print(f"starting the local stack in {home} ...", flush=True)
    stack.up()
    proc: subprocess.Popen[bytes] | None = None
    try:
        ensure_topics(settings)
        runs = [new_run_id() for _ in range(args.runs)]
        backlog = _start_messages(runs) + _metric_messages(
            settings, args.points, args.points_per_event, runs, 0)
        mb = sum(len(v) for _, v in backlog) / 1e6
        produce_s = asyncio.run(_produce(settings, backlog))
        print(f"backlog: {len(backlog):,} events, {args.points:,} points, {mb:,.0f} MB, "
              f"produced in {produce_s:.1f} s ({args.points / produce_s:,.0f} points/s)")

        log = open(home / "materializer.log", "wb")  # noqa: SIM115 - lives as long as the child
        proc = subprocess.Popen([sys.executable, "-m", "runstream.materializer"],
                                env=_env(settings), stdout=log, stderr=subprocess.STDOUT)
        spawned = time.monotonic()
        first, done, peak = _wait(settings, len(backlog), proc, timeout_s=1800)
        drain = done - spawned
        cpu = _cpu_s(proc.pid)
        print(f"drain: {drain:.1f} s from process start ({done - first:.1f} s from first commit)")
        print(f"  {len(backlog) / drain:,.0f} events/s, {args.points / drain:,.0f} points/s "
              f"(from first commit: {args.points / max(done - first, 1e-9):,.0f} points/s)")
        # CPU per point does not depend on what else the machine runs, unlike the rates.
        print(f"  materializer CPU: {cpu:.1f} s, {cpu * 1e6 / args.points:.2f} us/point "
              f"(start-up included)")

        live = _metric_messages(settings, args.live_points, args.points_per_event, runs, 10**6)
        live_s = asyncio.run(_produce(settings, live))
        reader, at_stop = _offsets(None, settings)
        if reader is not None:
            reader.close()
        stopped = time.monotonic()
        _, caught_up, peak2 = _wait(settings, len(backlog) + len(live), proc, timeout_s=600)
        print(f"live: {args.live_points:,} points produced in {live_s:.1f} s "
              f"({args.live_points / live_s:,.0f} points/s); lag at producer stop: "
              f"{len(backlog) + len(live) - at_stop:,} events, drained in "
              f"{caught_up - stopped:.1f} s")
        print(f"peak RSS of the materializer: {max(peak, peak2):,.0f} MiB")
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        proc = None
        with open_lake(settings, read_only=False) as lake:
            before = count_data_files(lake)
            report = compact(lake, retention_s=0)
            print(f"data files: {before:,} before compaction, {report.files_after:,} after "
                  f"({report.seconds:.1f} s)")
        print(f"settings: batch_max_events={args.batch_max_events} "
              f"batch_max_ms={args.batch_max_ms} partitions={args.partitions} "
              f"points/event={args.points_per_event}")
        return 0
    finally:
        if proc is not None:
            proc.kill()
        stack.down()


if __name__ == "__main__":
    raise SystemExit(main())
