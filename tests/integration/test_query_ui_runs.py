"""The runs table in a real browser over many runs: virtualized rows, server-side sort,
the column chooser kept in the URL, grouping with aggregate rows.

The lake is written directly (no broker: this is about reading): 5,000 runs in the
suite, 100,000 with RUNSTREAM_SLOW_TESTS=1. Screenshots go to tests/artifacts/ui/.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from test_query_helpers import per_test_settings, serve
from test_query_ui_charts import shot
from ui_support import TIMEOUT_MS, VIEWPORT

from runstream.config import Settings
from runstream.lake.connection import CATALOG, open_lake
from runstream.objectstore.client import ObjectStore
from runstream.query.ui import bundle_built

RUNS = 100_000 if os.environ.get("RUNSTREAM_SLOW_TESTS") == "1" else 5_000
NOW = 1_700_000_000_000
MODEL_ID = "m-" + "c" * 32
MODEL_LOCATION = f"s3://artifacts/1/models/{MODEL_ID}/artifacts"


def write_runs(settings: Settings, n: int) -> None:
    """``n`` runs in experiment 1: 3 params, 3 metrics (m2 = the run's index), a tag."""
    lake = open_lake(settings, read_only=False)
    rid = "printf('%032x', i)"
    try:
        for statement in (
            f"INSERT INTO {CATALOG}.experiments VALUES ('1', 'many', NULL, 'active', {NOW}, {NOW})",
            f"INSERT INTO {CATALOG}.runs SELECT {rid}, '1', 'run-' || i, 'bench', 'FINISHED',"
            f" {NOW} + i, {NOW} + i + 1000, 'active', 'train.py', 'LOCAL', NULL, NULL,"
            f" 's3://{settings.artifacts_bucket}/1/' || {rid} || '/artifacts', NULL"
            f" FROM range({n}) t(i)",
            f"INSERT INTO {CATALOG}.params SELECT {rid}, 'p' || k, 'v' || ((i + k) % 4)"
            f" FROM range({n}) t(i), range(3) u(k)",
            f"INSERT INTO {CATALOG}.tags SELECT {rid}, 'team', ['red', 'blue'][i % 2 + 1]"
            f" FROM range({n}) t(i)",
            # runs 1-3 are children of run 0
            f"INSERT INTO {CATALOG}.tags SELECT {rid}, 'mlflow.parentRunId', '{0:032x}'"
            " FROM range(1, 4) t(i)",
            f"INSERT INTO {CATALOG}.latest_metrics SELECT {rid}, 'm' || k,"
            f" CASE WHEN k = 2 THEN i::DOUBLE ELSE (i % 10) / 10.0 END, 1, {NOW}, 0, 1, 1"
            f" FROM range({n}) t(i), range(3) u(k)",
            # run 0 logged an MLflow 3 model, registered as churn v1; a deleted one is not shown
            f"INSERT INTO {CATALOG}.mlflow_logged_models VALUES"
            f" ('{MODEL_ID}', '1', 'classifier', '{0:032x}', 'sklearn', '{MODEL_LOCATION}',"
            f" 'READY', 'active', {NOW}, {NOW}),"
            f" ('m-{'d' * 32}', '1', 'gone', '{0:032x}', NULL, 's3://x', 'READY', 'deleted',"
            f" {NOW}, {NOW})",
            f"INSERT INTO {CATALOG}.logged_model_params VALUES ('{MODEL_ID}', 'depth', '4')",
            f"INSERT INTO {CATALOG}.logged_model_tags VALUES ('{MODEL_ID}', 'team', 'red')",
            f"INSERT INTO {CATALOG}.registered_models VALUES ('churn', NULL, {NOW}, {NOW}, false)",
            f"INSERT INTO {CATALOG}.model_versions VALUES ('churn', 1, NULL, '{MODEL_LOCATION}',"
            f" '{0:032x}', 'READY', 'Staging', NULL, {NOW}, {NOW}, false)",
        ):
            lake.con.execute(statement)
        lake.con.executemany(
            f"INSERT INTO {CATALOG}.artifacts VALUES (?, ?, ?, ?, ?, ?, ?)",
            put_artifacts(settings, f"{0:032x}"),
        )
        lake.con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
    finally:
        lake.close()


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


ARTIFACTS = {
    "plots/red.png": (png(40, 20, (220, 30, 30)), "image/png"),
    "notes.txt": (b"first line\n<b>not bold</b>\n", "text/plain"),
    "metrics.json": (b'{"acc": 0.91, "classes": ["cat", "dog"]}', "application/json"),
    "table.csv": (b'name,score\n"Smith, J",0.5\nLee,0.75\n', "text/csv"),
    "model/MLmodel": (
        b"artifact_path: model\nflavors:\n  sklearn:\n    pickled_model: model.pkl\n",
        "text/plain",
    ),
    "model/model.pkl": (b"\x80\x04pickle", "application/octet-stream"),
}


def put_artifacts(settings: Settings, run_id: str) -> list[tuple[object, ...]]:
    """Upload :data:`ARTIFACTS` under the run's artifact root; their lake rows."""
    store = ObjectStore.from_settings(settings)
    bucket = settings.artifacts_bucket
    rows = []
    for path, (data, media) in ARTIFACTS.items():
        key = f"1/{run_id}/artifacts/{path}"
        store.put_bytes(bucket, key, data)
        rows.append((run_id, path, f"s3://{bucket}/{key}", len(data), "0" * 64, media, NOW))
    return rows


@pytest.fixture(scope="module")
def base_url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A query service over a lake of ``RUNS`` runs."""
    if not bundle_built():
        pytest.fail("the UI bundle is not built: run `make ui` (make test does)", pytrace=False)
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-ui-runs"))
    write_runs(settings, RUNS)
    with serve(settings) as url:
        yield url


@pytest.fixture
def page(base_url: str, browser: Browser) -> Iterator[Page]:
    """A fresh tab; fails on JavaScript errors."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def first_run(page: Page) -> str:
    return page.locator("#runs tbody tr.run td:nth-child(2)").first.inner_text()


def test_many_runs_scroll_virtualized_and_sort_on_the_server(page: Page) -> None:
    page.goto("/#/experiments/1")
    rows = page.locator("#runs tbody tr.run")
    # The first search builds the service's run index (seconds on a busy machine).
    count = page.locator("#run-count")
    expect(count).to_contain_text("1,000 runs loaded; more match", timeout=60_000)
    assert rows.count() < 100  # only the rows on screen are in the page

    # Sorting asks the server: the largest m2 of all runs comes first, not of those loaded.
    with page.expect_response(lambda r: r.url.endswith("/api/v1/runs/search")) as answer:
        page.get_by_role("button", name="metrics.m2").click()
    assert answer.value.request.post_data_json["order_by"] == ["metrics.m2 DESC"]
    expect(page.locator("#runs tbody tr.run").first).to_contain_text(f"run-{RUNS - 1}")
    expect(page.locator('#runs th[aria-sort="descending"]')).to_contain_text("metrics.m2")
    expect(page).to_have_url(re.compile(r"order=metrics\.m2(\+|%20)DESC"))

    # Scrolling to the end of what is loaded loads the next page, and so on.
    scroller = page.locator(".table-scroll")
    for pages in (2, 3):
        scroller.evaluate("(node) => { node.scrollTop = node.scrollHeight; }")
        expect(page.locator("#run-count")).to_contain_text(f"{pages * 1000:,} runs loaded")
    expect(rows.last).to_be_visible()
    assert rows.count() < 100
    last_visible = int(rows.last.inner_text().split("run-")[1].split()[0])
    assert RUNS - 3000 <= last_visible < RUNS - 1900  # the rows of the scrolled-to place
    shot(page, "runs-scrolled")

    page.get_by_role("button", name="metrics.m2").click()  # again: ascending
    expect(page.locator("#runs tbody tr.run").first).to_contain_text("run-0")


def test_columns_are_chosen_kept_in_the_url_and_runs_grouped(page: Page) -> None:
    page.goto("/#/experiments/1")
    head = page.locator("#runs thead")
    expect(head).to_contain_text("params.p0", timeout=60_000)
    expect(head).not_to_contain_text("tags.team")
    page.get_by_text("Columns").click()
    page.get_by_label("column tags.team").check()
    page.get_by_label("column params.p1").uncheck()
    expect(head).to_contain_text("tags.team")
    expect(head).not_to_contain_text("params.p1")
    expect(page).to_have_url(re.compile(r"cols=.*tags\.team"))
    page.get_by_text("Columns").click()  # closes the chooser

    page.get_by_label("group by").select_option("tags.team")
    groups = page.locator("#runs tbody tr.group")
    expect(groups.first).to_contain_text("tags.team = ")
    expect(groups.first).to_contain_text("500 runs")  # of the 1,000 loaded, one team in two
    expect(groups.first.locator("td.num").first).to_contain_text("μ")
    shot(page, "runs-grouped")

    page.reload()  # the URL restores columns and grouping
    expect(head).to_contain_text("tags.team")
    expect(head).not_to_contain_text("params.p1")
    expect(page.locator("#runs tbody tr.group").first).to_contain_text("tags.team = ")


def test_three_hundred_runs_compare_in_parallel_coordinates_and_a_scatter(page: Page) -> None:
    ids = ",".join(f"{i:032x}" for i in range(300))
    page.goto(f"/#/compare?ids={ids}")
    expect(page.get_by_role("heading", name="Compare 300 runs")).to_be_visible()
    lines = page.locator("canvas.parallel")
    expect(lines).to_have_attribute("data-lines", "300", timeout=60_000)
    page.get_by_label("metric to explain").select_option("m2")
    expect(lines).to_have_attribute("data-lines", "300")
    page.get_by_label("scatter x").select_option("metrics.m2")
    page.get_by_label("scatter y").select_option("metrics.m0")
    expect(page.locator(".scatter")).to_have_attribute("data-points", "300")
    expect(page.locator("#compare-table thead th")).to_have_count(301)
    page.locator("#drivers").scroll_into_view_if_needed()
    shot(page, "compare-300")


def test_artifacts_preview_images_text_json_csv_and_model_folders(page: Page) -> None:
    page.goto(f"/#/runs/{0:032x}")
    tree, pane = page.locator("#artifacts"), page.locator("#artifact-preview")
    tree.get_by_role("button", name="preview notes.txt").click()
    expect(pane.locator("pre")).to_have_text("first line\n<b>not bold</b>\n")  # text, never HTML
    tree.get_by_role("button", name="preview metrics.json").click()
    expect(pane.locator("pre")).to_contain_text('"classes": [\n    "cat",')
    tree.get_by_role("button", name="preview table.csv").click()
    expect(pane.locator("table th")).to_have_text(["name", "score"])
    expect(pane.locator("table tbody tr").first.locator("td")).to_have_text(["Smith, J", "0.5"])
    tree.get_by_role("button", name="plots/").click()
    tree.get_by_role("button", name="preview plots/red.png").click()
    image = pane.locator("img")
    expect(image).to_be_visible()
    assert image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [40, 20]
    tree.get_by_role("button", name="model/").click()
    expect(tree.locator(".model-badge")).to_have_text("MLflow model")
    expect(pane).to_have_attribute("data-path", "model/MLmodel")
    expect(pane.locator("pre")).to_contain_text("pickled_model: model.pkl")
    assert tree.get_by_role("button", name="preview model/model.pkl").count() == 0  # binary
    pane.scroll_into_view_if_needed()
    shot(page, "run-artifacts")


def test_a_run_lists_its_children_logged_models_and_sql_draws_its_result(page: Page) -> None:
    page.goto(f"/#/runs/{0:032x}")
    children = page.locator("#child-runs")
    expect(children.get_by_role("heading")).to_have_text("Child runs (3)", timeout=30_000)
    expect(children.get_by_role("link", name="run-2")).to_be_visible()
    models = page.locator("#logged-models")
    expect(models.get_by_role("heading")).to_have_text("Logged models (1)")
    row = models.locator(f'tr[data-model-id="{MODEL_ID}"]')
    expect(row).to_contain_text("classifier")
    expect(row).to_contain_text("depth=4")
    expect(row).to_contain_text("team=red")
    expect(row.get_by_role("link", name="churn v1")).to_have_attribute("href", "#/models/churn")
    models.scroll_into_view_if_needed()
    shot(page, "run-logged-models")
    page.goto(f"/#/runs/{1:032x}")  # a run without logged models has no such section
    expect(page.locator("h1")).to_contain_text("run-1", timeout=30_000)
    expect(page.locator("#logged-models")).to_have_count(0)

    statement = 'SELECT "key", count(*) AS runs FROM latest_metrics GROUP BY "key" ORDER BY "key"'
    page.goto("/#/sql")
    page.get_by_label("SQL statement").fill(statement)
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#sql-result tbody tr")).to_have_count(3)
    page.get_by_label("chart", exact=True).select_option("bar")
    chart = page.locator(".sql-chart")
    expect(chart).to_have_attribute("data-kind", "bar")
    expect(chart).to_have_attribute("data-points", "3")
    shot(page, "sql-bar")
    page.reload()  # statement and chart come back from the URL
    expect(page.locator(".sql-chart")).to_have_attribute("data-kind", "bar", timeout=30_000)
