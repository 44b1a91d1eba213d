"""The asyncio side of the ``threading.Event`` that stops a materializer.

A signal handler (or another thread) sets the event; nothing in the event loop is
woken by that. :class:`StopSignal` watches the event from the loop, so every wait
of the materializer (backoff pauses, a dead-letter publish, the status period) ends
within :data:`POLL_S` of a stop instead of running out its own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

# How often the loop looks at the event: the delay a stop adds to any wait.
POLL_S = 0.1


class StopSignal:
    """Waits that end early when the materializer is asked to stop.

    Use it as an async context manager inside the running loop; outside it only
    :meth:`is_set` works.
    """

    def __init__(self, event: threading.Event) -> None:
        self._event = event
        self._stopped: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StopSignal:
        self._stopped = asyncio.Event()
        self._watcher = asyncio.create_task(self._watch(), name="stop-watcher")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    def is_set(self) -> bool:
        """True once a stop was asked for."""
        return self._event.is_set()

    async def _watch(self) -> None:
        assert self._stopped is not None
        while not self._event.is_set():
            await asyncio.sleep(POLL_S)
        self._stopped.set()

    async def wait(self) -> None:
        """Return once a stop is asked for (inside the context manager only)."""
        if self._stopped is None:
            raise RuntimeError("StopSignal.wait outside its context manager")
        await self._stopped.wait()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less if a stop comes first; True if stopped."""
        if self._stopped is None:
            await asyncio.sleep(seconds)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), max(0.0, seconds))
        return self.is_set()

    async def unless_stopped(self, work: Coroutine[Any, Any, None]) -> bool:
        """Run ``work`` to its end unless a stop comes first (then cancel it).

        Returns:
            True if ``work`` ended on its own (its exceptions propagate), False if
            it was cancelled by a stop.
        """
        task = asyncio.ensure_future(work)
        if self._stopped is None:
            await task
            return True
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            task.result()
            return True
        task.cancel()
        # Stopping: whatever the cancelled work raised on its way out changes nothing.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False


__all__ = ["POLL_S", "StopSignal"]
