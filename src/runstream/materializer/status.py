"""The periodic status of one materializer: a log line on time, a lake row when it can.

The status used to be produced by the batch pipeline itself, so it stopped whenever
the pipeline waited (measured: no status line for minutes while the broker was
gone). :class:`StatusReporter` runs as its own task instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable

from runstream.errors import BrokerError
from runstream.lake.writer import StatusRow
from runstream.materializer.stats import Stats

log = logging.getLogger("runstream.materializer")

_ASAP_S = 0.5
_ASAP_FOR_S = 15.0


class StatusReporter:
    """Produces the status line and the ``materializer_status`` row of one member.

    Reporting contract:

    1. Every ``every_s`` (and at once after :meth:`report_now`) the line
       ``<totals and rates> lag=<sum>`` is logged from the event loop, whatever
       the pipeline is waiting for: a broker or store that is gone, a long lake call.
    2. The row of that moment waits in :meth:`take`: the next batch writes it in its
       own transaction, at no extra commit.
    3. A member with no batch to commit (idle, or its broker gone) writes the row
       alone, when :meth:`take_alone` hands it over: every ``idle_every_s``, or at
       once after :meth:`report_now` (readiness probes wait for a new member's row).
       A row the lake refuses is dropped; the next period brings a newer one.
    4. After :meth:`report_now`, rows keep coming every ``_ASAP_S`` and keep being
       handed over at once until one carries the lag of the new partitions (right
       after an assignment the broker's end offsets may not be known yet), for
       ``_ASAP_FOR_S`` at most (a member may own no partition at all): a probe
       waiting for the lag waits a fetch, not ``idle_every_s``.
    """

    def __init__(
        self,
        member_id: str,
        stats: Stats,
        lag: Callable[[], dict[str, int]],
        *,
        every_s: float,
        idle_every_s: float,
    ) -> None:
        self._member_id = member_id
        self._stats = stats
        self._lag = lag
        self._every_s = every_s
        self._idle_every_s = idle_every_s
        self._pending: StatusRow | None = None
        self._asap = False
        self._asap_until = 0.0
        self._lag_known = False
        self._last_alone = time.monotonic()
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Report until cancelled (steps 1 and 4)."""
        while True:
            self._pending = self._row()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                pause = _ASAP_S if self._hurry() else self._every_s
                await asyncio.wait_for(self._wake.wait(), pause)

    def report_now(self) -> None:
        """Report at once and let the row be written alone (a partition was assigned)."""
        self._asap = True
        self._asap_until = time.monotonic() + _ASAP_FOR_S
        self._wake.set()

    def _hurry(self) -> bool:
        """Step 4: still reporting at once after an assignment."""
        if self._asap and time.monotonic() >= self._asap_until:
            self._asap = False
        return self._asap

    def take(self) -> StatusRow | None:
        """The row waiting to be written with the next batch, if any (step 2)."""
        row, self._pending = self._pending, None
        if row is not None and self._lag_known:
            self._asap = False
        return row

    def take_alone(self) -> StatusRow | None:
        """The row to write in a transaction of its own, if one is due (step 3)."""
        if self._pending is None:
            return None
        if not self._hurry() and time.monotonic() - self._last_alone < self._idle_every_s:
            return None
        self._last_alone = time.monotonic()
        return self.take()

    def _row(self) -> StatusRow:
        try:
            lag = self._lag()
        except BrokerError:
            lag = {}
        self._lag_known = bool(lag)
        # Logged before the row is built, which starts a new rate window.
        log.info("%s lag=%s", self._stats.summary(), sum(lag.values()))
        return self._stats.status_row(self._member_id, json.dumps(lag, sort_keys=True))


__all__ = ["StatusReporter"]
