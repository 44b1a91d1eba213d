"""Open the lake: a DuckDB connection with the DuckLake catalog attached as ``lake``.

The catalog is a SQLite file (embedded default) or a PostgreSQL database when
``settings.catalog`` starts with ``postgres:``; the Parquet data lives on S3 or in a
local folder (``settings.data_path``). The materializer opens the lake read-write,
the query service read-only. Opening is explicit (:func:`open_lake`); nothing here
touches the disk or the network at import or construction time.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import duckdb

from runstream.config import Settings
from runstream.errors import LakeError
from runstream.lake.extensions import DUCKLAKE, HTTPFS, POSTGRES, SQLITE, load_extensions
from runstream.lake.tables import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    TABLES,
    Table,
    create_table_sql,
    quote_ident,
    table_option_sql,
)

CATALOG = "lake"
# Inserts of fewer rows than this go into the catalog instead of a tiny Parquet file;
# the maintenance job flushes them to Parquet in bulk.
INLINING_ROW_LIMIT = 1000
# DuckDB setting DuckLake reads the limit from for every table without its own option.
INLINING_SETTING = "ducklake_default_data_inlining_row_limit"
# Catalog errors worth retrying when opening: another process is initializing it.
_TRANSIENT = ("database is locked", "Conflict", "conflict")
_OPEN_RETRY_S = 15.0
# DuckLake caches which inlined-data tables a table has per schema version, and a flush
# on another attach (maintenance) may drop one of them without a new schema version:
# this attach then fails every statement on that table until it attaches again
# (duckdb/ducklake#1305, #1413). ``stale_inlined_table`` recognises the error, in
# DuckDB's words ("Table with name ... does not exist") and in the catalog's own
# (SQLite: "no such table: ..."; PostgreSQL: 'relation "..." does not exist'). A read
# racing the flush itself may instead find its catalog transaction aborted by it.
_STALE_INLINED_TABLE = re.compile(
    r'ducklake_inlined_data_\w+"? does not exist'
    r'|no such table: [\w."]*ducklake_inlined_data_\w+'
    r"|Failed to read inlined data from DuckLake: Current transaction is aborted"
)
# How long a catalog write waits for another connection's SQLite write lock.
SQLITE_BUSY_TIMEOUT_MS = 5000
# Read-write default; it keeps the materializer's RSS bounded whatever the backlog
# (design target: 1 GiB). Without it DuckDB's buffer manager may take 80% of RAM.
# The materializer passes its own limit and thread count (MaterializerOptions).
WRITER_MEMORY_LIMIT_MB = 256
WRITER_ALLOCATOR_FLUSH_MB = 16


class Lake:
    """A DuckDB connection with the lake attached as catalog ``lake``.

    Built by :func:`open_lake`; close it (or use it as a context manager) when done.

    Attributes:
        con: the DuckDB connection (only code inside ``runstream.lake`` touches it).
        read_only: whether the catalog was attached read-only.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self.con = con
        self.read_only = read_only

    def snapshot_id(self) -> int:
        """Return the id of the newest lake snapshot visible to this connection."""
        row = self.con.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        self.con.close()

    def interrupt(self) -> None:
        """Abort the statement running on this connection (from another thread)."""
        self.con.interrupt()

    def __enter__(self) -> Lake:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def is_postgres_catalog(catalog: str) -> bool:
    """Tell whether ``catalog`` names a PostgreSQL catalog (``postgres:...``)."""
    return catalog.startswith("postgres:")


def ensure_wal(catalog_file: Path) -> None:
    """Put the SQLite catalog in WAL mode and check that the mode stuck.

    Without WAL a reader in another process stalls while the materializer commits.

    Raises:
        LakeError: the file cannot be opened or refuses WAL mode.
    """
    catalog_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sqlite3.connect(catalog_file) as db:
            db.execute("PRAGMA journal_mode=WAL")
            mode = db.execute("PRAGMA journal_mode").fetchone()
        db.close()
    except sqlite3.Error as exc:
        raise LakeError(f"cannot open lake catalog {catalog_file}: {exc}") from exc
    if not mode or str(mode[0]).lower() != "wal":
        raise LakeError(f"lake catalog {catalog_file} refused WAL mode (got {mode!r})")


