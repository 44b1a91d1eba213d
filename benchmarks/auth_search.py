"""Access control's cost on a search and on SQL: 100,000 runs, the caller may read 10%.

Usage::

    .venv/bin/python -m benchmarks.auth_search [--quick] [--runs 100000] [--repeat 50]

Steps:

1. start a local stack (SeaweedFS S3 + Tansu) on free ports in a temporary folder;
2. write the query benchmark's lake (``benchmarks.query_latency.build_lake``) and
   spread its runs over ten experiments; add a user ``reader`` with READ on one
   of them (about 10% of the runs) in the ``auth_*`` tables;
3. start two query services on that lake: one with auth off, one with auth on;
4. time, alternately on each, the query benchmark's search (``metrics.m0 > 0.5 AND
   params.p0 = 'v3'`` by ``metrics.m1 DESC``, 100 per page) over all ten
   experiments: without auth it answers from every run, with auth (HTTP basic, as
   MLflow's client sends it on every call) only from the readable 10%;
5. time, alternately, ``SELECT count(*) FROM metrics`` through ``POST /api/v1/sql``
   on the auth-on service as the admin (the whole lake) and as ``reader`` (the
   statement over the reader's views: the metrics of the readable 10% of runs);
6. print p50 / p95 of each and the ratios (search target: p50 with auth within
   1.5x of p50 without).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
from benchmarks.query_latency import FULL, QUICK, Sizes, build_lake, measure, start_service

from runstream.auth.secrets import hash_password
from runstream.config import Ports, Settings, load_settings
from runstream.lake.connection import CATALOG, open_lake
from runstream.stack import LocalStack, free_ports

NOW = 1_700_000_000_000
EXPERIMENTS = 10
PASSWORD = "reader-password"


def spread_and_grant(settings: Settings) -> float:
    """Step 2 after the lake is written: ten experiments, one readable by ``reader``."""
    lake = open_lake(settings, read_only=False)
    con = lake.con
    try:
        con.execute("BEGIN TRANSACTION")
        for e in range(2, EXPERIMENTS + 1):
            con.execute(
                f"INSERT INTO {CATALOG}.experiments VALUES (?, ?, NULL, 'active', ?, ?)",
                [str(e), f"bench-{e}", NOW, NOW],
            )
        con.execute(
            f"UPDATE {CATALOG}.runs SET experiment_id = "
            f"CAST(hash(run_id) % {EXPERIMENTS} + 1 AS VARCHAR)"
        )
        con.execute(
            f"INSERT INTO {CATALOG}.auth_users VALUES ('reader', ?, FALSE, ?, 'bench')",
            [hash_password(PASSWORD), NOW],
        )
        con.execute(
            f"INSERT INTO {CATALOG}.auth_permissions VALUES "
            f"('experiment', '1', 'user', 'reader', 'READ', {NOW}, 'bench')"
        )
        con.execute("COMMIT")
        (readable,) = con.execute(
            f"SELECT avg((experiment_id = '1')::INT) FROM {CATALOG}.runs"
        ).fetchone() or (0.0,)
        con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    finally:
        lake.close()
    return float(readable)


def run(sizes: Sizes) -> tuple[list[dict[str, Any]], float]:
    """Steps 1-4; returns the two measurements and the readable fraction."""
    with tempfile.TemporaryDirectory(prefix="runstream-authbench-") as work:
        names = [f.name for f in fields(Ports)]
        ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
        settings = load_settings(env, home=Path(work), ports=ports)
        stack = LocalStack(settings)
        print(f"starting the local stack in {work} ...", flush=True)
        stack.up()
        procs = []
        try:
            build_lake(settings, sizes)
            fraction = spread_and_grant(settings)
            print(f"lake written: {sizes.runs:,} runs, readable by reader: {fraction:.1%}")
            (auth_port,) = free_ports(1)
            secured = dataclasses.replace(
                settings, auth=True, admin_password="bench-admin-password",
                ports=dataclasses.replace(ports, api=auth_port),
            )
            procs.append(start_service(settings, ports.api))
            procs.append(start_service(secured, auth_port))
            search = {
                "experiment_ids": [str(e) for e in range(1, EXPERIMENTS + 1)],
                "filter": "metrics.m0 > 0.5 AND params.p0 = 'v3'",
                "order_by": ["metrics.m1 DESC"],
                "max_results": 100,
            }
            creds = base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
            admin = base64.b64encode(f"admin:{secured.admin_password}".encode()).decode()
            count = {"sql": "SELECT count(*) FROM metrics"}
            with (
                httpx.Client(base_url=f"http://127.0.0.1:{ports.api}", timeout=60) as open_c,
                httpx.Client(
                    base_url=f"http://127.0.0.1:{auth_port}", timeout=60,
                    headers={"Authorization": f"Basic {creds}"},
                ) as auth_c,
            ):
                rows = []
                for _round in range(2):  # alternate, so load drift hits both alike
                    rows.append(measure(
                        "search, auth off (all runs)",
                        lambda: open_c.post("/api/v1/runs/search", json=search), sizes.repeat,
                    ))
                    rows.append(measure(
                        "search, auth on (reader: 10%)",
                        lambda: auth_c.post("/api/v1/runs/search", json=search), sizes.repeat,
                    ))
                for _round in range(2):
                    rows.append(measure(
                        "sql count(*) metrics, admin (all)",
                        lambda: auth_c.post(
                            "/api/v1/sql", json=count, headers={"Authorization": f"Basic {admin}"}
                        ),
                        sizes.repeat,
                    ))
                    rows.append(measure(
                        "sql count(*) metrics, reader (10%)",
                        lambda: auth_c.post("/api/v1/sql", json=count), sizes.repeat,
                    ))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)
            stack.down()
    return rows, fraction


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 runs")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--repeat", type=int)
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(runs=args.runs or base.runs, history_points=1000,
                  repeat=args.repeat or base.repeat)
    started = time.monotonic()
    rows, fraction = run(sizes)
    print(f"\ncores: {os.cpu_count()}  runs: {sizes.runs:,}  readable: {fraction:.1%}")
    print(f"{'measurement':40} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for row in rows:
        print(f"{row['name']:40} {row['n']:6d} {row['p50']:8.1f} {row['p95']:8.1f} "
              f"{row['max']:8.1f}")
    def best(part: str) -> float:
        return min(r["p50"] for r in rows if part in r["name"])

    off, on = best("search, auth off"), best("search, auth on")
    print(f"search p50 with auth / without: {on / off:.2f} (target <= 1.5)")
    print(f"sql count p50 reader / admin: {best('reader (10%)') / best('admin (all)'):.2f}; "
          f"took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
