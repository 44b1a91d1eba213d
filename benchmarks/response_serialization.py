"""Serializing a page of runs: the native API's serializer against hand-built dicts + orjson.

Usage::

    .venv/bin/python -m benchmarks.response_serialization [--runs 1000] [--repeat 50] [--http]

Steps:

1. build ``--runs`` runs in memory, each with 20 params, 20 tags and 10 latest
   metrics (one value in 97 is NaN);
2. serialize the page, alternating in one process (so load on the machine hits both
   alike): ``reference`` builds a dict per run, per row and per metric in Python and
   dumps it with orjson, as the routes did before one declaration per response;
   ``wire`` is what the route sends now (``RUNS_PAGE``: pydantic-core over the
   records); both bodies must be byte-for-byte equal;
3. with ``--http``, also write the same runs to a lake on a local folder (no S3) and
   time ``GET /api/v1/runs/search?max_results=<runs>`` through the app's TestClient;
4. print the median and the minimum of each, in ms.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from runstream.config import Settings
from runstream.core.metrics import LatestMetric
from runstream.core.rows import RunRow
from runstream.events.floats import float_to_wire
from runstream.lake.connection import CATALOG, open_lake
from runstream.query.http.schemas.runs import RUNS_PAGE, RunsPage
from runstream.query.records import Page, Run

NOW = 1_700_000_000_000


def page_of_runs(n: int) -> Page[Run]:
    """``n`` runs with 20 params, 20 tags and 10 metrics each."""
    runs = []
    for i in range(n):
        rid = f"{i:032x}"
        info = RunRow(rid, "1", f"run-{i}", "bench", "FINISHED", NOW + i, NOW + i + 100,
                      "active", "train.py", "LOCAL", None, None, f"s3://b/1/{rid}/artifacts", None)
        params = {f"p{k}": f"v{(i * 7 + k) % 10}" for k in range(20)}
        tags = {f"t{k}": f"tag{(i + k) % 5}" for k in range(20)}
        metrics = {
            f"m{k}": LatestMetric(
                math.nan if (i + k) % 97 == 0 else (i * 31 + k) % 1000 / 1000.0,
                9, NOW + i, 0.001 * k, 0.5 + 0.01 * k, 10,
            )
            for k in range(10)
        }
        runs.append(Run(info, params, tags, metrics))
    return Page(runs, "token")


def _wire(value: float | None) -> Any:
    return None if value is None else float_to_wire(value)


def reference_json(page: Page[Run], snapshot_id: int) -> bytes:
    """The page as the routes wrote it before: a Python dict per object, then orjson."""
    runs = []
    for run in page.items:
        i = run.info
        runs.append({
            "info": {
                "run_id": i.run_id, "experiment_id": i.experiment_id, "run_name": i.run_name,
                "user_id": i.user_id, "status": i.status, "start_time": i.start_time,
                "end_time": i.end_time, "lifecycle_stage": i.lifecycle_stage,
                "source_name": i.source_name, "source_type": i.source_type,
                "git_commit": i.git_commit, "parent_run_id": i.parent_run_id,
                "artifact_uri": i.artifact_uri, "description": i.description,
            },
            "data": {
                "params": run.params,
                "tags": run.tags,
                "metrics": {
                    k: {"value": _wire(m.value), "step": m.step, "timestamp": m.timestamp,
                        "min": _wire(m.min_value), "max": _wire(m.max_value), "count": m.count}
                    for k, m in run.metrics.items()
                },
            },
        })
    body = {"runs": runs, "next_page_token": page.next_page_token, "snapshot_id": snapshot_id}
    return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def wire_json(page: Page[Run], snapshot_id: int) -> bytes:
    """The page as the route sends it now."""
    return bytes(RUNS_PAGE.response(RunsPage.read(page, snapshot_id)).body)


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _line(name: str, samples: list[float]) -> str:
    return f"{name:>24}: median {statistics.median(samples):7.2f} ms, min {min(samples):7.2f} ms"


def write_lake(settings: Settings, n: int) -> None:
    """The same runs, written to the lake in SQL (one statement per table)."""
    lake = open_lake(settings, read_only=False)
    rid = "printf('%032x', i)"
    statements = [
        f"INSERT INTO {CATALOG}.experiments VALUES ('1', 'bench', NULL, 'active', {NOW}, {NOW})",
        f"INSERT INTO {CATALOG}.runs SELECT {rid}, '1', 'run-' || i, 'bench', 'FINISHED',"
        f" {NOW} + i, {NOW} + i + 100, 'active', 'train.py', 'LOCAL', NULL, NULL,"
        f" 's3://b/1/' || {rid} || '/artifacts', NULL FROM range({n}) t(i)",
        f"INSERT INTO {CATALOG}.params SELECT {rid}, 'p' || k, 'v' || ((i * 7 + k) % 10)"
        f" FROM range({n}) t(i), range(20) u(k)",
        f"INSERT INTO {CATALOG}.tags SELECT {rid}, 't' || k, 'tag' || ((i + k) % 5)"
        f" FROM range({n}) t(i), range(20) u(k)",
        f"INSERT INTO {CATALOG}.latest_metrics SELECT {rid}, 'm' || k,"
        " CASE WHEN (i + k) % 97 = 0 THEN 'NaN'::DOUBLE ELSE ((i * 31 + k) % 1000) / 1000.0 END,"
        f" 9, {NOW} + i, 0.001 * k, 0.5 + 0.01 * k, 10 FROM range({n}) t(i), range(10) u(k)",
    ]
    try:
        for statement in statements:
            lake.con.execute(statement)
        lake.con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    finally:
        lake.close()


def time_http(n: int, repeat: int) -> list[float]:
    """``GET /api/v1/runs/search`` of ``n`` runs through the app's TestClient."""
    from fastapi.testclient import TestClient

    from runstream.query.http.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "data").mkdir()
        settings = Settings(home=home, lake_data_path=f"{home / 'data'}/")
        write_lake(settings, n)
        url = f"/api/v1/runs/search?experiment_id=1&max_results={n}"
        with TestClient(create_app(settings)) as client:
            for _ in range(3):
                assert len(client.get(url).json()["runs"]) == n
            return [_ms(lambda: client.get(url)) for _ in range(repeat)]


def main() -> None:
    """Parse the arguments, run the steps, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--http", action="store_true", help="also time the search route")
    args = parser.parse_args()
    page = page_of_runs(args.runs)
    expected = reference_json(page, 7)
    assert wire_json(page, 7) == expected, "the serializer's body differs from the reference"
    reference, wire = [], []
    for _ in range(args.repeat + 5):
        reference.append(_ms(lambda: reference_json(page, 7)))
        wire.append(_ms(lambda: wire_json(page, 7)))
    print(f"{args.runs:,} runs x (20 params, 20 tags, 10 metrics), {len(expected):,} bytes,"
          f" {args.repeat} repeats (after 5 warm-up)")
    print(_line("reference (dicts+orjson)", reference[5:]))
    print(_line("wire (pydantic-core)", wire[5:]))
    if args.http:
        print(_line("GET /api/v1/runs/search", time_http(args.runs, args.repeat)))


if __name__ == "__main__":
    main()
