"""Lake maintenance in bounded passes, beside a writer (DuckLake on a local folder)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lake_support import local_lake_settings

from runstream.config import Settings
from runstream.errors import LakeConflictError
from runstream.lake.connection import CATALOG, Lake, open_lake
from runstream.lake.maintenance import compact, maintenance_steps
from runstream.lake.writer import LakeWriter


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return local_lake_settings(tmp_path)


@pytest.fixture
def lake(local_settings: Settings) -> Iterator[Lake]:
    with open_lake(local_settings, read_only=False) as opened:
        yield opened


def _insert_points(lake: Lake, run_id: str, n: int) -> None:
    lake.con.execute(
        f"INSERT INTO {CATALOG}.metrics SELECT ?, 'loss', range::DOUBLE, range, range "
        "FROM range(?)",
        [run_id, n],
    )


def test_a_pass_out_of_budget_stops_and_the_next_goes_on_where_it_stopped(lake: Lake) -> None:
    for i in range(3):
        _insert_points(lake, f"r{i}", 10)  # inlined rows for the flush steps
    total = len(maintenance_steps())
    start, covered, passes = 0, 0, 0
    while True:
        report = compact(lake, budget_s=0.0, start_at=start)
        passes += 1
        assert report.steps_done + len(report.skipped) == 1  # one step, then out of budget
        covered += 1
        if report.next_step == 0:
            break
        assert report.next_step == start + 1
        start = report.next_step
    assert covered == total and passes == total
    assert lake.con.execute(f"SELECT count(*) FROM {CATALOG}.metrics").fetchone() == (30,)


def test_a_stopped_pass_starts_no_step(lake: Lake) -> None:
    stop = threading.Event()
    stop.set()
    report = compact(lake, stop=stop, start_at=4)
    assert report.steps_done == 0 and report.next_step == 4


def test_a_batch_commit_that_lost_to_maintenance_is_a_conflict_and_leaves_nothing(
    local_settings: Settings, lake: Lake
) -> None:
    _insert_points(lake, "old", 10)
    writer = LakeWriter(lake)
    with open_lake(local_settings, read_only=False) as other:
        writer.begin()
        _insert_points(lake, "lost", 5000)
        # Maintenance commits on its own connection while the batch is open.
        other.con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}')")
        with pytest.raises(LakeConflictError):
            writer.commit()
    writer.rollback()
    rows = lake.con.execute(
        f"SELECT run_id, count(*) FROM {CATALOG}.metrics GROUP BY run_id"
    ).fetchall()
    assert rows == [("old", 10)]
    writer.begin()  # written again on the new snapshot, it commits
    _insert_points(lake, "again", 5000)
    writer.commit()
    assert lake.con.execute(
        f"SELECT count(*) FROM {CATALOG}.metrics WHERE run_id = 'again'"
    ).fetchone() == (5000,)


def test_a_step_that_fails_is_skipped_and_the_pass_goes_on(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runstream.lake.maintenance as maintenance

    real = maintenance.maintenance_steps

    def with_a_broken_step(retention_s: float = 3600) -> list[maintenance.Step]:
        return [maintenance.Step("broken", "CALL no_such_function()"), *real(retention_s)[:2]]

    monkeypatch.setattr(maintenance, "maintenance_steps", with_a_broken_step)
    report = compact(lake)
    assert report.skipped == ("broken",) and report.steps_done == 2 and report.next_step == 0
