"""Prometheus metrics of the query service, in the text exposition format (hand-written).

Two families come from requests (a counter and a latency histogram, labelled by
route template, never by raw path, so hostile URLs cannot grow the label set);
the lake gauges (snapshot, freshness, materializer lag) are read at scrape time.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class RequestMetrics:
    """Request counts and latencies; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: dict[tuple[str, str, str], int] = defaultdict(int)
        self._hist: dict[tuple[str, str], list[int]] = {}
        self._sum: dict[tuple[str, str], float] = defaultdict(float)
        self.started_at = time.time()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        with self._lock:
            self._count[(route, method, str(status))] += 1
            key = (route, method)
            counts = self._hist.setdefault(key, [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sum[key] += seconds

    def render(self, gauges: Iterable[tuple[str, str, float | None]] = ()) -> str:
        """The exposition text: request families, then ``(name, help, value)`` gauges."""
        lines = [
            "# HELP runstream_http_requests_total HTTP requests by route template and status.",
            "# TYPE runstream_http_requests_total counter",
        ]
        with self._lock:
            for (route, method, status), n in sorted(self._count.items()):
                labels = _labels([("route", route), ("method", method), ("status", status)])
                lines.append(f"runstream_http_requests_total{labels} {n}")
            lines += [
                "# HELP runstream_http_request_duration_seconds Request latency.",
                "# TYPE runstream_http_request_duration_seconds histogram",
            ]
            for (route, method), counts in sorted(self._hist.items()):
                base = [("route", route), ("method", method)]
                name = "runstream_http_request_duration_seconds"
                for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                    lines.append(f"{name}_bucket{_labels([*base, ('le', _number(bound))])} {n}")
                lines.append(f"{name}_sum{_labels(base)} {self._sum[(route, method)]!r}")
                lines.append(f"{name}_count{_labels(base)} {counts[-1]}")
        lines += [
            "# HELP runstream_process_start_time_seconds Start time of the process.",
            "# TYPE runstream_process_start_time_seconds gauge",
            f"runstream_process_start_time_seconds {self.started_at!r}",
        ]
        for name, help_text, value in gauges:
            if value is None:
                continue
            lines += [
                f"# HELP {name} {help_text}",
                f"# TYPE {name} gauge",
                f"{name} {_number(value)}",
            ]
        return "\n".join(lines) + "\n"


__all__ = ["BUCKETS", "RequestMetrics"]
