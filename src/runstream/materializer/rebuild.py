"""``runstream rebuild``: replay the lake's raw ``events`` into fresh tables and compare.

The log is the source of truth and every table is a projection of it; this proves
it. The archive is replayed, in the order it was written, through the same
:class:`~runstream.materializer.batch.BatchProcessor` the live materializer uses,
into a new lake (a temporary folder by default); then every projected table of
the new lake is compared, as a multiset of rows, with the live one.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runstream.config import Settings
from runstream.errors import LakeError
from runstream.lake.archive import TableDiff, compare_lakes, iter_archive
from runstream.lake.connection import CATALOG, attach_read_only, open_lake
from runstream.lake.writer import LakeWriter
from runstream.materializer.batch import BatchProcessor

LIVE = "live"


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild replayed and how the rebuilt tables compare with the live ones.

    Attributes:
        events: archived events replayed.
        rejected: events the replay rejected (0 when the live lake is sound).
        seconds: time taken.
        diffs: one entry per projected table (A: live, B: rebuilt).
        workdir: where the rebuilt lake is (None when it was deleted).
    """

    events: int
    rejected: int
    seconds: float
    diffs: list[TableDiff]
    workdir: Path | None

    @property
    def ok(self) -> bool:
        """True when every table matches and nothing was rejected."""
        return self.rejected == 0 and all(d.equal for d in self.diffs)


def rebuild(
    settings: Settings, *, workdir: Path | None = None, keep: bool = False
) -> RebuildReport:
    """Replay the live lake's archive into a fresh lake and compare every projected table.

    Args:
        settings: the live deployment's settings (its lake is only read).
        workdir: where to build the new lake (catalog and Parquet on local disk);
            a temporary folder by default.
        keep: keep the rebuilt lake instead of deleting it.

    Returns:
        The report; ``report.ok`` says whether the live tables are reproduced exactly.

    Raises:
        LakeError: the live lake cannot be read or the new one cannot be written.
    """
    started = time.monotonic()
    root = workdir or Path(tempfile.mkdtemp(prefix="runstream-rebuild-"))
    fresh = dataclasses.replace(
        settings,
        home=root,
        lake_catalog=str(root / "catalog.sqlite"),
        lake_data_path=str(root / "data"),
    )
    if Path(fresh.catalog).exists():
        raise LakeError(f"{fresh.catalog} already exists: rebuild into an empty folder")
    try:
        with open_lake(fresh, read_only=False) as lake:
            attach_read_only(lake, settings, LIVE)
            processor = BatchProcessor(
                LakeWriter(lake), artifact_root=f"s3://{settings.artifacts_bucket}"
            )
            stored: dict[tuple[str, int], int | None] = {}
            events = rejected = 0
            for records in iter_archive(lake, source=LIVE):
                expected = {r.tp: stored.get(r.tp) for r in records}
                prepared = processor.prepare(records, expected)
                if prepared is None:  # pragma: no cover - nobody else writes this lake
                    raise LakeError("the rebuilt lake changed under the rebuild")
                processor.commit()
                stored.update(prepared.offsets)
                events += len(records)
                rejected += len(prepared.result.rejections)
            diffs = compare_lakes(lake, LIVE, CATALOG)
    finally:
        if not keep and workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return RebuildReport(events, rejected, time.monotonic() - started, diffs,
                         root if keep or workdir else None)


def format_report(report: RebuildReport) -> str:
    """Render a rebuild report as text for the CLI."""
    lines = [
        f"replayed {report.events:,} events in {report.seconds:.1f} s; "
        f"{report.rejected} rejected on replay",
        f"{'table':<26}{'live':>12}{'rebuilt':>12}{'only live':>12}{'only rebuilt':>14}",
    ]
    lines += [
        f"{d.table:<26}{d.rows_a:>12,}{d.rows_b:>12,}{d.only_a:>12,}{d.only_b:>14,}"
        + ("" if d.equal else "   DIFFERENT")
        for d in report.diffs
    ]
    verdict = "rebuild matches the live lake" if report.ok else "REBUILD DIFFERS FROM THE LIVE LAKE"
    lines.append(verdict)
    if report.workdir is not None:
        lines.append(f"rebuilt lake kept in {report.workdir}")
    return "\n".join(lines)


__all__ = ["RebuildReport", "format_report", "rebuild"]
