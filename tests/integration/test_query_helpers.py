"""Shared helpers of the query-service tests: a filled lake on the real S3, a live server.

Not tests themselves: the ``test_query_*.py`` modules import these. The lake is
written through the lake adapter (``open_lake`` read-write) with the table
layout of ``runstream.lake.tables``; the service under test only ever reads it.
Inlined rows are flushed to Parquet so reads go through S3 as in production.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from runstream.config import Settings
from runstream.kafka.tail import KafkaLogTail
from runstream.lake.connection import CATALOG, open_lake
from runstream.lake.tables import TABLES_BY_NAME
from runstream.lake.writer import arrow_table
from runstream.objectstore.client import ObjectStore
from runstream.query.http.app import create_app

NOW = 1_700_000_000_000


def rid(n: int) -> str:
    """A run id (32 lowercase hex characters) from a small number."""
    return f"{n:032x}"


def write_rows(settings: Settings, tables: dict[str, Sequence[Sequence[Any]]]) -> None:
    """Insert rows into lake tables in one transaction, then flush them to Parquet on S3."""
    lake = open_lake(settings, read_only=False)
    con = lake.con
    try:
        con.execute("BEGIN TRANSACTION")
        for i, (name, rows) in enumerate(tables.items()):
            if not rows:
                continue
            view = f"_fixture_{i}"
            con.register(view, arrow_table(TABLES_BY_NAME[name], rows))
            con.execute(f"INSERT INTO {CATALOG}.{name} SELECT * FROM {view}")
            con.unregister(view)
        con.execute("COMMIT")
        con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    finally:
        lake.close()


def latest_rows(points: Sequence[tuple[str, str, float, int, int]]) -> list[tuple[Any, ...]]:
    """``latest_metrics`` rows for ``(run, key, value, step, ts)`` points (MLflow's rule)."""
    by_key: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for run, key, value, step, ts in points:
        by_key.setdefault((run, key), []).append((value, step, ts))
    rows = []
    for (run, key), pts in by_key.items():
        best = max(pts, key=lambda p: (p[1], p[2], 0.0 if math.isnan(p[0]) else p[0]))
        finite = [p[0] for p in pts if not math.isnan(p[0])]
        rows.append(
            (
                run,
                key,
                best[0],
                best[1],
                best[2],
                min(finite, default=None),
                max(finite, default=None),
                len(pts),
            )
        )
    return rows


@dataclass
class Dataset:
    """What :func:`fill_lake` wrote, for assertions."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    artifact_keys: dict[str, bytes] = field(default_factory=dict)


def per_test_settings(stack: Settings, home: Path) -> Settings:
    """Settings with their own lake catalog and data prefix (as conftest's ``settings``)."""
    tag = uuid.uuid4().hex[:10]
    (home / "lake").mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(
        stack,
        topic_prefix=f"q{tag}",
        lake_catalog=str(home / "lake" / "catalog.sqlite"),
        lake_data_path=f"s3://{stack.lake_bucket}/q{tag}/",
        home=home / "home",
    )


def fill_lake(settings: Settings, *, history_points: int = 5000) -> Dataset:
    """Write a small, varied lake: experiments, runs, histories, artifacts, registry."""
    ds = Dataset()
    experiments = [
        ("1", "vision", "s3://a/1", "active", NOW, NOW + 5),
        ("2", "nlp", "s3://a/2", "active", NOW + 1, NOW + 6),
        ("3", "old", "s3://a/3", "deleted", NOW + 2, NOW + 7),
    ]
    exp_tags = [("1", "team", "cv"), ("2", "team", "text")]
    bucket = settings.artifacts_bucket
    runs, params, tags, points = [], [], [], []
    spec = [
        # n, exp, name, status, start, lifecycle, lr, model, team, acc, loss
        (1, "1", "alpha", "FINISHED", NOW + 100, "active", "0.1", "cnn", "cv", 0.91, 0.20),
        (2, "1", "beta", "FINISHED", NOW + 200, "active", "0.01", "cnn", "cv", 0.85, 0.30),
        (3, "1", "gamma", "FAILED", NOW + 300, "active", "0.1", "rnn", "ml", math.nan, 0.70),
        (4, "1", "delta", "RUNNING", NOW + 400, "active", "0.5", "mlp", None, 0.60, None),
        (5, "1", "eps", "FINISHED", NOW + 500, "deleted", "0.1", "cnn", "cv", 0.99, 0.10),
        (6, "2", "zeta", "FINISHED", NOW + 600, "active", "0.2", "bert", "nlp", 0.75, 0.40),
    ]
    for n, exp, name, status, start, stage, lr, model, team, acc, loss in spec:
        run_id = rid(n)
        uri = f"s3://{bucket}/{exp}/{run_id}/artifacts"
        runs.append(
            (
                run_id,
                exp,
                name,
                "alice",
                status,
                start,
                start + 50,
                stage,
                "train.py",
                "LOCAL",
                "abc123",
                None,
                uri,
                None,
            )
        )
        params += [(run_id, "lr", lr), (run_id, "model", model)]
        if team:
            tags.append((run_id, "team", team))
        if acc is not None:
            points.append((run_id, "acc", acc, 10, start + 10))
        if loss is not None:
            points.append((run_id, "loss", loss, 10, start + 10))
        ds.runs[run_id] = {"name": name, "exp": exp, "status": status, "stage": stage}
    tags.append((rid(1), "note", "it's ok"))
    # A long history of r1/train_loss with a spike at step 1234, and 300 points of r2's.
    history = [
        (rid(1), "train_loss", 1.0 / (1 + s) + (5.0 if s == 1234 else 0.0), s, NOW + 100 + s)
        for s in range(history_points)
    ]
    history += [(rid(2), "train_loss", 0.5 + 0.001 * s, s, NOW + 200 + s) for s in range(300)]
    metric_rows = [*history, *points]
    store = ObjectStore.from_settings(settings)
    artifacts = []
    for path, data in [
        ("model/MLmodel", b"flavors: {}\n"),
        ("model/model.pkl", b"\x80\x04pickle"),
        ("plots/loss.png", b"\x89PNG fake"),
        ("readme.txt", b"hello artifacts\n"),
        ("page.html", b"<script>alert(1)</script>"),
    ]:
        key = f"1/{rid(1)}/artifacts/{path}"
        store.put_bytes(bucket, key, data)
        ds.artifact_keys[path] = data
        media = "text/html" if path.endswith(".html") else "text/plain"
        artifacts.append((rid(1), path, f"s3://{bucket}/{key}", len(data), "0" * 64, media, NOW))
    # A forged row: run 2 claims a file that lives under run 1's prefix.
    artifacts.append(
        (
            rid(2),
            "stolen.txt",
            f"s3://{bucket}/1/{rid(1)}/artifacts/readme.txt",
            16,
            "0" * 64,
            "text/plain",
            NOW,
        )
    )
    models = [
        ("classifier", "image classifier", NOW, NOW + 30, False),
        ("detector", None, NOW + 1, NOW + 31, False),
        ("gone", None, NOW + 2, NOW + 32, True),
    ]
    versions = [
        (
            "classifier",
            1,
            "req-1",
            f"s3://{bucket}/1/{rid(1)}/artifacts/model",
            rid(1),
            "READY",
            "Archived",
            None,
            NOW + 10,
            NOW + 20,
            False,
        ),
        (
            "classifier",
            2,
            "req-2",
            f"s3://{bucket}/1/{rid(2)}/artifacts/model",
            rid(2),
            "READY",
            "Production",
            "best",
            NOW + 11,
            NOW + 21,
            False,
        ),
        (
            "classifier",
            3,
            "req-3",
            f"s3://{bucket}/1/{rid(3)}/artifacts/model",
            rid(3),
            "READY",
            "Staging",
            None,
            NOW + 12,
            NOW + 22,
            False,
        ),
        (
            "classifier",
            4,
            "req-4",
            "s3://x/y",
            None,
            "READY",
            "None",
            None,
            NOW + 13,
            NOW + 23,
            True,
        ),
        (
            "detector",
            1,
            "req-5",
            "s3://x/det",
            None,
            "READY",
            "None",
            None,
            NOW + 14,
            NOW + 24,
            False,
        ),
    ]
    transitions = [
        ("classifier", 1, "None", "Production", "requested", "e1", NOW + 15),
        ("classifier", 2, "None", "Production", "requested", "e2", NOW + 16),
        ("classifier", 1, "Production", "Archived", "archived_by_version_2", "e2", NOW + 16),
    ]
    write_rows(
        settings,
        {
            "experiments": experiments,
            "experiment_tags": exp_tags,
            "runs": runs,
            "params": params,
            "tags": tags,
            "metrics": metric_rows,
            "latest_metrics": latest_rows(metric_rows),
            "artifacts": artifacts,
            "registered_models": models,
            "registered_model_tags": [("classifier", "owner", "vision-team")],
            "registered_model_aliases": [("classifier", "champion", 2), ("classifier", "next", 3)],
            "model_versions": versions,
            "model_version_tags": [("classifier", 2, "validated", "yes")],
            "stage_transitions": transitions,
            "materializer_status": [
                ("m-1", int(time.time() * 1000), 1000.0, 5000.0, 12.5, 3, '{"t.events:0": 7}')
            ],
        },
    )
    return ds


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(settings: Settings, port: int | None = None, *, live: bool = False) -> Iterator[str]:
    """Run the query service with uvicorn in a thread; yield its base URL.

    With ``live``, the service gets the Kafka live tail, as ``runstream serve`` does.
    """
    port = port or free_port()
    tail = KafkaLogTail(settings.bootstrap, settings.topic_events) if live else None
    config = uvicorn.Config(
        create_app(settings, live=tail),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
