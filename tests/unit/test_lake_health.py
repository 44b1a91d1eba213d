"""``/readyz``'s view of the materializers: a member owning no partition has no lag yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runstream.query.read.health import lake_health


class _Rows:
    """A read session answering the two health queries with fixed rows."""

    def __init__(self, members: list[tuple[Any, ...]]) -> None:
        self.members = members

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [(12, 1_700_000_000_000)] if "snapshots()" in sql else self.members


def _member(member_id: str, lag_json: str | None) -> tuple[Any, ...]:
    return (member_id, 1_700_000_000_000, 1.0, 2.0, 3.0, 0, lag_json)


def test_a_member_that_has_not_joined_its_group_reports_no_lag() -> None:
    health = lake_health(_Rows([_member("joining", "{}")]))  # type: ignore[arg-type]
    assert [m.lag for m in health.materializers] == [None]
    assert health.lag_total is None


def test_lag_sums_the_partitions_of_every_member_that_owns_some() -> None:
    members = [
        _member("a", '{"t:0": 3, "t:1": 4}'),
        _member("b", '{"t:2": 0}'),
        _member("c", "{}"),
        _member("d", "not json"),
    ]
    health = lake_health(_Rows(members))  # type: ignore[arg-type]
    assert [m.lag for m in health.materializers] == [7, 0, None, None]
    assert health.lag_total == 7 and health.snapshot_id == 12
