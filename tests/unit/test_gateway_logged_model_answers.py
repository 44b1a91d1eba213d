"""The gateway's logged-model routes answer bad input as MLflow's server does, before any write.

The routes run in a real app over an in-memory :class:`Lookup` (what the lake would
answer); nothing here reaches a broker: every request tested is refused, or only
read, before the gateway publishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runstream.gateway import routes
from runstream.gateway.context import GatewayContext
from runstream.gateway.lookup import (
    KnownExperiment,
    KnownLoggedModel,
    KnownRun,
    KnownVersion,
    LoggedModelQuery,
)
from runstream.gateway.publisher import Publisher

BUCKET = "artifacts"
MODEL = "m-" + "a" * 32
UNKNOWN = "m-" + "0" * 32
RUN = "0190123456787abc8def0123456789ab"
BASE = "/api/2.0/mlflow/logged-models"


class MemoryLookup:
    """What the lake holds, in memory: one experiment, one run, one ready model."""

    def __init__(self) -> None:
        self.models = {
            MODEL: KnownLoggedModel(
                MODEL, "1", "model", RUN, None, f"s3://{BUCKET}/1/models/{MODEL}/artifacts",
                "READY", "active", 10, 20, {"lr": "0.1"}, {"team": "a"},
            )
        }
        self.experiments = {
            "1": KnownExperiment("1", "exp", "active", f"s3://{BUCKET}/1"),
            "2": KnownExperiment("2", "old", "deleted", f"s3://{BUCKET}/2"),
        }

    async def experiment(self, experiment_id: str) -> KnownExperiment | None:
        return self.experiments.get(experiment_id)

    async def experiment_by_name(self, name: str) -> KnownExperiment | None:
        return None

    async def run(self, run_id: str) -> KnownRun | None:
        return KnownRun(RUN, "1", "r", "u", 0, f"s3://{BUCKET}/1/{RUN}/artifacts") \
            if run_id == RUN else None

    async def model_exists(self, name: str) -> bool:
        return name == "registered"

    async def version(self, name: str, version: int) -> KnownVersion | None:
        return None

    async def version_by_request(self, request_id: str) -> KnownVersion | None:
        return None

    async def logged_model(
        self, model_id: str, *, experiment_id: str | None = None, allow_deleted: bool = False
    ) -> KnownLoggedModel | None:
        return self.models.get(model_id)

    async def metric_points(
        self, run_id: str, keys: list[str], steps: list[int]
    ) -> set[tuple[str, float, int, int]]:
        return set()

    async def search_logged_models(
        self, query: LoggedModelQuery
    ) -> tuple[list[KnownLoggedModel], str | None]:
        return list(self.models.values()), None


def _no_broker() -> Any:
    raise AssertionError("this request must be answered before anything is published")


@pytest.fixture
def client() -> Iterator[TestClient]:
    publisher = Publisher(_no_broker, topic_events="e", topic_registry="r")
    ctx = GatewayContext(publisher, MemoryLookup(), BUCKET)
    app = FastAPI()
    for router in routes.routers(ctx):
        app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def _error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error_code"]


def test_a_malformed_model_id_is_invalid_and_an_unknown_one_does_not_exist(
    client: TestClient,
) -> None:
    for bad in ("not-a-model", "m-123", "m-" + "A" * 32, MODEL + "0"):
        assert _error(client.get(f"{BASE}/{bad}")) == (400, "INVALID_PARAMETER_VALUE"), bad
    assert _error(client.get(f"{BASE}/{UNKNOWN}")) == (404, "RESOURCE_DOES_NOT_EXIST")
    for answer in (
        client.patch(f"{BASE}/{UNKNOWN}", json={"status": "LOGGED_MODEL_READY"}),
        client.patch(f"{BASE}/{UNKNOWN}/tags", json={"tags": [{"key": "k", "value": "v"}]}),
        client.delete(f"{BASE}/{UNKNOWN}/tags/k"),
        client.post(f"{BASE}/{UNKNOWN}/params", json={"params": [{"key": "k", "value": "v"}]}),
        client.delete(f"{BASE}/{UNKNOWN}"),
    ):
        assert _error(answer) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_a_model_reads_back_in_mlflows_json(client: TestClient) -> None:
    info = client.get(f"{BASE}/{MODEL}").json()["model"]["info"]
    assert info["artifact_uri"] == f"mlflow-artifacts:/1/models/{MODEL}/artifacts"
    assert info["status"] == "LOGGED_MODEL_READY" and info["source_run_id"] == RUN
    assert info["tags"] == [{"key": "team", "value": "a"}]
    found = client.post(f"{BASE}/search", json={"experiment_ids": ["1"]}).json()
    assert [m["info"]["model_id"] for m in found["models"]] == [MODEL]
    assert "next_page_token" not in found


def test_creation_checks_name_run_experiment_and_sizes(client: TestClient) -> None:
    for name in ("a/b", "a.b", "a:b", "50%", "it's"):
        answer = client.post(BASE, json={"experiment_id": "1", "name": name})
        assert _error(answer) == (400, "INVALID_PARAMETER_VALUE"), name
        assert "cannot contain" in answer.json()["message"]
    long_name = client.post(BASE, json={"experiment_id": "1", "name": "x" * 501})
    assert _error(long_name) == (400, "INVALID_PARAMETER_VALUE")
    bad_run = client.post(BASE, json={"experiment_id": "1", "source_run_id": "nope"})
    assert _error(bad_run) == (400, "INVALID_PARAMETER_VALUE")
    assert _error(client.post(BASE, json={})) == (400, "INVALID_PARAMETER_VALUE")
    assert _error(client.post(BASE, json={"experiment_id": "9"})) == (
        404, "RESOURCE_DOES_NOT_EXIST")
    assert _error(client.post(BASE, json={"experiment_id": "2"})) == (
        400, "INVALID_PARAMETER_VALUE")
    huge = [{"key": "k", "value": "v" * 6001}]
    assert _error(client.post(BASE, json={"experiment_id": "1", "params": huge})) == (
        400, "INVALID_PARAMETER_VALUE")


def test_search_and_finalize_refuse_what_mlflows_client_never_sends(client: TestClient) -> None:
    search = f"{BASE}/search"
    for body in (
        {},
        {"experiment_ids": []},
        {"experiment_ids": ["1"], "max_results": 5000},
        {"experiment_ids": ["1"], "datasets": [{"dataset_name": "d"}]},
        {"experiment_ids": ["1"], "order_by": [{"ascending": True}]},
    ):
        assert _error(client.post(search, json=body)) == (400, "INVALID_PARAMETER_VALUE"), body
    for status in ("LOGGED_MODEL_PENDING", "DONE", None, True):
        answer = client.patch(f"{BASE}/{MODEL}", json={"status": status})
        assert _error(answer) == (400, "INVALID_PARAMETER_VALUE"), status


def test_run_outputs_and_versions_check_the_model_ids_they_name(client: TestClient) -> None:
    outputs = client.post(
        "/api/2.0/mlflow/runs/outputs", json={"run_id": RUN, "models": [{"model_id": "m-x"}]}
    )
    assert _error(outputs) == (400, "INVALID_PARAMETER_VALUE")
    version = client.post(
        "/api/2.0/mlflow/model-versions/create",
        json={"name": "registered", "source": f"models:/{UNKNOWN}"},
    )
    assert _error(version) == (404, "RESOURCE_DOES_NOT_EXIST")
