"""Reading the raw ``events`` archive back, and comparing two lakes table by table.

``rebuild`` replays the archive in the order the rows were written (DuckLake keeps
a row id per insert, and compaction keeps it), which is the order the live
materializer projected them in; then it compares every projected table of the
rebuilt lake with the live one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from runstream.errors import LakeError
from runstream.events.records import Record
from runstream.lake.connection import CATALOG, Lake
from runstream.lake.tables import TABLES, quote_ident

# Tables that depend on delivery (offsets, rejections, members), not on the events.
NOT_PROJECTED = frozenset({"consumer_offsets", "rejected_events", "materializer_status"})


def iter_archive(
    lake: Lake, *, source: str = CATALOG, max_events: int = 5000, max_bytes: int = 32 << 20
) -> Iterator[list[Record]]:
    """Yield the archived events of ``source`` as records, in projection order, in chunks.

    Args:
        lake: an open lake whose connection has ``source`` attached.
        source: catalog alias of the lake to read.
        max_events: events per chunk.
        max_bytes: payload bytes per chunk (keeps memory bounded).
    """
    cur = lake.con.cursor()
    try:
        cur.execute(
            f"SELECT topic, {quote_ident('partition')}, {quote_ident('offset')}, payload "
            f"FROM {source}.events ORDER BY rowid"
        )
        chunk: list[Record] = []
        size = 0
        while rows := cur.fetchmany(1000):
            for topic, partition, offset, payload in rows:
                value = payload.encode("utf-8")
                chunk.append(Record(topic, partition, offset, None, value))
                size += len(value)
                if len(chunk) >= max_events or size >= max_bytes:
                    yield chunk
                    chunk, size = [], 0
        if chunk:
            yield chunk
    except duckdb.Error as exc:
        raise LakeError(f"cannot read the events archive of {source}: {exc}") from exc
    finally:
        cur.close()


@dataclass(frozen=True)
class TableDiff:
    """How one table differs between two lakes (rows compared as multisets).

    Attributes:
        table: table name.
        rows_a: rows in lake A.
        rows_b: rows in lake B.
        only_a: rows of A missing from B.
        only_b: rows of B missing from A.
    """

    table: str
    rows_a: int
    rows_b: int
    only_a: int
    only_b: int

    @property
    def equal(self) -> bool:
        """True when both lakes hold exactly the same rows."""
        return self.only_a == 0 and self.only_b == 0


def compare_lakes(lake: Lake, a: str, b: str) -> list[TableDiff]:
    """Compare every projected table of catalogs ``a`` and ``b`` attached to ``lake``."""
    out: list[TableDiff] = []
    for table in TABLES:
        if table.name in NOT_PROJECTED:
            continue
        cols = ", ".join(quote_ident(c) for c in table.column_names)
        sa = f"SELECT {cols} FROM {a}.{table.name}"
        sb = f"SELECT {cols} FROM {b}.{table.name}"
        try:
            row = lake.con.execute(
                f"SELECT (SELECT count(*) FROM {a}.{table.name}), "
                f"(SELECT count(*) FROM {b}.{table.name}), "
                f"(SELECT count(*) FROM ({sa} EXCEPT ALL {sb})), "
                f"(SELECT count(*) FROM ({sb} EXCEPT ALL {sa}))"
            ).fetchone()
        except duckdb.Error as exc:
            raise LakeError(f"cannot compare {table.name}: {exc}") from exc
        assert row is not None
        out.append(TableDiff(table.name, *(int(v) for v in row)))
    return out


__all__ = ["NOT_PROJECTED", "TableDiff", "compare_lakes", "iter_archive"]
