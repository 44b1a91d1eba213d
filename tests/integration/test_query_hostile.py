"""Hostile input never gets a 500: fuzzed filters, order_by, page tokens, paths and SQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_query_helpers import fill_lake, per_test_settings, rid

from runstream.config import Settings
from runstream.errors import FilterParseError, ValidationError
from runstream.query.http.app import create_app
from runstream.query.search.planner import plan_search
from runstream.query.search.sql import build_search_sql

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MARK = "zq"  # a marker user text carries, to spot it in generated SQL

fields = st.sampled_from(
    [
        "metrics.acc",
        "metric.`train_loss`",
        "metrics.`acc`.min",
        "metrics.`loss`.count",
        "params.lr",
        'params."model"',
        "param.`my key`",
        "tags.team",
        "tag.`note`",
        "attributes.status",
        "run_name",
        "attr.start_time",
        "created",
        "end_time",
        "run_id",
        "`Run name`",
        "user_id",
        "lifecycle_stage",
        "datasets.name",
        "metrics.",
        "nope.x",
        "",
        "metrics.a.b.c",
        "params.`",
        "tags.'x'",
    ]
)
ops = st.sampled_from(
    [
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "LIKE",
        "ILIKE",
        "IN",
        "NOT IN",
        "IS NULL",
        "IS NOT NULL",
        "==",
        "<>",
        "~",
        "",
    ]
)
values = st.one_of(
    st.sampled_from(
        [
            "0.5",
            "-1e300",
            "1e999",
            "NaN",
            "'0.1'",
            "'%c%'",
            '"cv"',
            "('a', 'b')",
            "('x',)",
            "()",
            "'it''s'",
            "'\\''",
            f"'{MARK}'",
            "1AND",
            "''",
            "'",
            "9" * 40,
        ]
    ),
    st.text(max_size=20).map(lambda t: "'" + t.replace("'", "''") + "'"),
)
comparison = st.builds(lambda f, o, v: f"{f} {o} {v}", fields, ops, values)


@st.composite
def filters(draw: st.DrawFn) -> str:
    parts = draw(st.lists(comparison, min_size=1, max_size=5))
    joiners = draw(
        st.lists(
            st.sampled_from([" AND ", " OR ", " and ", " ", " AND ("]),
            min_size=len(parts),
            max_size=len(parts),
        )
    )
    text = "".join(j + p for j, p in zip(joiners, parts, strict=True))[5:]
    if draw(st.booleans()):
        text = "(" * draw(st.integers(0, 40)) + text + ")" * draw(st.integers(0, 40))
    return text


@pytest.fixture(scope="module")
def client(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings_ = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-hostile"))
    fill_lake(settings_, history_points=200)
    with TestClient(create_app(settings_)) as test_client:
        yield test_client


def _ok_or_400(status: int, text: str) -> None:
    assert status in (200, 400), text


@FUZZ
@given(st.one_of(filters(), st.text(max_size=300)))
def test_fuzzed_filters_are_answered_or_refused_never_crash(client: TestClient, text: str) -> None:
    resp = client.post("/api/v1/runs/search", json={"experiment_ids": ["1", "2"], "filter": text})
    _ok_or_400(resp.status_code, resp.text)
    if resp.status_code == 400:
        assert resp.json()["error"]["message"]
    mlflow = client.post(
        "/api/2.0/mlflow/runs/search", json={"experiment_ids": ["1"], "filter": text}
    )
    _ok_or_400(mlflow.status_code, mlflow.text)


@FUZZ
@given(filters())
def test_user_text_never_becomes_sql(text: str) -> None:
    try:
        search = plan_search(["1"], text, [f"params.`{MARK}` DESC"])
    except (FilterParseError, ValidationError):
        return
    sql, params = build_search_sql(search)
    assert MARK not in sql.lower()
    assert all(isinstance(p, str | int | float | list) for p in params)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    "metrics.acc DESC",
                    "params.lr",
                    "attributes.start_time ASC",
                    "metrics.`acc`.max",
                    "tags.team DESC NULLS",
                    "metrics.acc; DROP TABLE runs",
                    "run_id",
                ]
            ),
        ),
        max_size=40,
    ),
    st.one_of(st.none(), st.integers(-5, 10**12)),
)
def test_fuzzed_order_by_and_sizes(
    client: TestClient, order_by: list[str], size: int | None
) -> None:
    body: dict[str, object] = {"experiment_ids": ["1"], "order_by": order_by}
    if size is not None:
        body["max_results"] = size
    resp = client.post("/api/v1/runs/search", json=body)
    _ok_or_400(resp.status_code, resp.text)


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@FUZZ
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: base64.urlsafe_b64encode(b).decode()),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=3), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda c: _token({"v": 1, "q": "x", "c": c})),
    )
)
def test_fuzzed_page_tokens(client: TestClient, token: str) -> None:
    for path, body in (
        ("/api/v1/runs/search", {"experiment_ids": ["1"], "page_token": token}),
        ("/api/2.0/mlflow/experiments/search", {"page_token": token}),
        ("/api/2.0/mlflow/registered-models/search", {"page_token": token}),
    ):
        resp = (
            client.post(path, json=body)
            if "registered" not in path
            else client.get(path, params={"page_token": token})
        )
        _ok_or_400(resp.status_code, resp.text)


def test_forged_cursor_of_the_right_query_is_refused(client: TestClient) -> None:
    page = client.post(
        "/api/v1/runs/search", json={"experiment_ids": ["1"], "max_results": 1}
    ).json()
    raw = page["next_page_token"] + "=" * (-len(page["next_page_token"]) % 4)
    payload = json.loads(base64.urlsafe_b64decode(raw))
    for cursor in ({"k": [[0, "'; DROP TABLE runs; --"]], "id": "x"}, {"k": "x", "id": 1}, []):
        forged = _token({**payload, "c": cursor})
        resp = client.post(
            "/api/v1/runs/search",
            json={"experiment_ids": ["1"], "max_results": 1, "page_token": forged},
        )
        assert resp.status_code == 400, resp.text


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=80))
def test_fuzzed_artifact_paths(client: TestClient, path: str) -> None:
    for endpoint in ("", "/download", "/presign"):
        resp = client.get(f"/api/v1/runs/{rid(1)}/artifacts{endpoint}", params={"path": path})
        assert resp.status_code in (200, 400, 404), resp.text
    listing = client.get("/api/2.0/mlflow/artifacts/list", params={"run_id": rid(1), "path": path})
    assert listing.status_code in (200, 400), listing.text


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=200),
        st.sampled_from(
            [
                "SELECT * FROM runs",
                "SELECT * FROM read_csv('/etc/passwd')",
                "SELECT 1/0",
                "SELECT 'a'::INT",
                "SELECT * FROM runs WHERE x = 1",
                "SELECT [1,2][5]",
                "SELECT repeat('x', 100)",
                "SELECT * FROM range(5)",
                "FROM metrics SELECT max(value)",
            ]
        ),
    )
)
def test_fuzzed_sql(client: TestClient, sql: str) -> None:
    resp = client.post("/api/v1/sql", json={"sql": sql, "max_rows": 5})
    assert resp.status_code in (200, 400), resp.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/runs/search", {"params": {"max_results": "lots"}}),
        ("POST", "/api/v1/runs/search", {"content": b"{not json"}),
        ("POST", "/api/v1/runs/search", {"json": []}),
        ("POST", "/api/v1/runs/search", {"json": {"experiment_ids": "1"}}),
        ("POST", "/api/2.0/mlflow/runs/search", {"content": b"[1, 2]"}),
        ("POST", "/api/2.0/mlflow/runs/search", {"json": {"experiment_ids": [{"a": 1}]}}),
        ("GET", "/api/2.0/mlflow/runs/get", {}),
        ("GET", "/api/2.0/mlflow/model-versions/get", {"params": {"name": "m", "version": "x"}}),
        (
            "GET",
            "/api/2.0/mlflow/metrics/get-history",
            {"params": {"run_id": rid(1), "metric_key": "a", "max_results": "-1"}},
        ),
        ("GET", "/api/v1/runs/x/metric-history", {"params": {"key": "a", "max_points": 10**9}}),
        ("POST", "/api/v1/metrics/history", {"json": {"run_ids": ["a"] * 101, "keys": ["k"]}}),
        (
            "POST",
            "/api/v1/metrics/history",
            {"json": {"run_ids": ["a"], "keys": ["k"], "min_step": 2**70}},
        ),
        ("POST", "/api/v1/sql", {"json": {"sql": "x" * 200_000}}),
        ("POST", "/api/v1/sql", {"json": {"sql": 5}}),
        ("GET", "/api/v1/experiments", {"params": {"max_results": 10**12}}),
        ("GET", "/api/v1/registered-models/x/versions/notanumber", {}),
    ],
)
def test_malformed_requests_are_400s(
    client: TestClient, method: str, path: str, kwargs: dict[str, object]
) -> None:
    resp = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert resp.status_code == 400, resp.text
