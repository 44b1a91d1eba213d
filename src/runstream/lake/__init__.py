"""The lake: DuckLake tables over a SQLite or PostgreSQL catalog, Parquet on S3 or disk.

The only package that imports duckdb. Readers (the query service) use
:class:`LakeReader` from :func:`open_reader`; the materializer writes through
:class:`~runstream.lake.writer.LakeWriter`; table definitions live in
:mod:`runstream.lake.tables`.
"""

from runstream.lake.connection import Lake, open_lake
from runstream.lake.maintenance import MaintenanceReport, compact, compact_lake
from runstream.lake.reader import (
    ArrowResult,
    DuckLakeReader,
    LakeReader,
    QueryResult,
    open_reader,
)
from runstream.lake.tables import TABLES, TABLES_BY_NAME, Table

__all__ = [
    "TABLES",
    "TABLES_BY_NAME",
    "ArrowResult",
    "DuckLakeReader",
    "Lake",
    "LakeReader",
    "MaintenanceReport",
    "QueryResult",
    "Table",
    "compact",
    "compact_lake",
    "open_lake",
    "open_reader",
]
