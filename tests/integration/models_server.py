"""``runstream models serve`` as a user starts it: a process on a free port, its log kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from runstream.config import Settings, settings_to_env
from runstream.stack import free_ports


def server_env(settings: Settings, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment with the test's settings instead of its own."""
    names = ("RUNSTREAM_", "MLFLOW_", *drop)
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    env.update(settings_to_env(settings))
    return env


@dataclass
class Server:
    """A started server process and where it answers."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_ready(self, timeout_s: float = 180.0) -> Server:
        """Waits for ``/ping`` to answer 200; fails with the log's tail if it exits first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError(
            f"the model server did not come up in {timeout_s:.0f} s: {self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 30 s: a loaded machine is slow)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start(
    settings: Settings, *args: str, poll_s: float = 0.5, drop_env: tuple[str, ...] = ()
) -> Server:
    """Starts ``runstream models serve -p <free port> --poll <poll_s> <args>`` (not yet ready)."""
    (port,) = free_ports(1)
    log = settings.home / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runstream.cli.main",
                "models",
                "serve",
                "-p",
                str(port),
                "--poll",
                str(poll_s),
                *args,
            ],
            env=server_env(settings, drop_env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def serve(settings: Settings, *args: str) -> Server:
    """Starts a server and waits until it answers."""
    return start(settings, *args).wait_ready()
