"""Shared fixtures: one real local stack (SeaweedFS + Tansu) per test run.

The stack is started by the same code as ``runstream up``, on free ports, in a
temporary state folder. Each test that asks for ``settings`` gets its own topic
prefix (three fresh topics), its own lake catalog and lake data prefix, so tests
never see each other's data.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from runstream.config import Ports, Settings, load_settings
from runstream.kafka.admin import ensure_topics
from runstream.stack import LocalStack, free_ports


@pytest.fixture(autouse=True)
def _tracking_environment_restored() -> Iterator[None]:
    """Puts back the MLflow and Runstream variables a test's code changed in this process.

    MLflow's ``set_experiment`` writes ``MLFLOW_EXPERIMENT_ID`` into ``os.environ``; left
    there, it sent a later test's runs to the previous test's experiment.
    """
    names = ("MLFLOW_", "RUNSTREAM_")
    before = {k: v for k, v in os.environ.items() if k.startswith(names)}
    yield
    for key in [k for k in os.environ if k.startswith(names)]:
        if key not in before:
            del os.environ[key]
    os.environ.update(before)


def _test_ports() -> Ports:
    names = [f.name for f in dataclasses.fields(Ports)]
    return Ports(**dict(zip(names, free_ports(len(names)), strict=True)))


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a running stack (S3 + broker) shared by the whole test run."""
    home = tmp_path_factory.mktemp("runstream-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    settings = load_settings(env, home=home, ports=_test_ports(), partitions=4)
    stack = LocalStack(settings)
    stack.up()
    try:
        yield settings
    finally:
        stack.down()


@pytest.fixture
def stack(stack_settings: Settings) -> LocalStack:
    """The running session stack (for tests that restart or stop its services)."""
    return LocalStack(stack_settings)


@pytest.fixture
def settings(stack_settings: Settings, tmp_path: Path) -> Settings:
    """Per-test settings: fresh topics, own lake catalog and data prefix."""
    tag = uuid.uuid4().hex[:10]
    per_test = dataclasses.replace(
        stack_settings,
        topic_prefix=f"t{tag}",
        lake_catalog=str(tmp_path / "lake" / "catalog.sqlite"),
        lake_data_path=f"s3://{stack_settings.lake_bucket}/t{tag}/",
        home=tmp_path / "home",
    )
    (tmp_path / "lake").mkdir()
    ensure_topics(per_test)
    return per_test


def _wait_materializing(url: str, stack: LocalStack, timeout_s: float = 120) -> None:
    """Wait until the materializer owns partitions (``/readyz`` shows its lag).

    Joining the consumer group takes 5-8 s on a quiet machine and longer on a busy
    one; a test's first read must not carry that start-up into its read-your-writes
    bound.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stack.materializer().exit_status() is not None:
            pytest.fail(f"the materializer exited; log {stack.materializer().log_file}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                members = json.loads(response.read()).get("materializers", [])
            if any(m.get("lag") is not None for m in members):
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.25)
    pytest.fail(f"no materializer joined its group in {timeout_s:.0f} s")


@pytest.fixture
def running_apps(settings: Settings) -> Iterator[Settings]:
    """Materializer and query service processes on this test's topics and lake.

    Started as ``runstream up`` starts them (same command lines), on a fresh API
    port; stopped, and their logs kept in the test's home, at the end.
    """
    (api_port,) = free_ports(1)
    app_settings = dataclasses.replace(
        settings, ports=dataclasses.replace(settings.ports, api=api_port)
    )
    stack = LocalStack(app_settings, with_apps=True)
    try:
        stack.start_apps()
        _wait_materializing(f"http://127.0.0.1:{api_port}", stack)
        yield app_settings
    finally:
        stack.materializer().stop()
        stack.query().stop()


@contextmanager
def _behind_fluent_api(client: Any) -> Iterator[Any]:
    import runstream

    runstream.configure(client=client)
    try:
        yield client
    finally:
        runstream.configure()
        client.close(5.0)


@pytest.fixture
def sdk_client(running_apps: Settings) -> Iterator[Any]:
    """The SDK's client of the test's query service (by tracking URI), behind the fluent API."""
    from runstream.sdk.client import RunstreamClient

    url = f"http://127.0.0.1:{running_apps.ports.api}"
    with _behind_fluent_api(
        RunstreamClient(tracking_uri=url, environ={}, read_after_timeout_s=30.0)
    ) as client:
        yield client


@pytest.fixture
def sdk_settings_client(running_apps: Settings) -> Iterator[Any]:
    """The SDK's client built from the test's settings, behind the fluent API."""
    from runstream.sdk.client import RunstreamClient

    with _behind_fluent_api(RunstreamClient(settings=running_apps, environ={})) as client:
        yield client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests under tests/integration, and skip slow ones unless asked for."""
    slow_enabled = os.environ.get("RUNSTREAM_SLOW_TESTS") == "1"
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("slow") and not slow_enabled:
            item.add_marker(pytest.mark.skip(reason="slow: set RUNSTREAM_SLOW_TESTS=1"))
