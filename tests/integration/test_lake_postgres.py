"""The lake with a PostgreSQL catalog (``lake_catalog = "postgres:..."``), on a real server.

A PostgreSQL server from the ``pgserver`` wheel runs for this module in a temporary
folder, reachable only through a Unix socket in that folder (pgserver starts it with
no TCP listener). Each test gets its own database as the DuckLake catalog; the
Parquet data stays on the session stack's S3, and the events come through its broker.
Run as root, pgserver runs the server as a system user ``pgserver`` (created with
``useradd`` if missing), because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pgserver
import psutil
import pytest
from fastapi.testclient import TestClient
from materializer_support import LakeProbe, materializer, messages, produce, wait_for
from test_materializer_crash import POINTS_PER_EVENT, _workload

from runstream.config import Settings
from runstream.kafka.admin import ensure_topics
from runstream.lake.connection import is_postgres_catalog
from runstream.query.http.app import create_app


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pgserver.PostgresServer]:
    """A PostgreSQL server for this module; stopped (and its folder deleted) at the end."""
    pgdata = tmp_path_factory.mktemp("postgres") / "pgdata"
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    process = server.get_postmaster_info().process
    assert process is not None
    try:
        yield server
    finally:
        server.cleanup()
        _wait_gone(process, pgdata)


def _wait_gone(process: psutil.Process, pgdata: Path) -> None:
    """Fail unless the postmaster and every postgres process of ``pgdata`` are gone."""

    def alive() -> list[int]:
        procs = [process] + [
            p
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and str(pgdata) in " ".join(p.info["cmdline"] or [])
        ]
        out = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p.pid)
            except psutil.NoSuchProcess:
                pass
        return out

    deadline = time.monotonic() + 20
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(), f"postgres processes left running: {alive()}"


def _pg_settings(
    stack_settings: Settings, tmp_path: Path, server: pgserver.PostgresServer
) -> Settings:
    """Fresh topics, a fresh catalog database and a fresh S3 data prefix, for one test."""
    tag = uuid.uuid4().hex[:10]
    database = f"lake_{tag}"
    server.psql(f"CREATE DATABASE {database};")
    info = server.get_postmaster_info()
    # libpq key=value form, as DuckDB's postgres extension takes it: "host" is the
    # folder of the server's Unix socket.
    conninfo = f"dbname={database} host={info.socket_dir} port={info.port} user=postgres"
    settings = dataclasses.replace(
        stack_settings,
        topic_prefix=f"pg{tag}",
        lake_catalog=f"postgres:{conninfo}",
        lake_data_path=f"s3://{stack_settings.lake_bucket}/pg{tag}/",
        home=tmp_path / "home",
    )
    assert is_postgres_catalog(settings.catalog)
    ensure_topics(settings)
    return settings


def _catalog_snapshots(server: pgserver.PostgresServer, settings: Settings) -> int:
    """Number of DuckLake snapshots recorded in the catalog database, read by psql."""
    database = settings.catalog.split("dbname=")[1].split()[0]
    out = server.psql(f"\\c {database}\nSELECT 'n=' || count(*) FROM ducklake_snapshot;")
    return int(next(w for w in out.split() if w.startswith("n="))[2:])


def test_materializer_on_a_postgres_catalog_stores_everything_once_across_a_restart(
    stack_settings: Settings, tmp_path: Path, postgres: pgserver.PostgresServer
) -> None:
    settings = _pg_settings(stack_settings, tmp_path, postgres)
    first, second = _workload(4, 60), _workload(3, 40)
    first_items, second_items = messages(settings, first), messages(settings, second)
    lake = LakeProbe(settings)

    def progress() -> int:
        return int(lake.scalar("SELECT sum(next_offset) FROM consumer_offsets") or 0)

    try:
        produce(settings, first_items)
        with materializer(settings, max_events=20):
            wait_for("the first wave", progress, lambda n: n == len(first_items))
        assert lake.count("events") == len(first)
        assert lake.count("metrics") == 60 * POINTS_PER_EVENT
        snapshots = _catalog_snapshots(postgres, settings)
        assert snapshots > 1, "the lake's snapshots should be in the PostgreSQL catalog"

        # A new materializer resumes from the offsets stored in the lake.
        produce(settings, second_items)
        with materializer(settings, max_events=20):
            wait_for("the second wave", progress, lambda n: n == len(first_items + second_items))
            time.sleep(1.0)  # a re-read of the first wave would land in this second
        assert progress() == len(first_items) + len(second_items)
        stored = [r[0] for r in lake.rows("SELECT event_id FROM events")]
        assert len(stored) == len(set(stored)), "an event was stored twice"
        assert set(stored) == {e.event_id for e in first + second}
        points = (60 + 40) * POINTS_PER_EVENT
        assert lake.count("metrics") == points
        assert lake.scalar("SELECT sum(count) FROM latest_metrics") == points
        assert lake.count("params") == 6 + 4
        assert lake.count("runs") == 4 + 3
        assert lake.count("rejected_events") == 0
        assert _catalog_snapshots(postgres, settings) > snapshots
        assert not (settings.home / "lake" / "catalog.sqlite").exists()
    finally:
        lake.close()


def test_query_service_reads_a_postgres_cataloged_lake(
    stack_settings: Settings, tmp_path: Path, postgres: pgserver.PostgresServer
) -> None:
    settings = _pg_settings(stack_settings, tmp_path, postgres)
    events = _workload(3, 30)
    items = messages(settings, events)
    produce(settings, items)
    lake = LakeProbe(settings)
    try:
        with materializer(settings, max_events=20):
            wait_for(
                "every message",
                lambda: lake.scalar("SELECT sum(next_offset) FROM consumer_offsets"),
                lambda n: n == len(items),
            )
    finally:
        lake.close()
    run_ids = {e.run_id for e in events}
    with TestClient(create_app(settings)) as client:
        resp = client.post(
            "/api/v1/runs/search", json={"experiment_ids": ["0"], "max_results": 100}
        )
        assert resp.status_code == 200, resp.text
        assert {r["info"]["run_id"] for r in resp.json()["runs"]} == run_ids
        resp = client.post("/api/v1/sql", json={"sql": "SELECT count(*) FROM metrics"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["rows"] == [[30 * POINTS_PER_EVENT]]
        resp = client.post(
            "/api/v1/sql", json={"sql": "SELECT count(*), count(DISTINCT event_id) FROM events"}
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["rows"] == [[len(events), len(events)]]
