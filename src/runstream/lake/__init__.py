"""The lake: DuckLake tables over a SQLite or PostgreSQL catalog, Parquet on S3 or disk.

The only package that imports duckdb. Readers (the query service) hold the read
port, :class:`~runstream.lake.port.LakeReader`, from :func:`open_reader`; the
materializer writes through :class:`~runstream.lake.writer.LakeWriter`; table
definitions live in :mod:`runstream.lake.tables`.
"""

from runstream.lake.connection import Lake, open_lake
from runstream.lake.maintenance import MaintenanceReport, compact, compact_lake
from runstream.lake.port import ArrowResult, LakeReader, LakeTransaction, QueryResult
from runstream.lake.reader import DuckLakeReader, open_reader
from runstream.lake.tables import TABLES, TABLES_BY_NAME, Table

__all__ = [
    "TABLES",
    "TABLES_BY_NAME",
    "ArrowResult",
    "DuckLakeReader",
    "Lake",
    "LakeReader",
    "LakeTransaction",
    "MaintenanceReport",
    "QueryResult",
    "Table",
    "compact",
    "compact_lake",
    "open_lake",
    "open_reader",
]
