"""``/metrics``: requests, errors and a latency histogram per model version and arm.

Counters live in plain dicts updated on the event loop's thread only (no locks
needed); the text is Prometheus' exposition format.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Labels = tuple[str, str]  # (arm, version)


class ServingMetrics:
    """What the server counts."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.errors: dict[Labels, int] = defaultdict(int)
        self.buckets: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = defaultdict(float)
        self.swaps: dict[str, int] = defaultdict(int)
        self.log_dropped = 0
        self.log_sent = 0

    def log_dropped_add(self, count: int) -> None:
        """Counts prediction-log records dropped (full queue, broker away)."""
        self.log_dropped += count

    def log_sent_add(self, count: int) -> None:
        """Counts prediction-log records published."""
        self.log_sent += count

    def observe(self, arm: str, version: str, status: int, seconds: float) -> None:
        """Counts one answered request."""
        labels = (arm, version)
        self.requests[(arm, version, status)] += 1
        if status >= 400:
            self.errors[labels] += 1
        counts = self.buckets.get(labels)
        if counts is None:
            counts = self.buckets[labels] = [0] * (len(BUCKETS_S) + 1)
        counts[bisect.bisect_left(BUCKETS_S, seconds)] += 1
        self.sums[labels] += seconds

    def render(self) -> str:
        """The Prometheus text."""
        out = [
            "# HELP runstream_serving_requests_total Requests answered, by arm, version, status.",
            "# TYPE runstream_serving_requests_total counter",
        ]
        for (arm, version, status), n in sorted(self.requests.items()):
            out.append(
                f'runstream_serving_requests_total{{arm="{arm}",version="{version}",'
                f'status="{status}"}} {n}'
            )
        out += [
            "# HELP runstream_serving_errors_total Requests answered with a 4xx or 5xx.",
            "# TYPE runstream_serving_errors_total counter",
        ]
        for (arm, version), n in sorted(self.errors.items()):
            out.append(f'runstream_serving_errors_total{{arm="{arm}",version="{version}"}} {n}')
        out += [
            "# HELP runstream_serving_latency_seconds Time from request to answer.",
            "# TYPE runstream_serving_latency_seconds histogram",
        ]
        name = "runstream_serving_latency_seconds"
        for (arm, version), counts in sorted(self.buckets.items()):
            labels = f'arm="{arm}",version="{version}"'
            running = 0
            for edge, n in zip((*BUCKETS_S, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if edge == float("inf") else repr(edge)
                out.append(f'{name}_bucket{{{labels},le="{le}"}} {running}')
            out.append(f"{name}_sum{{{labels}}} {self.sums[(arm, version)]}")
            out.append(f"{name}_count{{{labels}}} {running}")
        out += [
            "# TYPE runstream_serving_prediction_log_sent_total counter",
            f"runstream_serving_prediction_log_sent_total {self.log_sent}",
            "# TYPE runstream_serving_prediction_log_dropped_total counter",
            f"runstream_serving_prediction_log_dropped_total {self.log_dropped}",
        ]
        return "\n".join(out) + "\n"


__all__ = ["BUCKETS_S", "ServingMetrics"]
