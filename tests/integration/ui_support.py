"""What the browser tests share: Debian's chromium, how it is launched, the page size."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import ViewportSize, sync_playwright

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}
TIMEOUT_MS = 10_000


def chromium_path() -> str:
    """The system chromium's path, or fail the test with what to do about it."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "chromium is not installed, and the UI tests need it (Playwright must not download "
            "a browser). Run `make test`, whose scripts/install-browser.sh installs Debian's "
            "package, or `apt-get install chromium`.",
            pytrace=False,
        )
    return found


@contextmanager
def launched_browser() -> Iterator[Browser]:
    """Headless Debian chromium, launched by Playwright (starting takes about 1 s)."""
    executable = chromium_path()
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
