"""Freshness: at a steady load, the time from a log call to the point being visible.

A writer holds ``rate`` points/s in ticks of ``tick_s``: each tick logs one ``probe`` point
(value = step = tick number) and then the tick's share of the load over ``keys`` other
metrics of the same run, and ends the training step (an MLflow user's ``log_batch``). A
poller thread reads the run through ``runs/get`` every ``poll_s``; a probe is visible when
the run's latest ``probe`` step reaches it. Latency = first poll that shows it - the moment
just before its log call (so it carries up to ``poll_s`` of polling resolution).

A writer that cannot hold the rate falls behind rather than bursting, and stops when the
planned ``seconds`` are over (the ticks it did not reach are not logged); the achieved rate
is reported next to the latencies.
"""

from __future__ import annotations

import threading
import time
import uuid

from benchmarks.workloads.base import Measurement, Params, held_rate, latency_ms, percentile
from benchmarks.workloads.rest import Reader, latest_steps
from benchmarks.workloads.writers import Writer

TITLE = "Freshness: log call -> visible through the read API, at a steady rate"
QUICK: Params = {"rate": 2_000, "seconds": 3, "keys": 10, "tick_s": 0.1, "poll_s": 0.02,
                 "visible_timeout_s": 60, "client_timeout_s": 300}
FULL: Params = {"rate": 100_000, "seconds": 60, "keys": 100, "tick_s": 0.1, "poll_s": 0.02,
                "visible_timeout_s": 120, "client_timeout_s": 900}


def describe(params: Params) -> str:
    """One line of what this size does."""
    return (f"{params['rate']:,} points/s for {params['seconds']} s over {params['keys']} keys, "
            f"one probe per {params['tick_s'] * 1000:.0f} ms, polled every "
            f"{params['poll_s'] * 1000:.0f} ms")


class Poller(threading.Thread):
    """Reads the run until the probe reaches ``last``; when each probe was first seen."""

    def __init__(self, reader: Reader, run_id: str, poll_s: float) -> None:
        super().__init__(daemon=True)
        self.reader, self.run_id, self.poll_s = reader, run_id, poll_s
        self.seen: dict[int, float] = {}
        self.last = -1  # set by the writer when it is done: the last probe logged
        self.stop = threading.Event()
        self.error = ""

    def run(self) -> None:
        """Poll ``runs/get`` until stopped or every probe is seen."""
        shown = -1
        while not self.stop.is_set():
            try:
                latest = latest_steps(self.reader.get_run(self.run_id)).get("probe", -1)
            except (OSError, ValueError, KeyError) as exc:
                self.error, latest = str(exc), -1
            now = time.perf_counter()
            for probe in range(shown + 1, latest + 1):
                self.seen[probe] = now
            shown = max(shown, latest)
            if 0 <= self.last <= shown:
                return
            self.stop.wait(self.poll_s)


def measure(writer: Writer, reader: Reader, params: Params) -> list[Measurement]:
    """Hold the rate for ``seconds``; p50 / p99 / max visibility latency and achieved rate."""
    name = f"bench-fresh-{uuid.uuid4().hex[:8]}"
    experiment_id = writer.create_experiment(name)
    run_id = writer.start_run(experiment_id, "freshness")
    log = writer.logger(run_id)
    keys = [f"load_{k}" for k in range(params["keys"])]
    per_tick = max(1, round(params["rate"] * params["tick_s"]) - 1)
    ticks = round(params["seconds"] / params["tick_s"])
    poller = Poller(reader, run_id, params["poll_s"])
    poller.start()
    logged_at: list[float] = []
    start = time.perf_counter()
    points = 0
    for tick in range(ticks):
        if time.perf_counter() - start >= params["seconds"]:
            break  # behind and out of time: the ticks left are not logged
        due = start + tick * params["tick_s"]
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        logged_at.append(time.perf_counter())
        log("probe", float(tick), tick)
        base = tick * (per_tick // len(keys) + 1)
        for i in range(per_tick):
            log(keys[i % len(keys)], float(i), base + i // len(keys))
        points += per_tick + 1
        writer.step_done(run_id)
    ticks = len(logged_at)
    elapsed = max(time.perf_counter() - start, ticks * params["tick_s"])
    poller.last = ticks - 1
    poller.join(params["visible_timeout_s"])
    poller.stop.set()
    writer.end_run(run_id)
    latencies = [poller.seen[t] - logged_at[t] for t in range(ticks) if t in poller.seen]
    missing = ticks - len(latencies)
    note = f"{missing} of {ticks} probes not visible in time" if missing else ""
    if not latencies:
        raise AssertionError(f"no probe became visible ({poller.error or 'no error'})")
    return [
        latency_ms("p50 log -> visible", percentile(latencies, 50), note),
        latency_ms("p99 log -> visible", percentile(latencies, 99), note),
        latency_ms("max log -> visible", max(latencies), note),
        held_rate("achieved rate", points, elapsed, params["rate"]),
    ]
