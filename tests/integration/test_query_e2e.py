"""End to end: runs logged with the SDK, materialized, then read through every API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from materializer_support import materializer, wait_for
from mlflow import MlflowClient
from test_query_helpers import per_test_settings, serve

import runstream as rs
from runstream.config import Settings
from runstream.kafka.admin import ensure_topics
from runstream.sdk.client import RunstreamClient

STEPS = 3000


@pytest.fixture(scope="module")
def logged(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str], int]]:
    """Log two runs and a model version through the SDK; yield (url, run ids, version)."""
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-e2e"))
    ensure_topics(settings)
    with materializer(settings), serve(settings, settings.ports.api) as url:
        client = RunstreamClient(tracking_uri=url, environ={})
        rs.configure(client=client)
        try:
            rs.set_experiment("e2e-query")
            run_ids = []
            for i, lr in enumerate(["0.1", "0.01"]):
                with rs.start_run(run_name=f"run-{i}") as run:
                    rs.log_params({"lr": lr, "model": "cnn"})
                    for step in range(STEPS):
                        rs.log_metric("loss", (i + 1) / (step + 1), step=step)
                    rs.log_metric("acc", 0.8 + i / 10)
                    rs.set_tag("team", "e2e")
                    rs.log_text("hello from the sdk", "notes/hello.txt")
                run_ids.append(run.info.run_id)
            version = rs.register_model(f"runs:/{run_ids[1]}/notes", "e2e-model", 60)
            client.set_registered_model_alias("e2e-model", "champion", version.version)
            client.flush(30)
        finally:
            rs.configure()
            client.close(5.0)

        def visible() -> Any:
            return httpx.get(f"{url}/api/v1/registered-models/e2e-model/aliases/champion")

        wait_for("the alias in the lake", visible, lambda r: r.status_code == 200)
        yield url, run_ids, int(version.version)


def test_sdk_runs_are_searchable_with_history_artifacts_and_registry(
    logged: tuple[str, list[str], int],
) -> None:
    url, (first, second), version = logged
    run = httpx.get(f"{url}/api/v1/runs/{second}").json()
    assert run["info"]["status"] == "FINISHED" and run["data"]["params"]["lr"] == "0.01"
    assert run["data"]["metrics"]["loss"]["count"] == STEPS
    found = httpx.post(
        f"{url}/api/v1/runs/search",
        json={
            "experiment_names": ["e2e-query"],
            "filter": "metrics.acc > 0.85 AND tags.team = 'e2e'",
        },
    ).json()
    assert [r["info"]["run_id"] for r in found["runs"]] == [second]
    history = httpx.get(
        f"{url}/api/v1/runs/{first}/metric-history", params={"key": "loss", "max_points": 200}
    ).json()["series"][0]
    assert history["total_points"] == STEPS and len(history["steps"]) <= 200
    assert history["steps"][0] == 0 and history["steps"][-1] == STEPS - 1
    files = httpx.get(f"{url}/api/v1/runs/{first}/artifacts", params={"path": "notes"}).json()
    assert [f["path"] for f in files["files"]] == ["notes/hello.txt"]
    body = httpx.get(
        f"{url}/api/v1/runs/{first}/artifacts/download", params={"path": "notes/hello.txt"}
    )
    assert body.content == b"hello from the sdk"
    resolved = httpx.get(
        f"{url}/api/v1/registry/resolve", params={"uri": "models:/e2e-model@champion"}
    )
    assert resolved.json()["version"] == version and resolved.json()["run_id"] == second


def test_mlflow_client_reads_sdk_runs(logged: tuple[str, list[str], int]) -> None:
    url, (first, second), _version = logged
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    exp = client.get_experiment_by_name("e2e-query")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], order_by=["metrics.acc DESC"])
    assert [r.info.run_id for r in runs] == [second, first]
    assert len(client.get_metric_history(first, "loss")) == STEPS
    assert client.get_model_version_by_alias("e2e-model", "champion").run_id == second


def test_the_sdk_renames_a_model_it_just_made_and_refuses_a_taken_name(
    logged: tuple[str, list[str], int],
) -> None:
    from runstream.errors import AlreadyExistsError, NotFoundError

    url, (_first, second), _version = logged
    client = RunstreamClient(tracking_uri=url, environ={})
    try:
        # No wait between the writes: the rename is checked after them (read-your-writes).
        client.create_registered_model("to-rename", tags={"team": "e2e"})
        client.create_model_version("to-rename", f"runs:/{second}/notes", second)
        client.set_registered_model_alias("to-rename", "champion", 1)
        assert client.rename_registered_model("to-rename", "renamed").name == "renamed"
        with pytest.raises(AlreadyExistsError, match="e2e-model"):
            client.rename_registered_model("renamed", "e2e-model")
        with pytest.raises(NotFoundError, match="to-rename"):
            client.rename_registered_model("to-rename", "other")
        client.flush(30)
    finally:
        client.close(5.0)

    def alias(name: str) -> Any:
        return httpx.get(f"{url}/api/v1/registered-models/{name}/aliases/champion")

    moved = wait_for("the alias under the new name", lambda: alias("renamed"),
                     lambda r: r.status_code == 200)
    assert moved.json()["version"] == 1
    assert alias("to-rename").status_code == 404
