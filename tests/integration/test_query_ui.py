"""The web UI in a real browser: Playwright drives Debian's chromium against a live service.

Each test does what a user does (open the page, click, type a filter, download a
file) and checks what they would see. The browser is the system's chromium;
Playwright never downloads one. ``make test`` installs Debian's package first
(``scripts/install-browser.sh``); without it these tests fail and say why.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from test_query_helpers import fill_lake, per_test_settings, rid, serve
from ui_support import TIMEOUT_MS, VIEWPORT

from runstream.config import Settings
from runstream.query.ui import bundle_built

SERIES_BLUE = (0x2F, 0x5B, 0xD3)  # colour of a page's first run (plot.js PALETTE[0])
SERIES_RED = (0xD3, 0x45, 0x2F)  # ... and of its second

# Counts a canvas's pixels within 40 of an RGB colour on each channel.
COUNT_PIXELS_JS = """([selector, rgb]) => {
  const canvas = document.querySelector(selector);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && Math.abs(data[i] - rgb[0]) < 40 && Math.abs(data[i + 1] - rgb[1]) < 40
        && Math.abs(data[i + 2] - rgb[2]) < 40) { n += 1; }
  }
  return n;
}"""


@pytest.fixture(scope="module")
def base_url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live query service over a freshly filled lake."""
    if not bundle_built():
        pytest.fail("the UI bundle is not built: run `make ui` (make test does)", pytrace=False)
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-ui"))
    fill_lake(settings, history_points=2000)
    with serve(settings) as base:
        yield base


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context on the service; fails on page errors or off-site requests."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "request",
        lambda req: None if req.url.startswith(base_url) else elsewhere.append(req.url),
    )
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not elsewhere, f"the page fetched from another origin: {elsewhere}"


