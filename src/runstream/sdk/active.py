"""The fluent API's state: the client in use, the active run stack, exit handling.

As in MLflow, the active run stack is per thread (a run started in one thread is
not the active run of another), while the tracking URI, the active experiment and
the last active run are per process. At interpreter exit, runs still open are
ended -- FAILED if the interpreter is exiting because of an uncaught exception,
FINISHED otherwise -- before the transport flushes. A process killed outright
(SIGKILL, out of memory) ends nothing: its runs stay RUNNING, which is how the
query side can tell they never finished.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from types import TracebackType
from typing import Any

from runstream.config import Settings
from runstream.sdk.client import RunstreamClient
from runstream.sdk.entities import Run
from runstream.sdk.system_metrics import SystemMetricsMonitor


class ActiveRun(Run):
    """A run started by ``start_run``; as a context manager it ends the run on exit.

    Leaving the ``with`` block normally ends the run FINISHED; an exception ends it
    FAILED (KILLED for ``KeyboardInterrupt``), and the exception propagates.
    """

    def __init__(self, run: Run) -> None:
        super().__init__(run.info, run.data)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        if self.info.run_id not in STATE.open_runs:
            return  # ended inside the block already (end_run() or a nested exit)
        from runstream.sdk.fluent import end_run_of

        end_run_of(self.info.run_id, status)


class _ThreadRuns(threading.local):
    """The active run stack of one thread."""

    def __init__(self) -> None:
        self.stack: list[ActiveRun] = []


class FluentState:
    """Process-wide fluent state; one instance, :data:`STATE`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.client: RunstreamClient | None = None
        self.tracking_uri: str | None = None
        self.settings: Settings | None = None
        self.experiment_id: str | None = None
        self.last_run: Run | None = None
        self.open_runs: dict[str, ActiveRun] = {}
        self.monitors: dict[str, SystemMetricsMonitor] = {}
        self.local = _ThreadRuns()
        self._hooks_installed = False
        self.crashed = False

    def get_client(self) -> RunstreamClient:
        """The fluent client, built on first use (no I/O until something is logged)."""
        client = self.client
        if client is None:
            with self.lock:
                if self.client is None:
                    self.client = RunstreamClient(self.tracking_uri, settings=self.settings)
                client = self.client
        return client

    def replace_client(self, client: RunstreamClient | None) -> None:
        """Swaps the client (after ``set_tracking_uri``/``configure``); the old one flushes."""
        with self.lock:
            old, self.client = self.client, client
            self.experiment_id = None
        if old is not None:
            old.close(timeout_s=10.0)

    def install_exit_hooks(self) -> None:
        """Once: end open runs at exit, and remember an uncaught exception for their status."""
        if self._hooks_installed:
            return
        self._hooks_installed = True
        previous = sys.excepthook

        def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
            self.crashed = True
            previous(kind, value, tb)

        sys.excepthook = hook
        # Registered after the transport's own exit hook, so it runs before it.
        atexit.register(self.end_open_runs)

    def end_open_runs(self) -> None:
        """Ends every run still open, innermost first (at interpreter exit)."""
        client = self.client
        if client is None:
            return
        status = "FAILED" if self.crashed else "FINISHED"
        for monitor in self.monitors.values():
            monitor.stop(1.0)
        self.monitors.clear()
        for run_id in reversed(list(self.open_runs)):
            try:
                client.set_terminated(run_id, status, wait=False)
            except Exception as exc:
                print(f"runstream: could not end run {run_id} at exit: {exc}", file=sys.stderr)
        self.open_runs.clear()


STATE = FluentState()


def _after_fork_in_child() -> None:
    # The parent's sender thread does not exist in a forked child: drop the client so
    # the child builds its own on first use (the active run stack stays, so a worker
    # process keeps logging to the run it inherited).
    STATE.client = None
    STATE.open_runs.clear()
    STATE.monitors.clear()


if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


def describe(value: Any) -> str:
    """Short repr for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["STATE", "ActiveRun", "FluentState", "describe"]
