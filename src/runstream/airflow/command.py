"""``ProjectCommand``: ``runstream run`` as a child of an Airflow task, and how it is stopped.

The child's output is read on a thread of its own and handed to the task's thread line
by line. Reading it there keeps the pipe drained while :meth:`ProjectCommand.stop`
waits in ``on_kill``: Airflow calls ``on_kill`` from its SIGTERM handler, on the thread
that is reading, and a full pipe would block ``runstream run`` in the middle of ending
its run KILLED.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence

# `runstream run` gives its command 10 s after SIGTERM before SIGKILL (projects.runner),
# then ends the run; killing it before that would leave the command's group running.
STOP_TIMEOUT_S = 30.0


class ProjectCommand:
    """One ``runstream run`` process: start it, read its output, wait for or stop it.

    Nothing starts until :meth:`start`.
    """

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = threading.Event()
        self._exit_code: int | None = None

    def start(self) -> None:
        """Starts the process and the thread that reads its output."""
        self._process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, name="runstream-run-output", daemon=True).start()

    def _pump(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._exit_code = self._process.wait()
        self._ended.set()
        self._lines.put(None)

    def lines(self) -> Iterator[str]:
        """The output, line by line, until the process has exited."""
        while (line := self._lines.get()) is not None:
            yield line

    def wait(self) -> int:
        """The exit status (after :meth:`lines` ran out, it is there at once)."""
        self._ended.wait()
        assert self._exit_code is not None
        return self._exit_code

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """SIGTERM, then waits until the process exited; True when it did in time.

        ``runstream run`` answers SIGTERM by stopping its command's process group and
        ending the run KILLED. Only if it has not exited after ``timeout_s`` is it killed.
        """
        if self._process is None or self._ended.is_set():
            return True
        self._process.send_signal(signal.SIGTERM)
        if self._ended.wait(timeout_s):
            return True
        self._process.kill()
        return False


__all__ = ["STOP_TIMEOUT_S", "ProjectCommand"]
