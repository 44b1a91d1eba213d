"""Lake maintenance beside the writer: its own connection, one bounded pass at a time.

Maintenance used to run on the writer's connection under the batch lock, so a pass
paused ingestion (measured: up to 32 s every 10 minutes). :class:`Maintainer` runs
it as a task of its own instead; :mod:`runstream.lake.maintenance` keeps the rules
for meeting the writer's commits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from runstream.config import Settings
from runstream.errors import LakeError
from runstream.lake.connection import Lake, open_lake
from runstream.lake.maintenance import MaintenanceReport, compact
from runstream.materializer.stopping import StopSignal

log = logging.getLogger("runstream.materializer")


class Maintainer:
    """Runs lake maintenance every ``every_s`` until the materializer stops.

    Maintenance contract:

    1. Never on the writer's connection: the first pass opens a lake of its own
       (its own DuckDB, ``memory_limit_mb``, one thread). The batch lock is held
       around one step at a time, never the pass: batches commit between steps
       and never lose their commit to this process's maintenance.
    2. A pass runs in a worker thread for at most about ``budget_s`` (no step
       starts after it) and the next pass goes on where it stopped.
    3. A stop ends the pass: no further step starts and the running one is
       interrupted (DuckLake rolls it back; the lake is unchanged by it).
    4. A failed pass is logged and the next one tries again; the writer never waits
       for maintenance, it only retries a commit that lost to it.
    """

    def __init__(
        self,
        settings: Settings,
        batch_lock: asyncio.Lock,
        *,
        every_s: float,
        budget_s: float,
        memory_limit_mb: int,
    ) -> None:
        self._settings = settings
        self._batch_lock = batch_lock
        self._every_s = every_s
        self._budget_s = budget_s
        self._memory_limit_mb = memory_limit_mb
        self._lake: Lake | None = None
        self._next_step = 0
        self.passes = 0
        self.last_report: MaintenanceReport | None = None

    async def run(self, stop: StopSignal) -> None:
        """Maintain every ``every_s`` until ``stop``; closes its lake on the way out."""
        try:
            while not await stop.sleep(self._every_s):
                await self.run_pass(stop)
        finally:
            lake, self._lake = self._lake, None
            if lake is not None:
                await asyncio.to_thread(lake.close)

    async def run_pass(self, stop: StopSignal) -> MaintenanceReport | None:
        """One bounded pass (steps 1-4); its report, or None if it failed."""
        halt = threading.Event()
        try:
            if self._lake is None:
                self._lake = await asyncio.to_thread(
                    open_lake, self._settings, read_only=False,
                    memory_limit_mb=self._memory_limit_mb, threads=1,
                )
            lake = self._lake
            loop = asyncio.get_running_loop()
            work = asyncio.ensure_future(asyncio.to_thread(
                compact, lake, budget_s=self._budget_s, start_at=self._next_step,
                memory_limit=f"{self._memory_limit_mb}MB", stop=halt,
                guard=lambda: self._holding_batch_lock(loop, halt),
            ))
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if not work.done():
                halt.set()
                lake.interrupt()
            report = await work
        except LakeError as exc:
            log.warning("maintenance failed (will retry next pass): %s", exc)
            return None
        self.passes += 1
        self.last_report = report
        self._next_step = report.next_step
        log.info("maintenance: %s", report)
        return report


    @contextmanager
    def _holding_batch_lock(
        self, loop: asyncio.AbstractEventLoop, halt: threading.Event
    ) -> Iterator[None]:
        """Hold the event loop's batch lock from the maintenance thread (one step)."""
        acquired = asyncio.run_coroutine_threadsafe(self._batch_lock.acquire(), loop)
        while not acquired.done():
            if halt.is_set():
                acquired.cancel()
                break
            concurrent.futures.wait([acquired], timeout=0.1)
        try:
            acquired.result()
        except concurrent.futures.CancelledError as exc:
            raise LakeError("lake maintenance stopped while waiting for a batch") from exc
        try:
            yield
        finally:
            loop.call_soon_threadsafe(self._batch_lock.release)


__all__ = ["Maintainer"]
