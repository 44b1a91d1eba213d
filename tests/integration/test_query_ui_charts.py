"""The run charts in a real browser: a live run that grows on screen, and a zoom that
fetches detail the full-range downsample cannot show.

Real stack: the broker, a materializer, the query service with its Kafka live
tail, runs logged through the SDK. Screenshots go to tests/artifacts/ui/.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from materializer_support import materializer, wait_for
from playwright.sync_api import Browser, Page, expect
from test_query_helpers import per_test_settings, serve
from ui_support import TIMEOUT_MS, VIEWPORT

import runstream as rs
from runstream.config import Settings
from runstream.kafka.admin import ensure_topics
from runstream.query.ui import bundle_built
from runstream.sdk.client import RunstreamClient

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
SPIKES = (100_000, 100_040, 100_080)  # one bucket at full range, three after a zoom
SPIKY_POINTS = 200_000

# Points of the drawn (not faint) series of one chart with a value above ``limit``.
POINTS_ABOVE_JS = """([key, limit]) => {
  const series = document.querySelector(`.chart[data-key="${key}"]`).runstreamSeries;
  return series.filter((s) => !s.faint)
    .map((s) => s.ys.filter((v) => v !== null && v > limit).length).reduce((a, b) => a + b, 0);
}"""
DRAWN_STEPS_JS = """(key) => document.querySelector(`.chart[data-key="${key}"]`).runstreamSeries
  .filter((s) => !s.faint).flatMap((s) => s.xs)"""
# Page coordinates of x value ``x`` on a chart's plot area (middle height).
X_POS_JS = """([key, x]) => {
  const u = document.querySelector(`.chart[data-key="${key}"]`).runstreamPlot;
  const box = u.over.getBoundingClientRect();
  return [box.left + u.valToPos(x, "x"), box.top + box.height / 2];
}"""


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page as tests/artifacts/ui/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def drag(page: Page, key: str, lo: float, hi: float) -> None:
    """Drag across chart ``key`` from x=lo to x=hi, as a user zooms."""
    x0, y = page.evaluate(X_POS_JS, [key, lo])
    x1, _ = page.evaluate(X_POS_JS, [key, hi])
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y, steps=4)
    page.mouse.move(x1, y, steps=4)
    page.mouse.up()


def lake_ready(url: str) -> bool:
    """Whether the query service reads a lake (the materializer has created it)."""
    try:
        return bool(httpx.get(f"{url}/readyz", timeout=30).json().get("ready"))
    except (httpx.HTTPError, ValueError):
        return False


@pytest.fixture(scope="module")
def stack_url(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, RunstreamClient, str]]:
    """Materializer + query service with live tail; a finished run with hidden spikes."""
    if not bundle_built():
        pytest.fail("the UI bundle is not built: run `make ui` (make test does)", pytrace=False)
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-ui-charts"))
    ensure_topics(settings)
    with materializer(settings), serve(settings, live=True) as url:
        client = RunstreamClient(tracking_uri=url, environ={})
        rs.configure(client=client)
        try:
            # The materializer creates the lake; on a busy machine that can take a while.
            wait_for("the lake", lambda: lake_ready(url), bool, 120)
            rs.set_experiment("charts")
            with rs.start_run(run_name="spiky") as run:
                for step in range(SPIKY_POINTS):
                    value = 10.0 if step in SPIKES else 1.0 + 0.01 * math.sin(step / 50)
                    rs.log_metric("loss", value, step=step)
            client.flush(60)
            spiky = run.info.run_id

            def points() -> Any:
                try:  # a busy machine: the service may take a while to answer
                    r = httpx.get(f"{url}/api/v1/runs/{spiky}", timeout=30)
                except httpx.TimeoutException:
                    return None
                if not r.is_success:
                    return None
                return r.json()["data"]["metrics"].get("loss", {}).get("count")

            wait_for("the spiky run in the lake", points, lambda n: n == SPIKY_POINTS, 120)
            yield url, client, spiky
        finally:
            rs.configure()
            client.close(5.0)


@pytest.fixture
def page(stack_url: tuple[str, RunstreamClient, str], browser: Browser) -> Iterator[Page]:
    """A fresh tab on the service; fails on JavaScript errors.

    The stack comes first: Playwright's sync API runs an event loop in this thread,
    and the fixture's set-up calls asyncio.run.
    """
    context = browser.new_context(base_url=stack_url[0], viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_a_zoom_fetches_detail_that_the_full_range_cannot_show(
    page: Page, stack_url: tuple[str, RunstreamClient, str]
) -> None:
    _, _, spiky = stack_url
    page.goto(f"/#/runs/{spiky}")
    chart = page.locator('.chart[data-key="loss"]')
    # The first read of 200,000 points warms the lake; later ones are faster.
    expect(chart.locator("h4")).to_contain_text("200,000 points, downsampled", timeout=20_000)
    # Full range: the three spikes share one bucket; its max (a spike) is kept.
    assert page.evaluate(POINTS_ABOVE_JS, ["loss", 5]) == 1
    shot(page, "run-full-range")

    with page.expect_response(lambda r: r.url.endswith("/api/v1/metrics/history")) as answer:
        drag(page, "loss", 90_000, 110_000)
    request = answer.value.request.post_data_json
    assert 89_000 < request["min_step"] < 91_000 and 109_000 < request["max_step"] < 111_000
    expect(chart).to_have_attribute("data-range", f"{request['min_step']}-{request['max_step']}")
    assert page.evaluate(POINTS_ABOVE_JS, ["loss", 5]) == 3  # the detail appeared
    expect(chart.get_by_role("button", name="reset zoom")).to_be_visible()
    shot(page, "run-zoomed")

    # Hover readout: the value of the run at the cursor.
    x, y = page.evaluate(X_POS_JS, ["loss", 100_000])
    page.mouse.move(x, y)
    expect(chart.locator(".readout")).to_have_text(re.compile(r"^step 99\d\d\d|^step 100\d\d\d"))
    expect(chart.locator(".readout")).to_contain_text(re.compile(r"spiky (10|1\.0\d*|0\.99\d*)$"))

    chart.get_by_role("button", name="reset zoom").click()
    expect(chart).to_have_attribute("data-range", "")
    assert page.evaluate(POINTS_ABOVE_JS, ["loss", 5]) == 1


def test_settings_change_the_chart_and_stay_in_the_url(
    page: Page, stack_url: tuple[str, RunstreamClient, str]
) -> None:
    _, _, spiky = stack_url
    page.goto(f"/#/runs/{spiky}")
    chart = page.locator('.chart[data-key="loss"]')
    expect(chart).to_have_attribute("data-points", re.compile(r"^1[0-9]{3}$"), timeout=20_000)
    page.get_by_label("smoothing", exact=True).select_option("ema")
    page.get_by_label("log scale y").check()
    page.get_by_label("x axis").select_option("relative")
    expect(page).to_have_url(re.compile(r"(?=.*smooth=ema)(?=.*logy=1)(?=.*x=relative)"))
    faint = page.evaluate(
        "() => document.querySelector('.chart[data-key=\"loss\"]')"
        ".runstreamSeries.map(s => Boolean(s.faint))"
    )
    assert faint == [True, False]  # raw faint behind the smoothed line
    page.reload()  # the URL restores the settings
    expect(page.get_by_label("smoothing", exact=True)).to_have_value("ema")
    expect(page.get_by_label("x axis")).to_have_value("relative")
    page.get_by_role("button", name="switch between dark and light mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(chart).to_have_attribute("data-points", re.compile(r"^1[0-9]{3}$"), timeout=20_000)
    shot(page, "run-smoothed-dark")


def test_a_live_run_grows_on_screen_without_duplicates(
    page: Page, stack_url: tuple[str, RunstreamClient, str]
) -> None:
    url, client, _ = stack_url
    run = rs.start_run(run_name="training")
    run_id = run.info.run_id
    try:
        for step in range(50):
            rs.log_metric("acc", step / 100, step=step)
        client.flush(30)
        wait_for("the first points in the lake",
                 lambda: httpx.get(f"{url}/api/v1/runs/{run_id}", timeout=30).json(),
                 lambda r: r.get("data", {}).get("metrics", {}).get("acc", {}).get("count") == 50)
        page.goto(f"/#/runs/{run_id}")
        chart = page.locator('.chart[data-key="acc"]')
        expect(chart).to_have_attribute("data-points", "50")
        expect(page.locator(".live-state")).to_have_text("● live")
        seen = []
        for group in range(5):
            for step in range(50 + group * 10, 60 + group * 10):
                rs.log_metric("acc", step / 100, step=step)
            client.flush(10)
            logged = time.monotonic()
            expect(chart).to_have_attribute("data-points", str(60 + group * 10), timeout=5000)
            seen.append(time.monotonic() - logged)
        assert max(seen) < 1.5, f"live points took {max(seen):.2f} s to appear"
        expect(page.locator('#metrics tr[data-key="acc"] [data-col="step"]')).to_have_text("99")
        shot(page, "run-live")
    finally:
        rs.end_run()
    client.flush(30)
    expect(page.locator("h1 .badge")).to_have_text("FINISHED")
    wait_for(
        "the lake to catch up",
        lambda: httpx.get(f"{url}/api/v1/runs/{run_id}", timeout=30).json(),
        lambda r: r["data"]["metrics"]["acc"]["count"] == 100,
    )
    # A zoom re-reads the lake, which now holds the streamed points too: each once.
    with page.expect_response(lambda r: "/live/position" in r.url):
        drag(page, "acc", 0, 99)
    expect(page.locator('.chart[data-key="acc"]')).to_have_attribute("data-range", "0-99")
    steps = page.evaluate(DRAWN_STEPS_JS, "acc")
    assert sorted(steps) == list(range(100))
