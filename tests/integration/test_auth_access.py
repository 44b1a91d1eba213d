"""Access control with auth on: every endpoint family for each kind of caller.

The lake is the query tests' small lake (experiments 1 "vision" and 2 "nlp",
models "classifier" and "detector") plus a directory written to the auth_*
tables: alice reads experiment 2 and the detector, bob edits experiment 2 through
his group, carol manages experiment 1 and the classifier, dave has nothing.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_query_helpers import NOW, Dataset, fill_lake, per_test_settings, rid, write_rows

from runstream.auth.secrets import hash_password, new_token
from runstream.config import Settings
from runstream.query.http.app import create_app

ADMIN_PASSWORD = "admin-password-1"
PASSWORDS = {name: f"{name}-password" for name in ("alice", "bob", "carol", "dave")}


@dataclasses.dataclass
class World:
    settings: Settings
    dataset: Dataset
    tokens: dict[str, str]


def _directory(tokens: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    read_text, read_id, read_hash = new_token()
    gone_text, gone_id, gone_hash = new_token()
    old_text, old_id, old_hash = new_token()
    tokens.update(alice=read_text, revoked=gone_text, expired=old_text)
    grant = [
        ("experiment", "2", "user", "alice", "READ"),
        ("registered_model", "detector", "user", "alice", "READ"),
        ("experiment", "2", "group", "nlp", "EDIT"),
        ("experiment", "1", "user", "carol", "MANAGE"),
        ("registered_model", "classifier", "user", "carol", "MANAGE"),
    ]
    return {
        "auth_users": [
            (name, hash_password(pw), False, NOW, "admin") for name, pw in PASSWORDS.items()
        ],
        "auth_group_members": [("nlp", "bob", NOW)],
        "auth_tokens": [
            (read_id, read_hash, "alice", "read", None, NOW, "admin"),
            (gone_id, gone_hash, "alice", "read", None, NOW, "admin"),
            (old_id, old_hash, "alice", "read", NOW, NOW, "admin"),
        ],
        "auth_token_revocations": [(gone_id, NOW + 1, "admin")],
        "auth_permissions": [(*g, NOW, "admin") for g in grant],
    }


@pytest.fixture(scope="module")
def world(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> World:
    base = per_test_settings(stack_settings, tmp_path_factory.mktemp("auth-access"))
    settings = dataclasses.replace(base, auth=True, admin_password=ADMIN_PASSWORD)
    dataset = fill_lake(settings, history_points=50)
    tokens: dict[str, str] = {}
    write_rows(settings, _directory(tokens))
    return World(settings, dataset, tokens)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.settings)) as c:
        yield c


def basic(user: str, password: str | None = None) -> dict[str, str]:
    secret = password if password is not None else PASSWORDS.get(user, ADMIN_PASSWORD)
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _run_names(client: TestClient, headers: dict[str, str], **body: Any) -> list[str]:
    body.setdefault("experiment_ids", ["1", "2"])
    resp = client.post("/api/v1/runs/search", json=body, headers=headers)
    assert resp.status_code == 200, resp.text
    return [r["info"]["run_name"] for r in resp.json()["runs"]]


def test_anonymous_and_bad_credentials_get_401_and_probes_stay_open(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    for headers in ({}, basic("alice", "wrong"), basic("nobody", "x"), bearer("rst_x")):
        resp = client.get("/api/v1/experiments", headers=headers)
        assert resp.status_code == 401, resp.text
        assert resp.json()["error"]["code"] == "unauthenticated"
    mlflow = client.get("/api/2.0/mlflow/experiments/search")
    assert mlflow.status_code == 401 and mlflow.json()["error_code"] == "UNAUTHENTICATED"
    assert mlflow.headers["www-authenticate"].startswith("Basic")


def test_searches_return_only_readable_experiments(client: TestClient, world: World) -> None:
    admin = basic("admin")
    assert _run_names(client, admin) == ["zeta", "delta", "gamma", "beta", "alpha"]
    assert _run_names(client, basic("alice")) == ["zeta"]
    assert _run_names(client, basic("bob")) == ["zeta"]  # through the nlp group
    assert _run_names(client, basic("carol")) == ["delta", "gamma", "beta", "alpha"]
    assert _run_names(client, basic("dave")) == []
    assert _run_names(client, bearer(world.tokens["alice"])) == ["zeta"]
    names = [e["name"] for e in client.get("/api/v1/experiments", headers=basic("alice")).json()[
        "experiments"
    ]]
    assert names == ["nlp"]
    mlflow = client.post(
        "/api/2.0/mlflow/runs/search", json={"experiment_ids": ["1", "2"]}, headers=basic("alice")
    )
    assert [r["info"]["run_name"] for r in mlflow.json()["runs"]] == ["zeta"]
    models = client.get("/api/v1/registered-models", headers=basic("alice")).json()
    assert [m["name"] for m in models["registered_models"]] == ["detector"]
    versions = client.get("/api/v1/model-versions", headers=basic("carol")).json()
    assert {v["name"] for v in versions["model_versions"]} == {"classifier"}


def test_named_reads_of_hidden_resources_are_403(client: TestClient) -> None:
    alice = basic("alice")
    hidden = rid(1)  # experiment 1
    for path in (
        f"/api/v1/runs/{hidden}",
        f"/api/v1/runs/{hidden}/metric-history?key=train_loss",
        f"/api/v1/runs/{hidden}/artifacts",
        f"/api/v1/runs/{hidden}/artifacts/download?path=readme.txt",
        f"/api/v1/runs/{hidden}/artifacts/presign?path=readme.txt",
        f"/api/v1/compare?run_id={rid(6)}&run_id={hidden}",
        "/api/v1/experiments/1",
        "/api/v1/experiments/by-name/vision",
        "/api/v1/registered-models/classifier",
        "/api/v1/registered-models/classifier/versions/1",
        "/api/v1/registry/resolve?uri=models:/classifier/Production",
    ):
        resp = client.get(path, headers=alice)
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["error"]["code"] == "permission_denied"
    mlflow = client.get(f"/api/2.0/mlflow/runs/get?run_id={hidden}", headers=alice)
    assert mlflow.status_code == 403 and mlflow.json()["error_code"] == "PERMISSION_DENIED"
    # what alice may read, she reads
    assert client.get(f"/api/v1/runs/{rid(6)}", headers=alice).status_code == 200
    assert client.get("/api/v1/registered-models/detector", headers=alice).status_code == 200
    # an unknown id is still a 404
    assert client.get(f"/api/v1/runs/{rid(99)}", headers=alice).status_code == 404


def test_tokens_revoked_or_expired_are_refused_and_read_tokens_stay_readers(
    client: TestClient, world: World
) -> None:
    for name in ("revoked", "expired"):
        resp = client.get("/api/v1/experiments", headers=bearer(world.tokens[name]))
        assert resp.status_code == 401, name


def test_sql_is_for_admins_and_never_reads_the_auth_tables(client: TestClient) -> None:
    query = {"sql": "SELECT count(*) AS n FROM runs"}
    assert client.post("/api/v1/sql", json=query, headers=basic("carol")).status_code == 403
    ok = client.post("/api/v1/sql", json=query, headers=basic("admin"))
    assert ok.status_code == 200 and ok.json()["rows"] == [[6]]
    for sql in ("SELECT * FROM auth_users", 'SELECT * FROM "auth_permissions"'):
        resp = client.post("/api/v1/sql", json={"sql": sql}, headers=basic("admin"))
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "sql_rejected"
    slow = client.post(
        "/api/v1/sql",
        json={"sql": "SELECT count(*) FROM range(100000000000) a", "timeout_s": 0.5},
        headers=basic("admin"),
    )
    assert slow.status_code == 400, slow.text
    assert slow.json()["error"]["code"] == "sql_time_limit" and "0.5 s" in slow.text


def test_presigned_urls_are_short_and_for_one_object(client: TestClient) -> None:
    resp = client.get(
        f"/api/v1/runs/{rid(1)}/artifacts/presign?path=readme.txt&expires_in=86400",
        headers=basic("carol"),
    )
    assert resp.status_code == 200 and resp.json()["expires_in"] == 300
    url = resp.json()["url"]
    assert httpx.get(url).content == b"hello artifacts\n"
    other = url.replace("readme.txt", "model/MLmodel")
    assert httpx.get(other).status_code == 403
