"""The materializer's periodic status and its stop: rates agree, waits end on a stop."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time

import pytest

from runstream.materializer.stats import Stats
from runstream.materializer.status import StatusReporter
from runstream.materializer.stopping import POLL_S, StopSignal


def _reporter(stats: Stats, *, every_s: float = 5.0, idle_every_s: float = 30.0) -> StatusReporter:
    return StatusReporter("m-1", stats, lambda: {"t:0": 7}, every_s=every_s,
                          idle_every_s=idle_every_s)


async def _reports(reporter: StatusReporter, seconds: float) -> None:
    task = asyncio.create_task(reporter.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_the_status_log_line_shows_the_rates_of_the_window_it_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stats = Stats()
    stats._window_start = time.monotonic() - 2.0
    stats._window_records, stats._window_rows, stats._window_points = 400, 4000, 3000
    reporter = _reporter(stats)
    with caplog.at_level(logging.INFO, logger="runstream.materializer"):
        asyncio.run(_reports(reporter, 0.01))
    row = reporter.take()
    assert row is not None and row.member_id == "m-1"
    logged = re.search(r"events/s=(\d+) rows/s=(\d+) points/s=(\d+)", caplog.text)
    assert logged is not None, caplog.text
    events_per_s, rows_per_s, points_per_s = map(int, logged.groups())
    assert 150 <= events_per_s <= 200 and events_per_s == pytest.approx(row.events_per_s, 1)
    assert 1500 <= rows_per_s <= 2000 and 1100 <= points_per_s <= 1500
    assert "lag=7" in caplog.text
    assert stats.rates() == (0.0, 0.0, 0.0)  # the next window starts empty


def test_the_status_line_comes_every_period_and_the_row_is_taken_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reporter = _reporter(Stats(), every_s=0.05)
    with caplog.at_level(logging.INFO, logger="runstream.materializer"):
        asyncio.run(_reports(reporter, 0.3))
    assert caplog.text.count("lag=7") >= 4
    assert reporter.take() is not None
    assert reporter.take() is None


def test_a_row_is_written_alone_only_when_idle_long_enough_or_asked_for() -> None:
    async def scenario() -> list[bool]:
        reporter = _reporter(Stats(), every_s=0.02, idle_every_s=0.2)
        task = asyncio.create_task(reporter.run())
        await asyncio.sleep(0.05)
        seen = [reporter.take_alone() is not None]  # idle only 0.05 s: not yet
        await asyncio.sleep(0.2)
        seen.append(reporter.take_alone() is not None)  # idle long enough
        seen.append(reporter.take_alone() is not None)  # just written
        reporter.report_now()  # a partition was assigned
        await asyncio.sleep(0.01)
        seen.append(reporter.take_alone() is not None)
        task.cancel()
        return seen

    assert asyncio.run(scenario()) == [False, True, False, True]


def test_waits_end_soon_after_the_stop_event_is_set_from_another_thread() -> None:
    event = threading.Event()

    async def scenario() -> tuple[bool, float, bool, float]:
        async with StopSignal(event) as stop:
            threading.Timer(0.1, event.set).start()
            started = time.monotonic()
            slept = await stop.sleep(30)
            took_sleep = time.monotonic() - started
            started = time.monotonic()
            finished = await stop.unless_stopped(asyncio.sleep(30))
            return slept, took_sleep, finished, time.monotonic() - started

    slept, took_sleep, finished, took_work = asyncio.run(scenario())
    assert slept and took_sleep < 0.1 + 3 * POLL_S + 0.5
    assert not finished and took_work < 3 * POLL_S + 0.5


def test_work_that_ends_before_a_stop_keeps_its_result_and_errors() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    async def scenario() -> bool:
        async with StopSignal(threading.Event()) as stop:
            assert await stop.unless_stopped(asyncio.sleep(0))
            return await stop.unless_stopped(fails())

    with pytest.raises(ValueError, match="boom"):
        asyncio.run(scenario())


def test_after_an_assignment_rows_come_at_once_until_one_carries_the_lag() -> None:
    lags: list[dict[str, int]] = [{}, {}, {"t:0": 3}]

    def lag() -> dict[str, int]:
        return lags.pop(0) if len(lags) > 1 else lags[0]

    reporter = StatusReporter("m-1", Stats(), lag, every_s=30.0, idle_every_s=30.0)

    async def scenario() -> list[str]:
        task = asyncio.create_task(reporter.run())
        await asyncio.sleep(0.01)
        assert reporter.take_alone() is None  # idle: nothing due before idle_every_s
        reporter.report_now()
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and '"t:0": 3' not in "".join(seen):
            row = reporter.take_alone()
            if row is not None:
                seen.append(row.lag_json)
            await asyncio.sleep(0.05)
        extra = reporter.take_alone()  # the lag is known: back to idle_every_s
        await asyncio.sleep(0.6)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert extra is None and reporter.take_alone() is None
        return seen

    seen = asyncio.run(scenario())
    assert seen[-1] == '{"t:0": 3}' and len(seen) >= 2  # rows without the lag came first
