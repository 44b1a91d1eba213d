"""Searches answered from the in-memory run index, over a real lake on the real S3.

The same searches go to a service with the index (``search_index_max_age_s=1``)
and to one without it (``0``: always SQL); the answers must be equal, and runs
committed later must show up within the index's maximum age.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_query_helpers import NOW, fill_lake, per_test_settings, rid, write_rows

from runstream.config import Settings
from runstream.query.http.app import create_app

SEARCHES: list[dict[str, Any]] = [
    {},
    {"filter": "metrics.acc > 0.8", "order_by": ["metrics.acc DESC"]},
    {"filter": "params.lr = '0.1' OR tags.team IS NULL", "order_by": ["params.model"]},
    {"filter": "attributes.status != 'FAILED'", "view_type": "ALL"},
    {"order_by": ["metrics.loss ASC"], "max_results": 2},
    {"filter": "params.model LIKE 'c\\\\%'"},  # a backslash: the index hands over to SQL
]


@pytest.fixture(scope="module")
def lake(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("run-index"))
    fill_lake(settings, history_points=10)
    return settings


@pytest.fixture(scope="module")
def clients(lake: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    indexed = dataclasses.replace(lake, search_index_max_age_s=1.0)
    plain = dataclasses.replace(lake, search_index_max_age_s=0.0)
    with TestClient(create_app(indexed)) as a, TestClient(create_app(plain)) as b:
        yield a, b


def page(client: TestClient, body: dict[str, Any]) -> tuple[list[Any], Any, int]:
    resp = client.post("/api/v1/runs/search", json={"experiment_ids": ["1", "2"], **body})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    return data["runs"], data.get("next_page_token"), int(resp.headers["x-runstream-snapshot"])


def index_builds(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("runstream_run_index_builds_total "):
            return float(line.split()[1])
    return 0.0


def wait_for_index(client: TestClient) -> None:
    """Return once the service's next search will be answered from a fresh index."""
    cache = client.app.state.runstream.lake.run_index  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while cache.get() is None:
        assert time.monotonic() < deadline, "no fresh run index in 30 s"
        time.sleep(0.05)


@pytest.mark.parametrize("body", SEARCHES)
def test_indexed_searches_equal_sql_searches(
    clients: tuple[TestClient, TestClient], body: dict[str, Any]
) -> None:
    indexed, plain = clients
    wait_for_index(indexed)
    runs, token, snapshot = page(indexed, body)
    assert index_builds(indexed) >= 1
    expected, expected_token, expected_snapshot = page(plain, body)
    assert runs == expected and snapshot == expected_snapshot
    assert (token is None) == (expected_token is None)
    while token is not None:  # the rest of the pages, each token on the other service
        runs, token, _ = page(plain, {**body, "page_token": token})
        expected, expected_token, _ = page(plain, {**body, "page_token": expected_token})
        assert runs == expected


def test_a_new_run_is_found_within_the_maximum_age(
    lake: Settings, clients: tuple[TestClient, TestClient]
) -> None:
    indexed, _ = clients
    wait_for_index(indexed)
    _, _, before = page(indexed, {})
    run = (rid(77), "1", "late", "bob", "RUNNING", NOW + 9999, None, "active",
           "train.py", "LOCAL", None, None, None, None)  # fmt: skip
    write_rows(lake, {"runs": [run], "params": [(rid(77), "lr", "0.7")]})
    written = time.monotonic()
    body = {"filter": "params.lr = '0.7'"}
    while True:
        runs, _, snapshot = page(indexed, body)
        if runs:
            break
        assert time.monotonic() - written < 10, "the new run was not found in 10 s"
        time.sleep(0.05)
    assert snapshot > before
    assert [r["info"]["run_name"] for r in runs] == ["late"]
    # max age 1 s, plus one rebuild of this small lake and the polling interval
    assert time.monotonic() - written < 5
