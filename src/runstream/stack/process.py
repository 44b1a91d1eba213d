"""One local service process: start with a log file, track by PID file, stop by PID.

Processes are never found or killed by name: the PID file written at start is the
only handle, and it is checked against ``/proc/<pid>/cmdline`` so a recycled PID
is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runstream.errors import PortInUseError, StackError


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port and we could bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Distinct ports that are free right now (for test stacks)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ServiceProcess:
    """A service's command line, environment, ports and files.

    Attributes:
        name: short service name (``s3``, ``broker``, ...); names the files.
        argv: the command to run.
        state_dir: folder for ``<name>.pid`` and ``<name>.log``.
        host: address every port binds to.
        ports: ports the service opens; each is checked free before start.
        env: extra environment for the process.
        stop_timeout_s: how long SIGTERM gets before SIGKILL.
    """

    name: str
    argv: Sequence[str]
    state_dir: Path
    host: str
    ports: Sequence[int]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    stop_timeout_s: float = 20.0

    @property
    def pid_file(self) -> Path:
        """Where the PID of the running process is kept."""
        return self.state_dir / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        """Where the process's stdout and stderr go."""
        return self.state_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """PID of our live process, or None (stale PID files are ignored)."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        state = stat.rsplit(")", 1)[-1].split()[0]
        threads = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")),
            1,
        )
        # A Go or Rust server's main thread can be a zombie while its other threads
        # still run (and hold ports) during shutdown: only a lone zombie is gone.
        if state == "Z" and threads <= 1:
            _reap(pid)
            return None
        # The kernel keeps 15 characters of the executable name; another name means
        # the PID was recycled by an unrelated process.
        if comm != os.path.basename(self.argv[0])[:15]:
            return None
        return pid

    def is_running(self) -> bool:
        """True while our process is alive."""
        return self.pid() is not None

    def start(self) -> int:
        """Start the process detached, in its own session; returns its PID.

        Raises:
            PortInUseError: one of its ports is taken by another process.
            StackError: the executable cannot be started.
        """
        if (pid := self.pid()) is not None:
            return pid
        for port in self.ports:
            if not port_is_free(self.host, port):
                raise PortInUseError(
                    f"{self.name}: port {self.host}:{port} is already in use; stop what holds it "
                    f"(`ss -ltnp | grep :{port}`) or choose other ports (RUNSTREAM_PORT_*)"
                )
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        with self.log_file.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} start {self.name}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    list(self.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StackError(f"{self.name}: cannot run {self.argv[0]}: {exc}") from exc
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def exit_status(self) -> str | None:
        """How our started process ended ("exit status 1", "signal 9"), or None if alive."""
        if not self.pid_file.exists() or self.pid() is not None:
            return None
        try:
            pid = int(self.pid_file.read_text().split()[0])
            waited, status = os.waitpid(pid, os.WNOHANG)
        except (OSError, ValueError, IndexError):
            return "exited"
        if waited == 0:
            return "exited"
        if os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def stop(self) -> bool:
        """SIGTERM, wait up to ``stop_timeout_s``, then SIGKILL; True if it was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            _reap(pid)
            time.sleep(0.1)
        if self.pid() is not None:
            self._signal(pid, signal.SIGKILL)
            for _ in range(50):
                _reap(pid)
                if self.pid() is None:
                    break
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL at once (fault-injection tests)."""
        pid = self.pid()
        if pid is not None:
            self._signal(pid, signal.SIGKILL)
            for _ in range(50):
                _reap(pid)
                if self.pid() is None:
                    break
                time.sleep(0.05)

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        # The process leads its own session, so the group holds its children too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


__all__ = ["ServiceProcess", "free_ports", "port_accepts", "port_is_free", "tail"]
