"""The directory's change check over the lake's ``auth_audit`` (DuckLake on a local folder)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lake_support import local_lake_settings

from runstream.auth.store import directory_version, load_audit
from runstream.lake.connection import CATALOG, Lake, open_lake


class _Rows:
    def __init__(self, lake: Lake) -> None:
        self._lake = lake

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._lake.con.execute(sql, list(params)).fetchall()


def _audit(lake: Lake, event_id: str, at: int, action: str) -> None:
    lake.con.execute(
        f"INSERT INTO {CATALOG}.auth_audit VALUES (?, ?, 'alice', ?, 'x')", [event_id, at, action]
    )


def test_registry_changes_are_in_the_audit_but_do_not_reload_the_directory(
    tmp_path: Path,
) -> None:
    settings = local_lake_settings(tmp_path)
    with open_lake(settings, read_only=False) as lake:
        lake.con.execute(f"USE {CATALOG}")
        rows = _Rows(lake)
        _audit(lake, "e1", 1, "permission_set")
        before = directory_version(rows)
        _audit(lake, "e2", 2, "registry.stage_changed")
        _audit(lake, "e3", 3, "registry.alias_set")
        assert directory_version(rows) == before
        assert [r["action"] for r in load_audit(rows, 0, 10)] == [
            "registry.alias_set",
            "registry.stage_changed",
            "permission_set",
        ]
        _audit(lake, "e4", 4, "token_revoked")
        assert directory_version(rows) != before
