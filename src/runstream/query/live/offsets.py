"""Which offsets of the log the lake holds: where a live stream starts."""

from __future__ import annotations

from collections.abc import Sequence

from runstream.errors import LakeError
from runstream.query.read.port import ReadSession


def lake_offsets(
    session: ReadSession, topic: str, partitions: Sequence[int], snapshot: int | None = None
) -> tuple[dict[int, int], int]:
    """Next offset the lake holds per partition of ``topic``, and the snapshot read.

    With ``snapshot``, the offsets are those the lake held in that snapshot (the one
    a chart's history was read from), so history + stream hold every point once.
    A partition the lake never read maps to 0. A snapshot the lake no longer has
    (expired by maintenance) falls back to the newest one; the snapshot returned
    says which was read.

    Raises:
        LakeError: the lake could not be read.
    """
    wanted = sorted(set(partitions))
    marks = ", ".join("?" * len(wanted))
    sql = "SELECT partition, next_offset FROM consumer_offsets{at} WHERE topic = ?"
    sql += f" AND partition IN ({marks})"
    rows = None
    read_at = None
    if snapshot is not None:
        try:
            # A snapshot id is an integer, never text: formatting it in is safe.
            rows = session.fetch(
                sql.format(at=f" AT (VERSION => {int(snapshot)})"), [topic, *wanted]
            )
            read_at = int(snapshot)
        except LakeError:
            rows = None
    if rows is None:
        rows = session.fetch(sql.format(at=""), [topic, *wanted])
        read_at = session.snapshot_id
    found = {int(p): int(o) for p, o in rows}
    return {p: found.get(p, 0) for p in wanted}, int(read_at or 0)


__all__ = ["lake_offsets"]
