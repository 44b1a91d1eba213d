"""Failed-login limits per user and per address (a sliding window in memory).

A key (``user:alice``, ``addr:10.0.0.7``) with ``max_failures`` failures inside
the last ``window_s`` seconds is refused until the oldest of them leaves the
window. A success does not clear the address's count (one right password must
not buy another round of guesses at other users). Memory is bounded: at most
``max_keys`` keys are tracked, the stalest dropped first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from runstream.errors import TooManyAttemptsError


class FailureLimiter:
    """See the module docstring."""

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, *keys: str) -> None:
        """Refuse the attempt if any key is over the limit.

        Raises:
            TooManyAttemptsError: with the seconds to wait.
        """
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times is not None and len(times) >= self.max_failures:
                    wait = math.ceil(times[0] + self.window_s - now)
                    raise TooManyAttemptsError(
                        f"too many failed logins; retry in {max(wait, 1)} s",
                        retry_after_s=max(wait, 1),
                    )

    def failed(self, *keys: str) -> None:
        """Count one failure for every key."""
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._failures.setdefault(key, deque())
                times.append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)


__all__ = ["FailureLimiter"]
