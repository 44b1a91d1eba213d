"""Where the SDK sends things: the resolution rules and the query-service client.

The query client runs over ``httpx.MockTransport``, an in-memory HTTP transport.
"""

from __future__ import annotations

import json

import httpx
import pytest

from runstream.config import Settings
from runstream.errors import ConfigError, ServiceError
from runstream.sdk.endpoints import resolve_endpoints
from runstream.sdk.entities import IngestConfig
from runstream.sdk.query_client import QueryClient

INGEST = IngestConfig(
    "kafka:9092", "prod.events", "prod.registry", "prod-artifacts", "http://minio:9000", "eu-west-1"
)
INGEST_JSON = {
    "schema_version": 1,
    "kafka": {"bootstrap_servers": "kafka:9092"},
    "topics": {"events": "prod.events", "registry": "prod.registry", "dlq": "prod.dlq"},
    "artifacts": {
        "bucket": "prod-artifacts",
        "endpoint_url": "http://minio:9000",
        "region": "eu-west-1",
    },
}


def _fetch(uri: str, token: str) -> IngestConfig:
    assert uri == "http://tracking:5000"
    return INGEST


def test_without_a_tracking_uri_the_local_stack_is_used_and_the_api_is_optional() -> None:
    ep = resolve_endpoints({})
    assert ep.bootstrap == "127.0.0.1:9092"
    assert ep.topic_events == "runstream.events"
    assert ep.artifacts_bucket == "runstream-artifacts"
    assert ep.tracking_uri == "http://127.0.0.1:5000"
    assert not ep.tracking_required


def test_the_tracking_uri_alone_is_enough() -> None:
    for variable in ("RUNSTREAM_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        ep = resolve_endpoints({variable: "http://tracking:5000"}, fetch_ingest_config=_fetch)
        assert (ep.bootstrap, ep.topic_events, ep.topic_registry) == (
            "kafka:9092",
            "prod.events",
            "prod.registry",
        )
        assert (ep.artifacts_bucket, ep.s3_endpoint, ep.s3_region) == (
            "prod-artifacts",
            "http://minio:9000",
            "eu-west-1",
        )
        assert ep.tracking_required


def test_explicit_variables_override_the_ingest_config() -> None:
    env = {
        "RUNSTREAM_TRACKING_URI": "http://tracking:5000",
        "RUNSTREAM_KAFKA_BOOTSTRAP": "other:9093",
        "RUNSTREAM_ARTIFACTS_BUCKET": "mine",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "shh",
    }
    ep = resolve_endpoints(env, fetch_ingest_config=_fetch)
    assert ep.bootstrap == "other:9093" and ep.artifacts_bucket == "mine"
    assert ep.topic_events == "prod.events"
    assert (ep.s3_access_key, ep.s3_secret_key) == ("AKIA", "shh")
    env["RUNSTREAM_S3_ACCESS_KEY"] = "explicit"
    assert resolve_endpoints(env, fetch_ingest_config=_fetch).s3_access_key == "explicit"


def test_an_unreachable_tracking_uri_fails_clearly_unless_a_broker_is_named() -> None:
    def down(uri: str, token: str) -> IngestConfig:
        raise ServiceError(f"query service at {uri} is unreachable")

    env = {"RUNSTREAM_TRACKING_URI": "http://tracking:5000"}
    with pytest.raises(ServiceError, match="RUNSTREAM_KAFKA_BOOTSTRAP"):
        resolve_endpoints(env, fetch_ingest_config=down)
    env["RUNSTREAM_KAFKA_BOOTSTRAP"] = "k:1"
    assert resolve_endpoints(env, fetch_ingest_config=down).bootstrap == "k:1"


def test_explicit_settings_need_no_query_service() -> None:
    settings = Settings(kafka_bootstrap="b:1", topic_prefix="t1", artifacts_bucket="bkt")
    ep = resolve_endpoints({"RUNSTREAM_TRACKING_URI": "http://ignored:1"}, settings=settings)
    assert (ep.bootstrap, ep.topic_events, ep.artifacts_bucket) == ("b:1", "t1.events", "bkt")
    assert not ep.tracking_required


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"MLFLOW_TRACKING_URI": "file:./mlruns"}, "MLFLOW_TRACKING_URI"),
        ({"RUNSTREAM_SDK_BUFFER_EVENTS": "lots"}, "RUNSTREAM_SDK_BUFFER_EVENTS"),
        ({"RUNSTREAM_SDK_BUFFER_TIMEOUT_S": "-1"}, "RUNSTREAM_SDK_BUFFER_TIMEOUT_S"),
    ],
)
def test_bad_variables_are_named(env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        resolve_endpoints(env)


def _client(handler: httpx.MockTransport) -> QueryClient:
    return QueryClient("http://tracking:5000", token="tok", transport=handler)


def test_the_query_client_reads_the_contract_endpoints() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.headers["Authorization"] == "Bearer tok"
        path = request.url.path
        if path == "/api/v1/ingest-config":
            return httpx.Response(200, json=INGEST_JSON)
        if path == "/api/v1/experiments/by-name/my sweep":
            return httpx.Response(200, json={"experiment_id": "e1", "name": "my sweep"})
        if path == "/api/v1/registry/resolve":
            assert request.url.params["uri"] == "models:/wine@champion"
            return httpx.Response(
                200, json={"name": "wine", "version": 3, "source": "s3://b/k", "run_id": None}
            )
        return httpx.Response(404, json={"error": "not found"})

    client = _client(httpx.MockTransport(handle))
    assert client.ingest_config() == INGEST
    assert client.experiment_by_name("my sweep") == {"experiment_id": "e1", "name": "my sweep"}
    assert client.experiment_by_name("missing") is None
    resolved = client.resolve_model_uri("models:/wine@champion")
    assert resolved is not None and (resolved.version, resolved.source) == (3, "s3://b/k")
    assert client.model_version_by_request("r1") is None
    assert "by-name/my%20sweep" in seen[1]


def test_the_query_client_translates_failures() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("ingest-config"):
            return httpx.Response(200, content=json.dumps({"kafka": {}}).encode())
        if request.url.path.endswith("secret"):
            return httpx.Response(401)
        return httpx.Response(503, text="overloaded")

    client = _client(httpx.MockTransport(broken))
    with pytest.raises(ServiceError, match="missing field"):
        client.ingest_config()
    with pytest.raises(ServiceError, match="RUNSTREAM_API_TOKEN"):
        client.run("secret")
    with pytest.raises(ServiceError, match="HTTP 503"):
        client.run("x")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(ServiceError, match="unreachable"):
        _client(httpx.MockTransport(refuse)).run("x")


def test_the_callers_token_is_sent_to_the_query_service() -> None:
    seen: list[str] = []

    def fetch(uri: str, token: str) -> IngestConfig:
        seen.append(token)
        return INGEST

    env = {"RUNSTREAM_TRACKING_URI": "http://tracking:5000", "RUNSTREAM_TOKEN": "rst_x_y"}
    ep = resolve_endpoints(env, fetch_ingest_config=fetch)
    assert ep.api_token == "rst_x_y" and seen == ["rst_x_y"]


def test_mlflows_token_variable_works_too() -> None:
    env = {"MLFLOW_TRACKING_TOKEN": "rst_a_b"}
    assert resolve_endpoints(env).api_token == "rst_a_b"
    assert resolve_endpoints({**env, "RUNSTREAM_TOKEN": "rst_c_d"}).api_token == "rst_c_d"
