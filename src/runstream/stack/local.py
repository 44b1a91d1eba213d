"""The embedded local stack: start, check, report and stop every service.

``up`` starts, in order, and waits for each to answer a real request:

1. the S3 store (SeaweedFS): ready when a bucket listing through the S3 API
   succeeds; then every configured bucket exists;
2. the broker (Tansu, log on that S3): ready when a Kafka metadata request
   succeeds; then the three topics exist with the configured partition count;
3. optionally the applications (materializer, query service), ready when their
   own probes answer.

A service that does not come up in time stops the whole start with a
:class:`~runstream.errors.StackError` naming the service, its port and its log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runstream.config import Settings
from runstream.errors import RunstreamError, StackError
from runstream.kafka.admin import ensure_topics, list_topics
from runstream.objectstore import ObjectStore
from runstream.stack.process import ServiceProcess, port_accepts, tail
from runstream.stack.services import app_service, broker_service, seaweed_service


@dataclass(frozen=True)
class ServiceStatus:
    """One line of ``runstream status``."""

    name: str
    address: str
    state: str
    pid: int | None
    data_bytes: int | None
    log_file: Path


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class LocalStack:
    """The local services for one settings object (one state folder)."""

    def __init__(self, settings: Settings, with_apps: bool = False) -> None:
        self.settings = settings
        self.with_apps = with_apps

    def s3(self) -> ServiceProcess:
        """The SeaweedFS process."""
        return seaweed_service(self.settings)

    def broker(self) -> ServiceProcess:
        """The Tansu process."""
        return broker_service(self.settings)

    def materializer(self) -> ServiceProcess:
        """The materializer process."""
        return app_service(self.settings, "materializer", ["materialize"], [])

    def query(self) -> ServiceProcess:
        """The query service process (API and UI)."""
        return app_service(self.settings, "query", ["serve"], [self.settings.ports.api])

    def services(self) -> list[ServiceProcess]:
        """Every service of this stack, in start order."""
        base = [self.s3(), self.broker()]
        return [*base, self.materializer(), self.query()] if self.with_apps else base

    def _wait(
        self, service: ServiceProcess, port: int, probe: Callable[[], object], timeout_s: float
    ) -> None:
        deadline = time.monotonic() + timeout_s
        last_error = ""
        while time.monotonic() < deadline:
            if (ended := service.exit_status()) is not None:
                raise StackError(
                    f"{service.name} stopped during start ({ended}; port {port}); "
                    f"log {service.log_file}:\n"
                    f"{tail(service.log_file)}"
                )
            try:
                probe()
                return
            except RunstreamError as exc:
                last_error = str(exc)
            time.sleep(0.3)
        raise StackError(
            f"{service.name} did not become ready on {self.settings.host}:{port} within "
            f"{timeout_s:.0f}s ({last_error}); log {service.log_file}:\n{tail(service.log_file)}"
        )

    def start_s3(self) -> None:
        """Start SeaweedFS, wait for its S3 API, create the buckets."""
        service = self.s3()
        service.start()
        store = ObjectStore.from_settings(self.settings, timeout_s=3.0)
        self._wait(service, self.settings.ports.s3, store.list_buckets,
                   self.settings.startup_timeout_s)
        for bucket in self.settings.buckets:
            store.ensure_bucket(bucket)

    def start_broker(self) -> None:
        """Start Tansu, wait for a metadata answer, create the topics."""
        service = self.broker()
        service.start()
        self._wait(
            service,
            self.settings.ports.kafka,
            lambda: list_topics(self.settings.bootstrap, timeout_s=2.0),
            self.settings.startup_timeout_s,
        )
        ensure_topics(self.settings)

    def start_apps(self) -> None:
        """Start the materializer and the query service."""
        self.materializer().start()
        query = self.query()
        query.start()

        def probe() -> None:
            if not port_accepts(self.settings.host, self.settings.ports.api):
                raise StackError("query service not listening yet")

        self._wait(query, self.settings.ports.api, probe, self.settings.startup_timeout_s)

    def up(self) -> None:
        """Start whatever is not running; stop what was started if a later step fails."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        try:
            self.start_s3()
            self.start_broker()
            if self.with_apps:
                self.start_apps()
        except BaseException:
            self.down()
            raise

    def down(self) -> list[str]:
        """Stop every service of this state folder, last started first; names stopped."""
        stopped = []
        every = [self.s3(), self.broker(), self.materializer(), self.query()]
        for service in reversed(every):
            if service.stop():
                stopped.append(service.name)
        return stopped

    def status(self) -> list[ServiceStatus]:
        """Each service's address, state, PID and data size."""
        s = self.settings
        rows = []
        store = ObjectStore.from_settings(s, timeout_s=2.0)
        probes: list[tuple[ServiceProcess, str, Callable[[], int | None]]] = [
            (self.s3(), s.s3_url, lambda: _dir_size(s.home / "s3")),
            (self.broker(), f"kafka://{s.bootstrap}", lambda: store.bucket_size(s.broker_bucket)),
            (self.materializer(), f"lake {s.catalog}", lambda: _dir_size(Path(s.catalog).parent)),
            (self.query(), s.api_url, lambda: None),
        ]
        for service, address, data in probes:
            pid = service.pid()
            state = "running" if pid else "stopped"
            size: int | None = None
            try:
                size = data() if pid or service.name != "broker" else None
            except RunstreamError:
                state = "unhealthy" if pid else state
            rows.append(ServiceStatus(service.name, address, state, pid, size, service.log_file))
        return rows


__all__ = ["LocalStack", "ServiceStatus"]
