"""Access control with auth on: every endpoint family for each kind of caller.

The lake is the query tests' small lake (experiments 1 "vision" and 2 "nlp",
models "classifier" and "detector") plus a directory written to the auth_*
tables: alice reads experiment 2 and the detector, bob edits experiment 2 through
his group, carol manages experiment 1 and the classifier, dave has nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from test_query_helpers import NOW, Dataset, fill_lake, per_test_settings, rid, serve, write_rows

from runstream.auth.oidc import OidcConfig, OidcVerifier
from runstream.auth.secrets import hash_password, new_token
from runstream.config import Settings
from runstream.errors import AuthenticationError
from runstream.query.http.app import create_app

ADMIN_PASSWORD = "admin-password-1"
ISSUER = "https://idp.runstream.test"
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


@dataclasses.dataclass
class Issuer:
    key: rsa.RSAPrivateKey
    jwks_url: str

    def token(self, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "iat": now, "exp": now + 300, **claims}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    """An OIDC issuer's JWKS, served on loopback, with a key made for this test."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Issuer(key, f"http://127.0.0.1:{server.server_address[1]}/jwks.json")
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def world(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory, issuer: Issuer
) -> World:
    base = per_test_settings(stack_settings, tmp_path_factory.mktemp("auth-access"))
    settings = dataclasses.replace(
        base,
        auth=True,
        admin_password=ADMIN_PASSWORD,
        oidc_issuer=ISSUER,
        oidc_jwks_url=issuer.jwks_url,
        oidc_admin_group="platform-admins",
    )
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
    # brokers and buckets are told only to authenticated callers
    assert client.get("/api/v1/ingest-config").status_code == 401
    assert client.get("/api/v1/ingest-config", headers=basic("dave")).status_code == 200
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


def _sql(client: TestClient, headers: dict[str, str], sql: str) -> httpx.Response:
    return client.post("/api/v1/sql", json={"sql": sql}, headers=headers)


