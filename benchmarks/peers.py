"""The systems a benchmark starts: Runstream's local stack and the peers it is measured against.

Peers (MLflow's and FastTrackML's tracking servers) are installed from PyPI into their own
virtual environments under ``benchmarks/.venvs/<name>`` (created on first use, rebuilt when
their requirements change), started on a free loopback port with a SQLite backend and local
artifacts in a work folder, and stopped by PID. Clients talk to both through MLflow's own
client, run from the peer's venv (``PeerServer.python``).

FastTrackML's wheel pins ``mlflow<3``; installing it beside ``mlflow-skinny==3.17.2`` would
overwrite one ``mlflow`` package with another. Its venv therefore takes the wheel without
dependencies (only the ``fml`` binary is needed) and MLflow's 3.17.2 client on its own, so
both peers are driven by the same client version.

Runstream runs as ``runstream up`` would run it (:class:`~runstream.stack.LocalStack` with its
applications) in a work folder, on free ports; its client is this interpreter.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runstream.config import Ports, Settings, load_settings, settings_to_env
from runstream.stack import LocalStack, ServiceProcess, free_ports

VENVS = Path(__file__).resolve().parent / ".venvs"
ROOT = Path(__file__).resolve().parents[1]

# name -> pip install steps of its venv, in order
REQUIREMENTS: dict[str, list[list[str]]] = {
    "mlflow": [["mlflow==3.17.2"]],
    "fasttrackml": [["--no-deps", "fasttrackml==0.6.0"], ["mlflow-skinny==3.17.2"]],
    # Airflow first, then Runstream's provider into it as the README says (editable, so
    # the source under test is this checkout), with what the wine example imports.
    "airflow": [
        ["apache-airflow==3.3.2"],
        ["-e", f"{ROOT}[airflow,models]", "scikit-learn~=1.9"],
    ],
}
PACKAGES = {"mlflow": "mlflow", "fasttrackml": "fasttrackml", "airflow": "apache-airflow"}
READY_PATH = "/api/2.0/mlflow/experiments/search?max_results=1"


def peer_python(name: str) -> Path:
    """The interpreter of a peer's venv, creating and installing it when missing or stale."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = "\n".join(" ".join(step) for step in REQUIREMENTS[name])
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    print(f"[peers] installing {name} into {venv} (first use) ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for step in REQUIREMENTS[name]:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *step],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    stamp.write_text(wanted)
    return python


def _installed_version(python: Path, package: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def peer_version(name: str) -> str:
    """Installed version of the peer's main package."""
    return _installed_version(peer_python(name), PACKAGES[name])


def client_version(name: str) -> str:
    """Version of MLflow's client in a peer's venv (``mlflow`` or ``mlflow-skinny``)."""
    python = peer_python(name)
    return _installed_version(python, "mlflow" if name == "mlflow" else "mlflow-skinny")


@dataclass
class PeerServer:
    """A running peer tracking server."""

    name: str
    url: str
    process: ServiceProcess
    python: Path

    def pids(self) -> list[int]:
        """The server's PID (its workers are its children)."""
        pid = self.process.pid()
        return [pid] if pid else []

    def stop(self) -> None:
        """Stop the server and every process it started."""
        self.process.stop()


def _wait_http(url: str, alive: ServiceProcess, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive.exit_status() is not None:
            raise RuntimeError(f"{alive.name} exited; log {alive.log_file}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{alive.name} not ready at {url} in {timeout_s}s; log {alive.log_file}")


def start_peer(
    name: str,
    workdir: Path,
    port: int | None = None,
    ready_timeout_s: float = 120,
    workers: int = 2,
) -> PeerServer:
    """Start MLflow's or FastTrackML's server on ``port`` (default: a free loopback port).

    ``ready_timeout_s`` bounds the wait for its first answer (MLflow's server took 80 s
    to answer on a 2-core machine under a load average of 40). ``workers``: MLflow's
    uvicorn workers; with more than one, uvicorn's supervisor kills a worker that
    misses its 5 s health check, which on such a machine repeats without end.

    Callers starting several systems at once pick all ports in one :func:`free_ports` call
    and pass them in, so two systems never pick the same free port.
    """
    python = peer_python(name)
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_ports(1)[0]
    if name == "mlflow":
        argv = [
            str(python.parent / "mlflow"), "server",
            "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
            "--default-artifact-root", str(workdir / "artifacts"),
            "--workers", str(workers),
        ]
    elif name == "fasttrackml":
        argv = [
            str(python.parent / "fml"), "server",
            "--listen-address", f"127.0.0.1:{port}",
            "--database-uri", f"sqlite://{workdir / 'fasttrackml.db'}",
            "--default-artifact-root", str(workdir / "artifacts"),
        ]
    else:
        raise ValueError(f"unknown peer {name!r}")
    process = ServiceProcess(name=name, argv=argv, state_dir=workdir, host="127.0.0.1",
                             ports=[port], cwd=workdir, stop_timeout_s=15)
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}{READY_PATH}", process, ready_timeout_s)
    except BaseException:
        process.stop()
        raise
    return PeerServer(name, url, process, python)


def runstream_missing() -> str | None:
    """Why Runstream cannot be benchmarked yet (a part not landed), or None when it can."""
    try:
        import runstream
        from runstream.cli.main import build_parser

        group = re.search(r"\{([^}]*)\}", build_parser().format_usage())
        commands = group.group(1).split(",") if group else []
        missing = [c for c in ("materialize", "serve") if c not in commands]
        if missing:
            return (f"`runstream {'`/`'.join(missing)}` not available yet "
                    "(src/runstream/cli/apps.py)")
        # The SDK's names load lazily: this imports it.
        sdk = [f for f in ("set_tracking_uri", "set_experiment", "start_run", "log_metric",
                           "end_run", "log_params", "log_metrics", "set_tags", "flush")
               if not hasattr(runstream, f)]
    except Exception as exc:  # a part being written may not import yet
        return f"runstream does not load: {type(exc).__name__}: {exc}"
    if sdk:
        return f"SDK not available yet: runstream.{', runstream.'.join(sdk)} missing"
    return None


@dataclass
class RunstreamServer:
    """Runstream's local stack with its applications, as ``runstream up`` starts it."""

    name: str
    url: str
    python: Path
    settings: Settings
    stack: LocalStack

    @property
    def client_env(self) -> dict[str, str]:
        """Environment for a client process: the stack's settings and the tracking URI."""
        return {**settings_to_env(self.settings), "RUNSTREAM_TRACKING_URI": self.url}

    def pids(self) -> list[int]:
        """PIDs of every service: S3 store, broker, materializer, query service."""
        return [pid for service in self.stack.services() if (pid := service.pid())]

    def stop(self) -> None:
        """Stop every service of the stack."""
        self.stack.down()


PORTS_NEEDED = len(dataclasses.fields(Ports))
# Where a stack lives (state folder, addresses, catalog, data) is the harness's to
# choose; every other RUNSTREAM_* setting (batch sizes, timeouts, log level, ...)
# passes through, so one tuning can be compared with another.
LOCATION_SETTINGS = (
    "RUNSTREAM_HOME", "RUNSTREAM_HOST", "RUNSTREAM_PORT_", "RUNSTREAM_KAFKA_BOOTSTRAP",
    "RUNSTREAM_LAKE_CATALOG", "RUNSTREAM_LAKE_DATA_PATH", "RUNSTREAM_TRACKING_URI",
    "RUNSTREAM_TOPIC_PREFIX", "RUNSTREAM_TEST_",
)


def tuning_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """``environ`` without the RUNSTREAM_* settings that say where a stack lives."""
    return {k: v for k, v in environ.items() if not k.startswith(LOCATION_SETTINGS)}



def start_runstream(workdir: Path, ports: list[int] | None = None) -> RunstreamServer:
    """Start S3, broker, materializer and query service in ``workdir``.

    Args:
        workdir: the stack's state folder.
        ports: :data:`PORTS_NEEDED` free ports (default: picked here).
    """
    names = [f.name for f in dataclasses.fields(Ports)]
    chosen = ports or free_ports(len(names))
    ports_ = Ports(**dict(zip(names, chosen, strict=True)))
    settings = load_settings(tuning_env(os.environ), home=workdir.resolve(), ports=ports_)
    stack = LocalStack(settings, with_apps=True)
    stack.up()
    server = RunstreamServer("runstream", settings.api_url, Path(sys.executable), settings, stack)
    try:
        _wait_http(f"{server.url}{READY_PATH}", stack.query())
        _wait_materializing(server.url, stack.materializer())
    except BaseException:
        stack.down()
        raise
    return server


def _wait_materializing(url: str, alive: ServiceProcess, timeout_s: float = 120) -> None:
    """Wait until a materializer owns partitions (``/readyz`` shows its lag).

    Joining the consumer group takes 5-8 s after the process starts; without this wait
    the first points of a workload would carry that start-up, which the synchronous
    peers do not have.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive.exit_status() is not None:
            raise RuntimeError(f"{alive.name} exited; log {alive.log_file}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                members = json.loads(response.read()).get("materializers", [])
            if any(m.get("lag") is not None for m in members):
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no materializer joined its group in {timeout_s}s; log {alive.log_file}")


@contextmanager
def mlflow_and_runstream(prefix: str) -> Iterator[tuple[RunstreamServer, PeerServer]]:
    """MLflow's server and Runstream's stack side by side in a temporary folder.

    Both are stopped on the way out, whatever happened.
    """
    import tempfile

    from runstream.stack import free_ports

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        ports = free_ports(PORTS_NEEDED + 1)
        mlflow = start_peer("mlflow", work / "mlflow", ports[0])
        try:
            runstream = start_runstream(work / "runstream", ports[1:])
            try:
                yield runstream, mlflow
            finally:
                runstream.stop()
        finally:
            mlflow.stop()