def canvas_pixels(page: Page, selector: str, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the canvas at ``selector`` have (about) colour ``rgb``."""
    return int(page.evaluate(COUNT_PIXELS_JS, [selector, list(rgb)]))


def run_names(page: Page) -> list[str]:
    """The run names in the runs table, top to bottom."""
    return page.locator("#runs tbody tr.run td:nth-child(2)").all_inner_texts()


def test_experiments_are_listed_and_the_filter_narrows_the_runs(page: Page) -> None:
    """The side bar lists experiments; a filter narrows the runs; a bad one shows where."""
    page.goto("/")
    sidebar = page.locator("aside")
    expect(sidebar.get_by_role("link", name="vision")).to_be_visible()
    expect(sidebar.get_by_role("link", name="nlp")).to_be_visible()
    expect(sidebar).not_to_contain_text("old")  # a deleted experiment is not offered

    sidebar.get_by_role("link", name="vision").click()
    expect(page.get_by_role("heading", name="vision")).to_be_visible()
    rows = page.locator("#runs tbody tr.run")
    expect(rows).to_have_count(4)  # "eps" is deleted
    assert run_names(page) == ["delta", "gamma", "beta", "alpha"]  # newest first
    expect(page.locator("#runs thead")).to_contain_text("params.lr")
    expect(page.locator("#runs thead")).to_contain_text("metrics.acc")

    box = page.get_by_role("searchbox", name="filter runs")
    box.fill("params.model = 'cnn'")
    box.press("Enter")
    expect(rows).to_have_count(2)
    assert run_names(page) == ["beta", "alpha"]
    expect(page.locator("#run-count")).to_have_text("2 runs")
    expect(page).to_have_url(re.compile(r"filter=params\.model"))  # the view can be shared

    box.fill("metrics.acc >")
    box.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The filter is not valid")
    expect(alert).to_contain_text("at position 13")
    expect(alert.locator(".error-caret")).to_have_text("metrics.acc >\n" + " " * 13 + "^")
    expect(rows).to_have_count(0)

    page.go_back()  # the previous filter comes back with its runs
    expect(box).to_have_value("params.model = 'cnn'")
    expect(rows).to_have_count(2)


def test_a_run_shows_params_metrics_a_drawn_chart_and_downloadable_artifacts(
    page: Page, tmp_path: Path
) -> None:
    """A run shows params, metrics, a drawn chart and artifacts that download."""
    page.goto("/#/experiments/1")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/metrics/history")) as answer:
        page.get_by_role("link", name="alpha", exact=True).click()
    series = {s["key"]: s for s in answer.value.json()["series"]}
    assert series["train_loss"]["total_points"] == 2000
    assert series["train_loss"]["downsampled"] and len(series["train_loss"]["steps"]) <= 1500
    assert max(series["train_loss"]["values"]) > 5  # the spike survives downsampling

    expect(page.get_by_role("heading", name="alpha")).to_be_visible()
    expect(page.locator("#params tr", has_text="lr").locator("td")).to_have_text("0.1")
    expect(page.locator("#params tr", has_text="model").locator("td")).to_have_text("cnn")
    expect(page.locator("#tags")).to_contain_text("it's ok")
    train_loss = page.locator("#metrics tbody tr", has_text="train_loss").locator("td")
    expect(train_loss).to_have_text(["0.0005", "1999", "0.0005", "5.00081", "2000"])

    chart = page.locator('.chart[data-key="train_loss"]')
    expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9][0-9]*$"))
    assert canvas_pixels(page, '.chart[data-key="train_loss"] canvas', SERIES_BLUE) > 200
    expect(chart.locator("h4")).to_contain_text("downsampled")
    expect(page.get_by_role("link", name="classifier v1")).to_be_visible()  # registered from it

    artifacts = page.locator("#artifacts")
    expect(artifacts.get_by_role("link", name="readme.txt")).to_be_visible()
    artifacts.get_by_role("button", name="model/").click()
    expect(artifacts.get_by_role("link", name="MLmodel")).to_be_visible()
    with page.expect_download() as download:
        artifacts.get_by_role("link", name="readme.txt").click()
    assert download.value.suggested_filename == "readme.txt"
    assert Path(download.value.path()).read_bytes() == b"hello artifacts\n"

    shot = tmp_path / "run.png"
    page.screenshot(path=shot)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (VIEWPORT["width"], VIEWPORT["height"])
    assert len(data) > 40_000  # tables, text and charts; a blank page compresses to a few KB


def test_two_selected_runs_open_side_by_side(page: Page) -> None:
    """Two ticked runs open in the compare view: differing rows marked, one line per run."""
    page.goto("/#/experiments/1")
    compare = page.locator("#compare")
    expect(compare).to_be_disabled()
    page.get_by_role("checkbox", name="select alpha").check()
    page.get_by_role("checkbox", name="select beta").check()
    expect(compare).to_have_text("Compare 2 runs")
    compare.click()

    expect(page.get_by_role("heading", name="Compare 2 runs")).to_be_visible()
    table = page.locator("#compare-table")
    expect(table.locator("thead th")).to_have_text(["", "alpha", "beta"])
    expect(table.locator("tr.differ th")).to_have_text(
        ["params.lr", "metrics.acc", "metrics.loss", "metrics.train_loss"]
    )
    expect(table.locator("tr.same", has_text="params.model").locator("td")).to_have_text(
        ["cnn", "cnn"]
    )
    page.get_by_label("show only rows that differ").check()
    expect(table.locator("tr", has_text="params.model")).to_be_hidden()

    chart = '.chart[data-key="train_loss"] canvas'
    expect(page.locator('.chart[data-key="train_loss"]')).to_have_attribute(
        "data-points", re.compile(r"^[1-9][0-9]*$")
    )
    assert canvas_pixels(page, chart, SERIES_BLUE) > 100  # alpha's line
    assert canvas_pixels(page, chart, SERIES_RED) > 20  # beta's line


def test_the_registry_shows_models_versions_stages_and_aliases(page: Page) -> None:
    """The Models page lists live models; a model shows versions, stages, aliases, history."""
    page.goto("/")
    page.get_by_role("link", name="Models").click()
    models = page.locator("#models tbody tr")
    expect(models).to_have_count(2)  # "gone" is deleted
    classifier = page.locator('#models tr[data-model="classifier"]')
    expect(classifier).to_contain_text("@champion → v2")
    expect(classifier).to_contain_text("v2 Production")

    classifier.get_by_role("link", name="classifier").click()
    expect(page.get_by_role("heading", name="classifier")).to_be_visible()
    expect(page.locator("#aliases")).to_contain_text("@next")
    versions = page.locator("#versions tbody tr")
    expect(versions).to_have_count(3)  # v4 is deleted
    v2, v1 = page.locator('tr[data-version="2"]'), page.locator('tr[data-version="1"]')
    expect(v2).to_contain_text("Production")
    expect(v2).to_contain_text("@champion")
    expect(page.locator('tr[data-version="3"]')).to_contain_text("Staging")

    v1.get_by_role("button", name="stage history").click()
    expect(page.locator(".history-row")).to_contain_text("archived by version 2")

    v2.get_by_role("link", name=rid(2)).click()
    expect(page.get_by_role("heading", name="beta")).to_be_visible()


def test_without_access_control_nobody_is_asked_to_sign_in(page: Page) -> None:
    """Auth off (a local stack): the page opens at once, with no sign-in and no user menu."""
    page.goto("/#/experiments/1")
    expect(page.get_by_role("heading", name="vision")).to_be_visible()
    expect(page.locator("aside").get_by_role("link", name="nlp")).to_be_visible()
    expect(page.get_by_role("form", name="Sign in to Runstream")).to_have_count(0)
    expect(page.locator("#user")).to_be_empty()


def test_the_footer_shows_the_lake_snapshot(page: Page, base_url: str) -> None:
    """The footer names the lake snapshot the page read and the materializer's lag."""
    snapshot = httpx.get(f"{base_url}/readyz").json()["snapshot_id"]
    page.goto("/")
    expect(page.locator("#snapshot")).to_have_text(str(snapshot))
    expect(page.locator("footer")).to_contain_text("materializer lag 7 events")


def test_failed_requests_say_what_failed_and_can_be_retried(page: Page) -> None:
    """A 404 and an unreachable service each show what failed; "Try again" recovers."""
    page.goto(f"/#/runs/{'f' * 32}")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Could not load run {'f' * 32}")
    expect(alert).to_contain_text("HTTP 404")
    expect(alert).to_contain_text("not found")

    def refuse(route: Route) -> None:
        route.abort("connectionrefused")

    page.route("**/api/v1/registered-models*", refuse)
    page.goto("/#/models")
    expect(alert).to_contain_text("Could not load the registered models")
    expect(alert).to_contain_text("did not answer")
    page.unroute("**/api/v1/registered-models*", refuse)
    alert.get_by_role("button", name="Try again").click()
    expect(page.locator("#models tbody tr")).to_have_count(2)