def _s3_secret_sql(settings: Settings) -> tuple[str, list[Any]]:
    url = urlsplit(settings.s3_url)
    endpoint = url.netloc
    use_ssl = "true" if url.scheme == "https" else "false"
    # CREATE SECRET takes no prepared parameters; values are quoted literals instead.
    sql = (
        "CREATE OR REPLACE SECRET runstream_s3 (TYPE s3, "
        f"KEY_ID {_lit(settings.s3_access_key)}, SECRET {_lit(settings.s3_secret_key)}, "
        f"ENDPOINT {_lit(endpoint)}, URL_STYLE 'path', USE_SSL {use_ssl}, "
        f"REGION {_lit(settings.s3_region)})"
    )
    return sql, []


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _attach_sql(settings: Settings, *, read_only: bool) -> str:
    catalog = settings.catalog
    target = catalog if is_postgres_catalog(catalog) else f"sqlite:{catalog}"
    options: list[str] = []
    if not is_postgres_catalog(catalog):
        # SQLite answers "database is locked" at once by default; with maintenance
        # committing beside the writer, a commit waits for the other's lock instead
        # (measured: 16 of 69 batch commits failed that way without it).
        options.append(f"META_BUSY_TIMEOUT {SQLITE_BUSY_TIMEOUT_MS}")
    if read_only:
        options.append("READ_ONLY")
    else:
        data_path = settings.data_path
        if not data_path.endswith("/"):
            data_path += "/"
        options.append(f"DATA_PATH {_lit(data_path)}")
    return f"ATTACH {_lit('ducklake:' + target)} AS {CATALOG} ({', '.join(options)})"


def open_lake(
    settings: Settings,
    *,
    read_only: bool,
    memory_limit_mb: int | None = None,
    threads: int | None = None,
) -> Lake:
    """Open a DuckDB connection with the lake attached as catalog ``lake``.

    Read-write (the materializer) creates the catalog, the data folder and every
    table when missing. Read-only (the query service) requires an existing lake.
    Two processes creating the same new lake at once race on the catalog; the
    loser retries for a few seconds.

    Args:
        settings: this process's settings (catalog, data path, S3 credentials).
        read_only: attach the catalog read-only.
        memory_limit_mb: DuckDB's ``memory_limit`` (default: ``WRITER_MEMORY_LIMIT_MB``
            read-write, DuckDB's own read-only); compaction spills past it to disk.
        threads: DuckDB's ``threads`` (default: DuckDB's own, one per core).

    Returns:
        The open lake; the caller closes it.

    Raises:
        LakeError: the catalog is missing (read-only), an extension does not load,
            or DuckLake refuses to attach.
    """
    deadline = time.monotonic() + _OPEN_RETRY_S
    delay = 0.05
    while True:
        try:
            return _open_lake(
                settings, read_only=read_only, memory_limit_mb=memory_limit_mb, threads=threads
            )
        except LakeError as exc:
            transient = any(m in str(exc) for m in _TRANSIENT)
            if not transient or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _open_lake(
    settings: Settings, *, read_only: bool, memory_limit_mb: int | None, threads: int | None
) -> Lake:
    catalog = settings.catalog
    postgres = is_postgres_catalog(catalog)
    if not postgres:
        path = Path(catalog)
        if read_only and not path.is_file():
            raise LakeError(
                f"lake catalog {path} does not exist yet: start the materializer "
                "(runstream materialize) to create it"
            )
        # WAL mode is stored in the file, so it is set once, when the catalog is new.
        # Opening an existing catalog with Python's own sqlite3 while a DuckDB in this
        # process holds it is unsafe: closing that second handle drops the POSIX locks
        # of the first (two SQLite libraries in one process), which crashed a reader
        # with SIGBUS in a test. So an existing file is never touched outside DuckDB.
        if not read_only and not path.exists():
            ensure_wal(path)
    data_on_s3 = settings.data_path.startswith("s3://")
    if not read_only and not data_on_s3:
        Path(settings.data_path).mkdir(parents=True, exist_ok=True)

    con = duckdb.connect(":memory:")
    try:
        exts = [DUCKLAKE, POSTGRES if postgres else SQLITE]
        if data_on_s3:
            exts.append(HTTPFS)
        load_extensions(con, *exts)
        if data_on_s3:
            con.execute(*_s3_secret_sql(settings))
        if not read_only:
            # Compaction sorts more than fits in the memory limit: let it spill to disk.
            spill = settings.home / "duckdb-tmp"
            spill.mkdir(parents=True, exist_ok=True)
            con.execute(f"SET temp_directory = {_lit(str(spill))}")
            # The writer reads back little; caching remote Parquet in the buffer pool
            # only competed with compaction for the memory limit.
            con.execute("SET enable_external_file_cache = false")
            con.execute("SET preserve_insertion_order = false")
            # DuckDB's allocator otherwise keeps up to 128 MiB of freed batch memory
            # (measured: about 20 MB less RSS between batches at 16 MB).
            con.execute(f"SET allocator_flush_threshold = '{WRITER_ALLOCATOR_FLUSH_MB}MB'")
            # The inlining limit is this session's setting, not an ATTACH option (which
            # would override it): the writer turns it off around inserts too large to
            # inline (``LakeWriter`` metric batches).
            con.execute(f"SET {INLINING_SETTING} = {INLINING_ROW_LIMIT}")
        if not read_only:
            memory_limit_mb = memory_limit_mb or WRITER_MEMORY_LIMIT_MB
        if memory_limit_mb is not None:
            con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(_attach_sql(settings, read_only=read_only))
        if read_only:
            con.execute(f"USE {CATALOG}")
    except duckdb.Error as exc:
        con.close()
        raise LakeError(f"cannot open the lake (catalog {catalog}): {exc}") from exc
    except BaseException:
        con.close()
        raise
    lake = Lake(con, read_only=read_only)
    if not read_only:
        try:
            create_tables(lake)
        except BaseException:
            lake.close()
            raise
    return lake


