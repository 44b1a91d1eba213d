"""The CLI's up / status / down on a stack of its own: restart survival, ports, leftovers."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from runstream.config import Ports, load_settings, settings_to_env
from runstream.stack import free_ports


def _cli_env(home: Path) -> dict[str, str]:
    names = [f.name for f in dataclasses.fields(Ports)]
    ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
    base = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    settings = load_settings(base, home=home, ports=ports, partitions=2)
    return {**base, **settings_to_env(settings)}


def _runstream(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runstream.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def _pids(home: Path) -> list[int]:
    """PIDs of processes whose command line mentions this state folder or its ports."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(home) in cmdline or str(home).encode() in environ:
            found.append(int(proc.name))
    return found


def test_messages_survive_down_and_up(tmp_path: Path) -> None:
    home = tmp_path / "state"
    env = _cli_env(home)
    settings = load_settings(env)
    up = _runstream(env, "up", "--no-apps")
    assert up.returncode == 0, up.stderr
    assert settings.s3_url in up.stdout and settings.bootstrap in up.stdout
    try:
        status = _runstream(env, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "running" in status.stdout

        async def produce() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap)
            await producer.start()
            try:
                for i in range(50):
                    await producer.send_and_wait(settings.topic_events, f"m{i}".encode(), key=b"k")
            finally:
                await producer.stop()

        asyncio.run(produce())
        down = _runstream(env, "down")
        assert down.returncode == 0 and "broker" in down.stdout and "s3" in down.stdout
        assert _pids(home) == [], "processes left behind after down"
        assert _runstream(env, "status").returncode == 3

        up_again = _runstream(env, "up", "--no-apps")
        assert up_again.returncode == 0, up_again.stderr

        async def consume() -> list[bytes]:
            consumer = AIOKafkaConsumer(settings.topic_events, bootstrap_servers=settings.bootstrap,
                                        group_id="after-restart", auto_offset_reset="earliest")
            await consumer.start()
            values: list[bytes] = []
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 30
                while len(values) < 50 and loop.time() < deadline:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        values.extend(r.value or b"" for r in records)
            finally:
                await consumer.stop()
            return values

        assert asyncio.run(consume()) == [f"m{i}".encode() for i in range(50)]
    finally:
        _runstream(env, "down")
    assert _pids(home) == []


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "state"
    env = _cli_env(home)
    settings = load_settings(env)
    with socket.socket() as squatter:
        squatter.bind((settings.host, settings.ports.s3))
        squatter.listen()
        result = _runstream(env, "up", "--no-apps")
    assert result.returncode == 1
    assert f"port {settings.host}:{settings.ports.s3} is already in use" in result.stderr
    assert "s3" in result.stderr
    assert _pids(home) == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RUNSTREAM_PARTITIONS", "zero"), ("RUNSTREAM_PORT_API", "70000"), ("RUNSTREAM_BOGUS", "1")],
)
def test_bad_config_names_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    env = {**_cli_env(tmp_path / "state"), variable: value}
    result = _runstream(env, "status")
    assert result.returncode == 2
    assert variable in result.stderr
