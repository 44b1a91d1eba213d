"""Counters of one materializer, and the rates shown in logs and ``materializer_status``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from runstream.lake.writer import StatusRow
from runstream.materializer.batch import PreparedBatch


@dataclass
class Stats:
    """Totals since start, plus a window for rates (reset at each status row).

    Attributes:
        records: Kafka messages materialized (accepted, rejected and duplicates).
        accepted: events archived.
        rejected: events sent to the DLQ.
        duplicates: events dropped as duplicates.
        rows: rows written, metric points included.
        points: metric points written.
        batches: batches committed.
        failures: consecutive failed batches (drives the retry backoff).
        last_commit_ms: duration of the last batch, prepare to commit.
    """

    records: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rows: int = 0
    points: int = 0
    batches: int = 0
    failures: int = 0
    last_commit_ms: float = 0.0
    _window_start: float = field(default_factory=time.monotonic)
    _window_records: int = 0
    _window_rows: int = 0
    _window_points: int = 0

    def record(self, batch: PreparedBatch, commit_ms: float) -> None:
        """Count one committed batch."""
        result = batch.result
        self.records += batch.records
        self.accepted += len(result.accepted)
        self.rejected += len(result.rejections)
        self.duplicates += result.duplicates
        self.rows += batch.rows
        points = result.metric_points
        self.points += points
        self.batches += 1
        self.last_commit_ms = commit_ms
        self._window_records += batch.records
        self._window_rows += batch.rows
        self._window_points += points

    def rates(self) -> tuple[float, float, float]:
        """``(events/s, rows/s, points/s)`` over the current window."""
        elapsed = max(time.monotonic() - self._window_start, 1e-6)
        return (
            self._window_records / elapsed,
            self._window_rows / elapsed,
            self._window_points / elapsed,
        )

    def status_row(self, member_id: str, lag_json: str) -> StatusRow:
        """Build a ``materializer_status`` row and start a new rate window."""
        events_per_s, rows_per_s, _ = self.rates()
        self._window_start = time.monotonic()
        self._window_records = self._window_rows = self._window_points = 0
        return StatusRow(
            member_id=member_id,
            updated_at=time.time_ns() // 1_000_000,
            events_per_s=round(events_per_s, 1),
            rows_per_s=round(rows_per_s, 1),
            last_commit_ms=round(self.last_commit_ms, 1),
            rejected_total=self.rejected,
            lag_json=lag_json,
        )

    def summary(self) -> str:
        """One log line of totals and current rates."""
        events_per_s, rows_per_s, points_per_s = self.rates()
        return (
            f"batches={self.batches} records={self.records} accepted={self.accepted} "
            f"rejected={self.rejected} duplicates={self.duplicates} points={self.points} "
            f"events/s={events_per_s:.0f} rows/s={rows_per_s:.0f} points/s={points_per_s:.0f} "
            f"last_commit_ms={self.last_commit_ms:.0f}"
        )


__all__ = ["Stats"]
