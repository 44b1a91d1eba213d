"""What every workload shares: measurements, statistics, deadlines and waits.

Standard library only: this module is imported by the client processes of every system,
including the peers' interpreters where Runstream is not installed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

Params = dict[str, Any]


@dataclass(frozen=True)
class Measurement:
    """One number a workload reports for one system in one repeat.

    Attributes:
        name: what was measured, e.g. ``"points/s until queryable"``; the row of a table.
        value: the number, or None when the system cannot do this (the note says why).
        unit: unit shown next to the number (``"points/s"``, ``"ms"``).
        higher_is_better: direction, so the report can say who is ahead.
        note: anything a reader must know to trust the number (capped, partial, ...).
    """

    name: str
    value: float | None
    unit: str
    higher_is_better: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form, for the result file a client process writes."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measurement:
        """Inverse of :meth:`to_json`."""
        return cls(**data)


def rate(name: str, count: float, seconds: float, unit: str, note: str = "") -> Measurement:
    """A throughput measurement: ``count / seconds``."""
    return Measurement(name, count / seconds if seconds > 0 else None, unit, True, note)


def held_rate(name: str, count: float, seconds: float, target: float) -> Measurement:
    """The rate a paced writer held; noted when it fell more than 10 % short of its target."""
    achieved = rate(name, count, seconds, "points/s")
    if achieved.value is not None and achieved.value < 0.9 * target:
        return Measurement(name, achieved.value, "points/s", True,
                           f"could not hold the target of {fmt_count(target)} points/s")
    return achieved


def latency_ms(name: str, seconds: float | None, note: str = "") -> Measurement:
    """A latency measurement in milliseconds (lower is better)."""
    return Measurement(name, None if seconds is None else seconds * 1000, "ms", False, note)


def median(values: Iterable[float]) -> float:
    """Median of a non-empty collection."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of nothing")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of nothing")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds taken by each of ``repeat`` calls of ``call``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


class Deadline:
    """A point in time a loop must not pass."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()

    def passed(self) -> bool:
        """True once the deadline is reached."""
        return time.monotonic() >= self.at


class NotVisibleError(TimeoutError):
    """Data a workload wrote did not become visible through the read API in time."""


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float, what: str) -> None:
    """Call ``check`` until it returns True; errors count as "not yet".

    Raises:
        NotVisibleError: still false after ``timeout_s``; the message names ``what`` and the
            last error seen.
    """
    deadline = Deadline(timeout_s)
    last_error = ""
    while True:
        try:
            if check():
                return
        except (OSError, ValueError, KeyError) as exc:
            last_error = f" (last error: {exc})"
        if deadline.passed():
            raise NotVisibleError(f"{what}: not visible after {timeout_s:.0f}s{last_error}")
        time.sleep(interval_s)


def chunks(count: int, parts: int) -> list[range]:
    """Split ``range(count)`` into at most ``parts`` contiguous, non-empty ranges."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(range(start, end))
        start = end
    return out


def in_threads(work: Callable[[range], None], count: int, threads: int) -> None:
    """Run ``work`` on ``threads`` contiguous parts of ``range(count)`` at once.

    Raises:
        BaseException: the first error a part raised, once every part has returned.
    """
    errors: list[BaseException] = []

    def guarded(part: range) -> None:
        try:
            work(part)
        except BaseException as exc:
            errors.append(exc)

    running = [threading.Thread(target=guarded, args=(part,)) for part in chunks(count, threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    if errors:
        raise errors[0]


def fmt_count(n: float) -> str:
    """``10000000`` -> ``"10,000,000"``."""
    return f"{int(n):,}"
