"""Fixtures of the integration tests that several modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from ui_support import launched_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium, one per module."""
    with launched_browser() as launched:
        yield launched
