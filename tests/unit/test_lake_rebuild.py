"""``rebuild`` replays the archive into a fresh lake and finds any difference."""

from __future__ import annotations

import random
from pathlib import Path

from projection_support import deliver
from test_lake_writer import TOPIC
from test_projection_batches import _stream

from runstream.config import Settings
from runstream.events import encode
from runstream.events.records import Record
from runstream.lake.connection import open_lake
from runstream.lake.writer import LakeWriter
from runstream.materializer.batch import BatchProcessor
from runstream.materializer.rebuild import format_report, rebuild


def _live_lake(tmp_path: Path) -> Settings:
    settings = Settings(
        home=tmp_path / "live",
        lake_catalog=str(tmp_path / "live" / "catalog.sqlite"),
        lake_data_path=str(tmp_path / "live" / "data"),
    )
    rng = random.Random(3)
    delivered = deliver(*_stream(11))
    records = [Record(TOPIC, i % 3, i, None, encode(d.event)) for i, d in enumerate(delivered)]
    records.insert(17, Record(TOPIC, 0, 10_000, None, b"garbage"))
    with open_lake(settings, read_only=False) as lake:
        root = f"s3://{settings.artifacts_bucket}"  # what the materializer uses
        processor = BatchProcessor(LakeWriter(lake), artifact_root=root)
        stored: dict[tuple[str, int], int | None] = {}
        i = 0
        while i < len(records):
            n = rng.randrange(20, 120)
            batch = records[i : i + n]
            prepared = processor.prepare(batch, {r.tp: stored.get(r.tp) for r in batch})
            assert prepared is not None
            processor.commit()
            stored.update(prepared.offsets)
            i += n
    return settings


def test_a_rebuild_reproduces_every_table(tmp_path: Path) -> None:
    settings = _live_lake(tmp_path)
    report = rebuild(settings, workdir=tmp_path / "rebuilt")
    assert report.ok, format_report(report)
    by_table = {d.table: d for d in report.diffs}
    assert by_table["metrics"].rows_a > 100
    assert by_table["model_versions"].rows_a > 0
    assert by_table["events"].rows_a == report.events
    assert "rebuild matches" in format_report(report)


def test_a_rebuild_reports_a_damaged_table(tmp_path: Path) -> None:
    settings = _live_lake(tmp_path)
    with open_lake(settings, read_only=False) as lake:
        lake.con.execute(
            "DELETE FROM lake.params WHERE rowid = (SELECT min(rowid) FROM lake.params)"
        )
    report = rebuild(settings)
    assert not report.ok
    [damaged] = [d for d in report.diffs if not d.equal]
    assert (damaged.table, damaged.only_a, damaged.only_b) == ("params", 0, 1)
    assert report.workdir is None  # the temporary lake is gone
