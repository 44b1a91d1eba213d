"""Delivery reports, and the exit hook that flushes every live transport.

At interpreter exit each transport that is still open is closed with its exit
timeout; whatever it could not deliver is reported loudly, with the counts of
events and metric points, where the user will see it even without logging set up.
"""

from __future__ import annotations

import atexit
import logging
import sys
import weakref
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("runstream.sdk")


@dataclass(frozen=True)
class DeliveryReport:
    """What a transport delivered and what it could not, when it closed."""

    delivered_events: int
    undelivered_events: int
    undelivered_points: int
    last_error: str

    @property
    def ok(self) -> bool:
        """True when nothing was left undelivered."""
        return self.undelivered_events == 0 and self.undelivered_points == 0

    def describe(self, destination: str) -> str:
        """One loud line for logs and stderr."""
        return (
            f"runstream: {self.undelivered_events} events (holding "
            f"{self.undelivered_points} metric points) were NOT delivered to "
            f"{destination} and are lost; last error: {self.last_error or 'timeout'}"
        )


def loud(message: str) -> None:
    """Reports a delivery problem where the user will see it, even without logging set up."""
    if logging.getLogger().hasHandlers():
        logger.error(message)
    else:
        print(message, file=sys.stderr, flush=True)


class Closable(Protocol):
    """What the exit hook needs of a transport."""

    @property
    def destination(self) -> str:
        """Where its events go, for the report."""

    def close(self, timeout_s: float | None = None) -> DeliveryReport:
        """Flushes within the timeout and reports."""


_LIVE: weakref.WeakSet[Closable] = weakref.WeakSet()


def track(transport: Closable) -> None:
    """Registers a transport to be closed at exit."""
    _LIVE.add(transport)


def untrack(transport: Closable) -> None:
    """Forgets a transport that was closed."""
    _LIVE.discard(transport)


def close_all(timeout_s: float | None = None) -> list[DeliveryReport]:
    """Closes every live transport (at interpreter exit); reports losses loudly."""
    reports = []
    for transport in list(_LIVE):
        report = transport.close(timeout_s)
        if not report.ok:
            loud(report.describe(transport.destination))
        reports.append(report)
        _LIVE.discard(transport)
    return reports


# Registered at import, before any run can register its own exit hook, so that (exit
# hooks run last-registered first) open runs end before their events are flushed.
atexit.register(close_all)

__all__ = ["Closable", "DeliveryReport", "close_all", "loud", "track", "untrack"]
