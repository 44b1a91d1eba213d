"""The lake's table definitions agree with schemas/lake.md, contracts.md and core rows."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from runstream.core.rows import ENTITY_ROWS
from runstream.lake.tables import TABLES, TABLES_BY_NAME, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_schemas_lake_md_is_generated_from_the_definitions() -> None:
    text = (ROOT / "schemas" / "lake.md").read_text()
    assert text == render_markdown(), (
        "schemas/lake.md is stale: run python -m runstream.lake.tables > schemas/lake.md"
    )


def _contract_tables() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "contracts.md").read_text()
    section = text.split("## Lake tables", 1)[1]
    found: dict[str, list[str]] = {}
    for name, cols in re.findall(r"`(\w+)\(([^`]*)\)`", section):
        found[name] = [c.strip().split(" ")[0] for c in re.sub(r"\([^)]*\)", "", cols).split(",")]
    return found


def test_every_table_of_the_contract_exists_with_its_columns_in_order() -> None:
    contract = _contract_tables()
    assert set(contract) == {t.name for t in TABLES}
    for name, columns in contract.items():
        assert list(TABLES_BY_NAME[name].column_names) == columns, name


def test_core_rows_have_the_columns_of_their_tables() -> None:
    for table, row_type in ENTITY_ROWS.items():
        fields = tuple(f.name for f in dataclasses.fields(row_type))
        assert fields == TABLES_BY_NAME[table].column_names, table


def test_upsert_keys_and_sort_columns_are_columns() -> None:
    for table in TABLES:
        assert set(table.key) <= set(table.column_names)
        assert set(table.sorted_by) <= set(table.column_names)
    assert TABLES_BY_NAME["metrics"].sorted_by == ("run_id", "key", "step")