def stale_inlined_table(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckLake's stale inlined-table error (healed by a new attach)."""
    return bool(_STALE_INLINED_TABLE.search(str(exc)))


def attach_read_only(lake: Lake, settings: Settings, alias: str) -> None:
    """Attach another lake (``settings``' catalog) read-only to ``lake`` as ``alias``.

    ``rebuild`` uses it to compare a rebuilt lake with the live one in one query.

    Raises:
        LakeError: the other lake does not exist or cannot be attached.
    """
    catalog = settings.catalog
    postgres = is_postgres_catalog(catalog)
    if not postgres and not Path(catalog).is_file():
        raise LakeError(f"lake catalog {catalog} does not exist")
    target = catalog if postgres else f"sqlite:{catalog}"
    try:
        load_extensions(lake.con, POSTGRES if postgres else SQLITE, HTTPFS)
        con = lake.con
        con.execute(_s3_secret_sql(settings)[0].replace("runstream_s3", f"runstream_s3_{alias}"))
        con.execute(f"ATTACH {_lit('ducklake:' + target)} AS {alias} (READ_ONLY)")
    except duckdb.Error as exc:
        raise LakeError(f"cannot attach lake {catalog} as {alias}: {exc}") from exc


def create_tables(lake: Lake) -> None:
    """Create every table of :mod:`runstream.lake.tables` that is missing, in one transaction.

    Also inserts experiment ``0`` (``Default``), which always exists.

    Raises:
        LakeError: DuckLake refused the DDL.
    """
    con = lake.con
    try:
        existing = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [CATALOG]
            ).fetchall()
        }
        missing = [t for t in TABLES if t.name not in existing]
        _add_missing_columns(con, [t for t in TABLES if t.name in existing])
        if not missing:
            return
        con.execute("BEGIN")
        for table in missing:
            for stmt in create_table_sql(table, CATALOG):
                con.execute(stmt)
        if any(t.name == "experiments" for t in missing):
            con.execute(
                f"INSERT INTO {CATALOG}.experiments VALUES (?, ?, NULL, 'active', 0, 0)",
                [DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME],
            )
        con.execute("COMMIT")
        # DuckLake refuses options on tables created in the same transaction.
        for table in missing:
            for stmt in table_option_sql(table, CATALOG):
                con.execute(stmt)
    except duckdb.Error as exc:
        _rollback(con)
        raise LakeError(f"cannot create the lake tables: {exc}") from exc


def _add_missing_columns(con: duckdb.DuckDBPyConnection, tables: list[Table]) -> None:
    """Add the columns a newer release defined to a lake an older one created.

    Columns are only ever appended (nullable), so older rows read as NULL there.
    """
    present = set(
        con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ?",
            [CATALOG],
        ).fetchall()
    )
    for table in tables:
        for name, typ in table.columns:
            if (table.name, name) not in present:
                con.execute(
                    f"ALTER TABLE {CATALOG}.{table.name} ADD COLUMN {quote_ident(name)} {typ}"
                )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # no transaction was open
        con.execute("ROLLBACK")


__all__ = [
    "CATALOG",
    "INLINING_ROW_LIMIT",
    "INLINING_SETTING",
    "WRITER_MEMORY_LIMIT_MB",
    "Lake",
    "attach_read_only",
    "create_tables",
    "ensure_wal",
    "is_postgres_catalog",
    "open_lake",
    "stale_inlined_table",
]
