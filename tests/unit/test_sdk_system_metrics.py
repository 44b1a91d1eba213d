"""System metrics: ``system/...`` points at the configured interval, from a background thread."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from test_sdk_unit_support import MemorySink, memory_client

import runstream as mlflow
from runstream.errors import ConfigError
from runstream.sdk.active import STATE
from runstream.sdk.system_metrics import options_from_env


@pytest.fixture
def sink() -> Iterator[MemorySink]:
    sink = MemorySink()
    client = memory_client(sink, end_run_timeout_s=5.0)
    mlflow.configure(client=client)
    yield sink
    mlflow.configure()
    client.close(1.0)


def _points(sink: MemorySink, run_id: str) -> list[tuple[str, int, int]]:
    return [
        (k, s, t)
        for e in sink.events()
        if e.run_id == run_id and e.type.value == "run.metrics"
        for k, s, t in zip(e.body.keys, e.body.steps, e.body.timestamps, strict=True)
    ]


def test_system_metrics_arrive_at_the_configured_interval(
    sink: MemorySink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    with mlflow.start_run(log_system_metrics=True) as run:
        monitor = STATE
        deadline = time.monotonic() + 60  # a loaded machine may start the thread late
        while monitor.monitors[run.info.run_id].step < 4 and time.monotonic() < deadline:
            mlflow.log_metric("loss", 0.5)  # the training loop goes on meanwhile
            time.sleep(0.001)
    points = _points(sink, run.info.run_id)
    cpu = [(s, t) for k, s, t in points if k == "system/cpu_utilization_percentage"]
    assert len(cpu) >= 4
    assert [s for s, _ in cpu] == list(range(len(cpu)))
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(cpu)]
    assert all(gap >= 190 for gap in gaps), gaps  # never faster than the interval
    keys = {k for k, _, _ in points}
    for name in (
        "system/system_memory_usage_megabytes",
        "system/system_memory_usage_percentage",
        "system/disk_usage_percentage",
        "system/disk_available_megabytes",
        "system/network_receive_megabytes",
        "system/network_transmit_megabytes",
    ):
        assert name in keys
    types = [e.type.value for e in sink.events() if e.run_id == run.info.run_id]
    assert types[-1] == "run.ended"  # the monitor stopped before the run ended


def test_the_environment_turns_it_on_and_a_run_can_turn_it_off(
    sink: MemorySink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNSTREAM_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    monkeypatch.setenv("RUNSTREAM_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.1")
    with mlflow.start_run() as on:
        time.sleep(0.35)
    with mlflow.start_run(log_system_metrics=False) as off:
        time.sleep(0.35)
    assert any(k.startswith("system/") for k, _, _ in _points(sink, on.info.run_id))
    assert not _points(sink, off.info.run_id)


def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="SAMPLING_INTERVAL"):
        options_from_env({"MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "soon"})
    assert options_from_env({"MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "True"}).enabled
