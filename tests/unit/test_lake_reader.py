"""The lake reader's read transactions (DuckLake on a local folder, SQLite catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lake_support import local_lake_settings

from runstream.config import Settings
from runstream.errors import LakeError, SqlRejectedError, StatementError
from runstream.lake.connection import CATALOG, Lake, open_lake, stale_inlined_table
from runstream.lake.reader import DuckLakeReader
from runstream.query.read.session import LakeAccess


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return local_lake_settings(tmp_path)


@pytest.fixture
def writer(local_settings: Settings) -> Iterator[Lake]:
    with open_lake(local_settings, read_only=False) as opened:
        yield opened


@pytest.fixture
def reader(local_settings: Settings, writer: Lake) -> Iterator[DuckLakeReader]:
    opened = DuckLakeReader(local_settings)
    opened.start()
    yield opened
    opened.close()


def _add_experiment(writer: Lake, experiment_id: str) -> None:
    writer.con.execute(
        f"INSERT INTO {CATALOG}.experiments VALUES (?, ?, NULL, 'active', 0, 0)",
        [experiment_id, "e" + experiment_id],
    )


COUNT = "SELECT count(*) FROM experiments WHERE experiment_id IN ('1', '2')"


def test_a_transaction_reads_one_snapshot_while_the_writer_commits(
    reader: DuckLakeReader, writer: Lake
) -> None:
    _add_experiment(writer, "1")
    with reader.transaction() as tx:
        assert tx.snapshot_id == 0
        first = tx.query(COUNT)
        _add_experiment(writer, "2")
        second = tx.query(COUNT)
        assert first.rows == second.rows == [(1,)]
        assert first.snapshot_id == second.snapshot_id == tx.snapshot_id > 0
    after = reader.query(COUNT)
    assert after.rows == [(2,)]
    assert after.snapshot_id > first.snapshot_id


def test_cursors_are_reused_and_a_failed_statement_does_not_poison_the_pool(
    reader: DuckLakeReader, writer: Lake
) -> None:
    _add_experiment(writer, "1")
    reader.query(COUNT)
    pooled = list(reader._pool)
    assert len(pooled) == 1
    reader.query(COUNT)
    assert reader._pool == pooled
    with pytest.raises(LakeError):
        reader.query("SELECT * FROM no_such_table")
    assert reader.query(COUNT).rows == [(1,)]
    with reader.transaction() as tx:
        with pytest.raises(LakeError):
            tx.query("SELECT * FROM no_such_table")
        assert tx.query(COUNT).rows == [(1,)]
    with pytest.raises(LakeError):
        tx.query(COUNT)


def test_a_request_session_keeps_its_snapshot_after_it_ends(
    local_settings: Settings, writer: Lake
) -> None:
    _add_experiment(writer, "1")
    access = LakeAccess(local_settings, reader_factory=lambda s: _started(s))
    try:
        with access.session() as session:
            assert session.fetch(COUNT) == [(1,)]
            _add_experiment(writer, "2")
            assert session.fetch(COUNT) == [(1,)]
            snapshot = session.snapshot_id
        assert session.snapshot_id == snapshot > 0
        with access.session() as session:
            assert session.fetch(COUNT) == [(2,)]
            assert session.snapshot_id > snapshot
    finally:
        access.close()


def test_a_statement_the_database_refuses_is_a_statement_error_not_a_lake_failure(
    reader: DuckLakeReader, local_settings: Settings, writer: Lake
) -> None:
    with pytest.raises(StatementError) as refused:
        reader.query("SELECT * FROM no_such_table")
    assert "no_such_table" in refused.value.reason
    assert "\n" not in refused.value.reason
    access = LakeAccess(local_settings, reader_factory=lambda s: _started(s))
    try:
        with access.session() as session, pytest.raises(SqlRejectedError, match="no_such_"):
            session.fetch_table("SELECT * FROM no_such_table", max_rows=5, user_sql=True)
        with access.session() as session, pytest.raises(StatementError):
            session.fetch_table("SELECT * FROM no_such_table", max_rows=5)
    finally:
        access.close()


def _started(settings: Settings) -> DuckLakeReader:
    reader = DuckLakeReader(settings)
    reader.start()
    return reader


@pytest.mark.parametrize(
    "message",
    [
        "Catalog Error: Table with name ducklake_inlined_data_24_1 does not exist!",
        'Failed to read inlined data from DuckLake: Failed to prepare query "SELECT "run_id" '
        'FROM "ducklake_inlined_data_11_1"": no such table: ducklake_inlined_data_11_1',
        'ERROR:  relation "public.ducklake_inlined_data_7_2" does not exist',
        "TransactionContext Error: Failed to read inlined data from DuckLake: Current "
        "transaction is aborted (please ROLLBACK)",
    ],
)
def test_the_stale_inlined_table_error_is_known_in_duckdbs_and_each_catalogs_words(
    message: str,
) -> None:
    assert stale_inlined_table(LakeError(f"lake query failed: {message}"))


@pytest.mark.parametrize(
    "message",
    ["Table with name runs does not exist!", "no such table: ducklake_snapshot_x"],
)
def test_other_missing_tables_are_not_taken_for_the_stale_inlined_table(message: str) -> None:
    assert not stale_inlined_table(LakeError(message))


def test_a_flush_that_drops_an_inlined_table_heals_by_attaching_again(
    reader: DuckLakeReader, writer: Lake
) -> None:
    # An insert, a new column and another insert give the table two inlined-data
    # tables; the flush empties both and drops the older without a new schema version,
    # which leaves the reader's DuckLake cache naming a table that is gone.
    writer.con.execute(f"CREATE TABLE {CATALOG}.growing (a INT)")
    writer.con.execute(f"INSERT INTO {CATALOG}.growing VALUES (1)")
    writer.con.execute(f"ALTER TABLE {CATALOG}.growing ADD COLUMN b INT")
    writer.con.execute(f"INSERT INTO {CATALOG}.growing VALUES (2, 2)")
    assert reader.query("SELECT count(*) FROM growing").rows == [(2,)]
    with reader.transaction() as in_flight:
        assert in_flight.query(COUNT).rows == [(0,)]
        writer.con.execute(
            f"CALL ducklake_flush_inlined_data('{CATALOG}', table_name => 'growing')"
        )
        # Without a fresh attach every later read of the table fails, for good.
        for _ in range(3):
            assert reader.query("SELECT count(*) FROM growing").rows == [(2,)]
        assert reader.reattached == 1
        # A read that was running on the old attach finishes there.
        assert in_flight.query(COUNT).rows == [(0,)]
    writer.con.execute(f"INSERT INTO {CATALOG}.growing VALUES (3, 3)")
    assert reader.query("SELECT sum(a) FROM growing").rows == [(6,)]
    assert reader.reattached == 1