def test_sql_reads_only_the_callers_rows_and_never_the_auth_tables(
    client: TestClient, world: World
) -> None:
    count = "SELECT count(*) AS n FROM runs"
    for headers, n in (
        (basic("admin"), 6),
        (basic("carol"), 5),  # experiment 1
        (basic("alice"), 1),  # experiment 2
        (bearer(world.tokens["alice"]), 1),
        (basic("bob"), 1),  # experiment 2 through the nlp group
        (basic("dave"), 0),
    ):
        resp = _sql(client, headers, count)
        assert resp.status_code == 200, resp.text
        assert resp.json()["rows"] == [[n]]
    alice = basic("alice")
    for sql, rows in (
        ("SELECT DISTINCT run_id FROM metrics", [[rid(6)]]),
        ("SELECT DISTINCT run_id FROM params UNION SELECT run_id FROM artifacts", [[rid(6)]]),
        ("SELECT name FROM experiments", [["nlp"]]),
        ("SELECT DISTINCT name FROM model_versions", [["detector"]]),
        ("SELECT run_name FROM (SELECT * FROM runs) r", [["zeta"]]),
        ("WITH runs AS MATERIALIZED (SELECT * FROM runs) SELECT run_name FROM runs", None),
        ("SELECT * FROM (WITH x AS (SELECT * FROM runs) SELECT run_name FROM x)", [["zeta"]]),
        (f"SELECT count(*) FROM latest_metrics WHERE run_id = '{rid(1)}'", [[0]]),
    ):
        resp = _sql(client, alice, sql)
        if rows is None:  # a top-level query named like a table: the database refuses
            assert resp.status_code == 400 and "Duplicate CTE name" in resp.text
            continue
        assert resp.status_code == 200, (sql, resp.text)
        assert resp.json()["rows"] == rows, sql
    for sql, why in (
        ("SELECT * FROM lake.main.runs", "name the lake's tables alone"),
        ("SELECT * FROM main.metrics", "name the lake's tables alone"),
        ("SUMMARIZE metrics", "start with one of"),
        ("SELECT * FROM (SUMMARIZE metrics)", "SUMMARIZE is for admins"),
        ("SELECT table_name, estimated_size FROM duckdb_tables()", "duckdb_tables"),
        ("SELECT * FROM table_changes('runs', 0, 100)", "not allowed"),
        ("SELECT * FROM consumer_offsets", "for admins"),
        ("SELECT * FROM auth_permissions", "access-control"),
        ('SELECT * FROM "auth_users"', "access-control"),
    ):
        resp = _sql(client, alice, sql)
        assert resp.status_code == 400, (sql, resp.text)
        assert resp.json()["error"]["code"] == "sql_rejected" and why in resp.text, resp.text
    # admins read the whole lake, but not the access-control tables either
    admin = basic("admin")
    assert _sql(client, admin, "SELECT count(*) FROM consumer_offsets").status_code == 200
    for sql in ("SELECT * FROM auth_users", 'SELECT * FROM "auth_permissions"'):
        resp = _sql(client, admin, sql)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "sql_rejected"
    slow = client.post(
        "/api/v1/sql",
        json={"sql": "SELECT count(*) FROM range(100000000000) a", "timeout_s": 0.5},
        headers=alice,
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


def test_page_tokens_belong_to_their_caller(client: TestClient, world: World) -> None:
    first = client.post(
        "/api/v1/runs/search",
        json={"experiment_ids": ["2"], "max_results": 1, "filter": "metrics.acc > 0"},
        headers=basic("bob"),
    ).json()
    # bob reads what alice reads, yet his token is his own
    replay = client.post(
        "/api/v1/runs/search",
        json={"experiment_ids": ["2"], "max_results": 1, "filter": "metrics.acc > 0",
              "page_token": first["next_page_token"] or "x"},
        headers=basic("alice"),
    )
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "invalid_page_token"
    admin_page = client.post(
        "/api/v1/runs/search", json={"experiment_ids": ["1"], "max_results": 1},
        headers=basic("admin"),
    ).json()
    stolen = client.post(
        "/api/v1/runs/search",
        json={
            "experiment_ids": ["1"], "max_results": 1, "page_token": admin_page["next_page_token"]
        },
        headers=basic("alice"),
    )
    assert stolen.status_code == 400


def test_filters_orders_and_pages_never_reveal_a_hidden_metric(client: TestClient) -> None:
    alice = basic("alice")
    # alpha (hidden, experiment 1) has acc 0.91: no filter or order lets alice see it exists
    for body in (
        {"filter": "metrics.acc > 0.9"},
        {"filter": "metrics.acc = 0.91"},
        {"filter": f"attributes.run_id = '{rid(1)}'"},
        {"filter": "params.model = 'cnn'"},
        {"order_by": ["metrics.acc DESC"], "max_results": 1},
        {"filter": "metrics.acc >= 0", "order_by": ["metrics.acc ASC"]},
    ):
        assert set(_run_names(client, alice, **body)) <= {"zeta"}, body
    # experiment search filters on hidden names find nothing
    found = client.get(
        "/api/v1/experiments", params={"filter": "name = 'vision'"}, headers=alice
    ).json()
    assert found["experiments"] == []


def test_failed_logins_are_rate_limited(world: World) -> None:
    limited = dataclasses.replace(world.settings, auth_max_failures=3)
    with TestClient(create_app(limited)) as c:
        for _ in range(3):
            assert c.get("/api/v1/experiments", headers=basic("dave", "bad")).status_code == 401
        locked = c.get("/api/v1/experiments", headers=basic("dave"))
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1


def test_a_login_takes_as_long_whether_the_user_exists_or_not(world: World) -> None:
    unlimited = dataclasses.replace(world.settings, auth_max_failures=1000)
    with TestClient(create_app(unlimited)) as c:

        def timed(user: str) -> float:
            started = time.perf_counter()
            assert c.get("/api/v1/experiments", headers=basic(user, "guess")).status_code == 401
            return time.perf_counter() - started

        timed("warm-up")
        existing = statistics.median(timed(u) for u in ["alice", "bob", "carol", "dave"] * 2)
        missing = statistics.median(timed(f"ghost{i}") for i in range(8))
    assert 0.5 < existing / missing < 2.0


def test_oidc_jwts_from_the_issuer_are_accepted_and_others_refused(
    client: TestClient, issuer: Issuer
) -> None:
    good = issuer.token(preferred_username="alice", groups=["nlp"])
    assert _run_names(client, bearer(good)) == ["zeta"]
    admin = issuer.token(preferred_username="erin", groups=["platform-admins"])
    assert len(_run_names(client, bearer(admin))) == 5
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    for bad in (
        issuer.token(preferred_username="alice", exp=now - 3600, iat=now - 7200),
        issuer.token(key=other_key, preferred_username="alice"),
        issuer.token(preferred_username="alice", iss="https://evil.test"),
        jwt.encode({"iss": ISSUER, "exp": now + 60, "sub": "x"}, "s" * 32, algorithm="HS256",
                   headers={"kid": "k1"}),
    ):
        resp = client.get("/api/v1/experiments", headers=bearer(bad))
        assert resp.status_code == 401, resp.text


def test_a_configured_audience_is_required(issuer: Issuer) -> None:
    verifier = OidcVerifier(OidcConfig(ISSUER, issuer.jwks_url, audience="runstream"))
    for aud in ("runstream", ["other-api", "runstream"]):
        assert verifier.verify(issuer.token(preferred_username="alice", aud=aud)).username == (
            "alice"
        )
    for bad in (
        issuer.token(preferred_username="alice", aud="other-api"),
        issuer.token(preferred_username="alice"),  # no aud at all
    ):
        with pytest.raises(AuthenticationError, match="refused"):
            verifier.verify(bad)


def test_mlflow_client_with_basic_auth_and_with_a_token(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with serve(world.settings) as url:
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "carol")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORDS["carol"])
        runs = client.search_runs(["1", "2"], order_by=["attributes.start_time ASC"])
        assert [r.info.run_name for r in runs] == ["alpha", "beta", "gamma", "delta"]
        assert client.get_registered_model("classifier").name == "classifier"
        with pytest.raises(MlflowException, match=r"PERMISSION_DENIED|Permission denied"):
            client.get_run(rid(6))
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", world.tokens["alice"])
        assert [r.info.run_name for r in client.search_runs(["1", "2"])] == ["zeta"]
        assert [m.name for m in client.search_registered_models()] == ["detector"]
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", world.tokens["revoked"])
        with pytest.raises(MlflowException):
            client.search_experiments()
