"""Time to first chart in the web UI: one run x 1,000,000 points, 100 runs x 10,000 points.

Usage::

    .venv/bin/python -m benchmarks.ui_first_chart [--quick] [--repeat 5]

Steps:

1. start a local stack (SeaweedFS S3 + Tansu) on free ports in a temporary folder;
2. write the lake directly through the lake adapter: one run whose metric ``loss`` has
   1,000,000 points, and 100 runs with 10,000 points of ``loss`` each (``--quick``:
   100,000 and 10 x 10,000);
3. start the query service (``create_app`` under uvicorn) in a child process;
4. in headless Debian chromium (Playwright), open a fresh browser context per repeat
   and time, from the navigation's start to the moment the chart has drawn its points
   (``performance.now()`` in the page): the run page of the long run, and the compare
   page of the 100 runs (one chart, a line per run); print the median and the worst,
   against the target (under 1 s).

The bundle must be built (``make ui``). MLflow's UI is not driven here: its chart page
renders in React after several REST calls, and there is no comparable "drawn" signal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from dataclasses import fields
from pathlib import Path

from benchmarks.query_latency import NOW, start_service
from playwright.sync_api import Browser, sync_playwright

from runstream.config import Ports, Settings, load_settings
from runstream.lake.connection import CATALOG, open_lake
from runstream.query.ui import bundle_built
from runstream.stack import LocalStack, free_ports

LONG_RUN = "f" * 32
TARGET_MS = 1000.0
DRAWN_JS = """(key) => {
  const box = document.querySelector(`.chart[data-key="${key}"]`);
  return box && box.dataset.points && Number(box.dataset.points) > 0 ? performance.now() : null;
}"""


def build_lake(settings: Settings, long_points: int, runs: int, points: int) -> None:
    """The long run and ``runs`` runs of ``points`` points each, in experiment 1."""
    lake = open_lake(settings, read_only=False)
    con = lake.con
    rid = "printf('%032x', i)"
    try:
        for statement in (
            f"INSERT INTO {CATALOG}.experiments"
            f" VALUES ('1', 'ui-bench', NULL, 'active', {NOW}, {NOW})",
            f"INSERT INTO {CATALOG}.runs VALUES ('{LONG_RUN}', '1', 'long', 'bench', 'FINISHED',"
            f" {NOW}, {NOW + 1}, 'active', 'train.py', 'LOCAL', NULL, NULL, NULL, NULL)",
            f"INSERT INTO {CATALOG}.metrics SELECT '{LONG_RUN}', 'loss',"
            f" 1.0 / (1 + s) + (hash(s) % 100) / 10000.0, s, {NOW} + s"
            f" FROM range({long_points}) t(s)",
            f"INSERT INTO {CATALOG}.runs SELECT {rid}, '1', 'run-' || i, 'bench', 'FINISHED',"
            f" {NOW} + i, {NOW} + i + 100, 'active', 'train.py', 'LOCAL', NULL, NULL, NULL, NULL"
            f" FROM range({runs}) t(i)",
            f"INSERT INTO {CATALOG}.metrics SELECT {rid}, 'loss',"
            f" (1.0 + i / 100.0) / (1 + s) + (hash(i, s) % 100) / 10000.0, s, {NOW} + s"
            f" FROM range({runs}) t(i), range({points}) u(s)",
            f'INSERT INTO {CATALOG}.latest_metrics SELECT run_id, "key",'
            ' arg_max("value", step), max(step), max("timestamp"), min("value"), max("value"),'
            f' count(*) FROM {CATALOG}.metrics GROUP BY run_id, "key"',
        ):
            con.execute(statement)
        con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    finally:
        lake.close()


def time_page(browser: Browser, base: str, path: str, repeat: int) -> list[float]:
    """Milliseconds from navigation to the drawn chart, one fresh context per repeat."""
    out = []
    for _ in range(repeat + 1):  # the first one warms the service's lake caches
        context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(path)
        handle = page.wait_for_function(DRAWN_JS, arg="loss", timeout=60_000, polling="raf")
        out.append(float(handle.json_value()))
        context.close()
    return out[1:]


def main(argv: list[str] | None = None) -> int:
    """Steps 1-4 of the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if not bundle_built():
        raise SystemExit("the UI bundle is not built: run `make ui`")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is missing: bash scripts/install-browser.sh")
    long_points, runs, points = (100_000, 10, 10_000) if args.quick else (1_000_000, 100, 10_000)
    with tempfile.TemporaryDirectory(prefix="runstream-uibench-") as work:
        names = [f.name for f in fields(Ports)]
        ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
        settings = load_settings(env, home=Path(work), ports=ports)
        stack = LocalStack(settings)
        stack.up()
        proc = None
        try:
            build_lake(settings, long_points, runs, points)
            proc = start_service(settings, ports.api)
            base = f"http://127.0.0.1:{ports.api}"
            ids = ",".join(f"{i:032x}" for i in range(runs))
            pages = [
                (f"run page, 1 run x {long_points:,} points", f"/#/runs/{LONG_RUN}"),
                (f"compare page, {runs} runs x {points:,} points", f"/#/compare?ids={ids}"),
            ]
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
                )
                print("| page | median ms | worst ms | target ms | repeats |")
                print("|---|---|---|---|---|")
                for label, path in pages:
                    ms = time_page(browser, base, path, args.repeat)
                    print(
                        f"| {label} | {statistics.median(ms):.0f} | {max(ms):.0f} |"
                        f" {TARGET_MS:.0f} | {len(ms)} |",
                        flush=True,
                    )
                browser.close()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)
            stack.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
