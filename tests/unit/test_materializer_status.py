"""The materializer's periodic status: the logged rates and the status row agree."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from runstream.config import Settings
from runstream.materializer.loop import Materializer


def test_the_status_log_line_shows_the_rates_of_the_window_it_closes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = Materializer(Settings(home=tmp_path))
    monkeypatch.setattr(member, "_lag", lambda: {"t:0": 7})
    stats = member.stats
    stats._window_start = time.monotonic() - 2.0
    stats._window_records, stats._window_rows, stats._window_points = 400, 4000, 3000
    with caplog.at_level(logging.INFO, logger="runstream.materializer"):
        row = member._status_if_due()
    assert row is not None
    logged = re.search(r"events/s=(\d+) rows/s=(\d+) points/s=(\d+)", caplog.text)
    assert logged is not None, caplog.text
    events_per_s, rows_per_s, points_per_s = map(int, logged.groups())
    assert 150 <= events_per_s <= 200 and events_per_s == pytest.approx(row.events_per_s, 1)
    assert 1500 <= rows_per_s <= 2000 and 1100 <= points_per_s <= 1500
    assert "lag=7" in caplog.text
    assert member.stats.rates() == (0.0, 0.0, 0.0)  # the next window starts empty
