"""Read sessions over :class:`runstream.lake.reader.LakeReader`, opened lazily.

The query service may start before the materializer has created the lake, so
the reader is started on first use, and every request until then gets a
:class:`~runstream.errors.LakeError` (HTTP 503) that says what to do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runstream.config import Settings
from runstream.errors import LakeError, QueryTimeoutError, SqlRejectedError
from runstream.lake.connection import CATALOG
from runstream.lake.reader import DuckLakeReader, LakeReader
from runstream.query.read.index_cache import RunIndexCache
from runstream.query.read.port import ResultTable, Row
from runstream.query.search.index import RunIndex

# DuckDB's exceptions for statements it cannot parse, bind or is not allowed to
# run: the user's SQL is wrong, the lake is fine. Matched by name because only
# runstream.lake may import duckdb.
_USER_ERROR_FAMILIES = frozenset(
    {
        "ProgrammingError",
        "DataError",
        "PermissionException",
        "InvalidInputException",
        "NotImplementedException",
    }
)


def _user_error(exc: LakeError) -> bool:
    cause = exc.__cause__
    return cause is not None and any(
        klass.__name__ in _USER_ERROR_FAMILIES for klass in type(cause).__mro__
    )


class ReaderSession:
    """A :class:`~runstream.query.read.port.ReadSession` with one deadline for all its reads.

    When the reader can open a read transaction (``reader.transaction()``), every
    statement of the session runs in it: one pooled cursor, one snapshot looked up
    once, and DuckLake's catalog read once for all statements. Otherwise each
    statement runs on its own and the session reports the first one's snapshot.
    :meth:`close` ends the transaction. A session opened after a read-your-writes
    wait (``min_snapshot``) never answers from a run index older than that snapshot;
    its statements read the newest snapshot, which is at least as new.
    """

    def __init__(
        self,
        reader: LakeReader,
        timeout_s: float,
        run_index: RunIndexCache | None = None,
        min_snapshot: int = 0,
    ) -> None:
        self._reader = reader
        self._deadline = time.monotonic() + timeout_s
        self._snapshot = 0
        self._tx: Any = None
        self._run_index = run_index
        self._min_snapshot = min_snapshot

    @property
    def snapshot_id(self) -> int:
        """The snapshot of the first read (0 before any read)."""
        return self._snapshot

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise QueryTimeoutError("the request ran past its time limit")
        return remaining

    def _target(self) -> Any:
        if self._tx is None:
            begin = getattr(self._reader, "transaction", None)
            self._tx = begin() if begin is not None else self._reader
        return self._tx

    def run_index(self) -> RunIndex | None:
        """A fresh in-memory index of the runs, or None (then search the lake with SQL).

        Before any other read of the session, using it makes the index's snapshot
        the one this session reports.
        """
        index = self._run_index.get() if self._run_index is not None else None
        if index is not None and index.snapshot_id < self._min_snapshot:
            return None
        if index is not None and not self._snapshot:
            self._snapshot = index.snapshot_id
        return index

    def close(self) -> None:
        """End the read transaction, if one was opened; safe to call twice."""
        tx, self._tx = self._tx, None
        if tx is not None and tx is not self._reader:
            tx.close()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; return every row."""
        result = self._target().query(sql, params, timeout_s=self._remaining())
        self._snapshot = self._snapshot or result.snapshot_id
        return result.rows  # type: ignore[no-any-return]

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; return a ``pyarrow.Table`` (no Python object per value)."""
        result = self._target().query_arrow(sql, params, timeout_s=self._remaining())
        self._snapshot = self._snapshot or result.snapshot_id
        return result.table

    def fetch_table(
        self, sql: str, params: Sequence[Any] = (), *, max_rows: int, user_sql: bool = False
    ) -> ResultTable:
        """Run one statement; keep at most ``max_rows`` rows."""
        try:
            result = self._target().query(
                sql, params, timeout_s=self._remaining(), max_rows=max_rows
            )
        except QueryTimeoutError:
            raise
        except LakeError as exc:
            if user_sql and _user_error(exc):
                message = str(exc.__cause__).strip().splitlines()[0]
                raise SqlRejectedError(message) from exc
            raise
        self._snapshot = self._snapshot or result.snapshot_id
        return ResultTable(list(result.columns), result.rows, result.truncated)


class LakeAccess:
    """The process's lake reader, started on first use; the constructor opens nothing.

    Args:
        settings: this process's settings.
        reader_factory: builds the reader (tests may pass their own); it must be
            safe to share between threads.
        index_searches: keep an in-memory run index for searches (the long-running
            service does, per ``settings.search_index_max_age_s``; one-shot commands
            do not, since they would only wait for a build at exit).
    """

    def __init__(
        self,
        settings: Settings,
        reader_factory: Callable[[Settings], LakeReader] | None = None,
        *,
        index_searches: bool = False,
    ) -> None:
        self._settings = settings
        self._factory = reader_factory or _start_duck_reader
        self._reader: LakeReader | None = None
        self._lock = threading.Lock()
        self.timeout_s = settings.sql_timeout_s
        max_age = settings.search_index_max_age_s
        self.run_index = (
            RunIndexCache(self.reader, max_age) if index_searches and max_age > 0 else None
        )

    def start(self) -> bool:
        """Try to open the lake now; False (and still usable later) when it is not there yet."""
        try:
            self.reader()
        except LakeError:
            return False
        return True

    def reader(self) -> LakeReader:
        """The started reader.

        Raises:
            LakeError: the lake does not exist yet or cannot be attached.
        """
        with self._lock:
            if self._reader is None:
                self._reader = self._factory(self._settings)
            return self._reader

    @contextmanager
    def session(
        self, timeout_s: float | None = None, *, min_snapshot: int = 0
    ) -> Iterator[ReaderSession]:
        """A read session whose reads share ``timeout_s`` (the settings' SQL timeout).

        ``min_snapshot``: the session reads no snapshot older than this one.
        """
        session = ReaderSession(
            self.reader(), timeout_s or self.timeout_s, self.run_index, min_snapshot
        )
        try:
            yield session
        finally:
            session.close()

    def close(self) -> None:
        """Close the reader; safe to call twice."""
        if self.run_index is not None:
            self.run_index.wait_idle(30.0)
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


# Defense in depth behind the SQL guard, for the whole DuckDB instance of the
# reader: only the lake's own data folder stays readable, and no statement can
# read other files or URLs, scan Python objects by name, or undo these settings.
LOCKDOWN = (
    "SET enable_external_access = false",
    "SET python_enable_replacements = false",
    "SET lock_configuration = true",
)
_STORED_DATA_PATH = (
    "SELECT value FROM __ducklake_metadata_{catalog}.ducklake_metadata WHERE key = 'data_path'"
)


def _data_paths(reader: LakeReader, settings: Settings) -> list[str]:
    """The lake's data folder as the catalog records it (it wins) and as configured."""
    paths = [settings.data_path]
    rows = reader.query(_STORED_DATA_PATH.format(catalog=CATALOG)).rows
    paths += [str(r[0]) for r in rows if r[0]]
    out = []
    for path in paths:
        if not path.startswith(("s3://", "/")):
            path = str(Path(path).resolve())
        out.append(path if path.endswith("/") else path + "/")
    return list(dict.fromkeys(out))


def lock_down(reader: LakeReader, settings: Settings) -> None:
    """Allow the lake's data folder only, then switch off every other file and URL access.

    Raises:
        LakeError: a setting was refused.
    """
    allowed = ", ".join("'" + p.replace("'", "''") + "'" for p in _data_paths(reader, settings))
    reader.query(f"SET allowed_directories = [{allowed}]")
    for statement in LOCKDOWN:
        reader.query(statement)


def _start_duck_reader(settings: Settings) -> LakeReader:
    reader = DuckLakeReader(settings)
    try:
        reader.start()
        lock_down(reader, settings)
    except LakeError as exc:
        reader.close()
        if "catalog" in str(exc) and "does not exist" in str(exc):
            raise
        raise LakeError(f"cannot open the lake read-only and locked down: {exc}") from exc
    except Exception as exc:  # a failure of the lake package itself: still a lake failure
        reader.close()
        raise LakeError(f"cannot open the lake: {exc}") from exc
    return reader


__all__ = ["LakeAccess", "ReaderSession"]
