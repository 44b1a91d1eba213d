"""The native API over a real lake on the real S3: what a dashboard or notebook sees."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from test_query_helpers import NOW, Dataset, fill_lake, per_test_settings, rid

from runstream.config import Settings
from runstream.query.http.app import create_app
from runstream.query.http.schemas.artifacts import ArtifactsPage
from runstream.query.http.schemas.columnar import ARROW_STREAM
from runstream.query.http.schemas.experiments import ExperimentResponse, ExperimentsPage
from runstream.query.http.schemas.metrics import CompareResponse, HistoriesResponse
from runstream.query.http.schemas.registry import (
    ModelVersionResponse,
    ModelVersionsPage,
    RegisteredModelResponse,
    RegisteredModelsPage,
    ResolvedModelResponse,
    StageHistoryResponse,
)
from runstream.query.http.schemas.runs import RunResponse, RunsPage
from runstream.query.http.schemas.sql import SqlResponse
from runstream.query.http.schemas.wire import Wire
from runstream.sdk.history import metric_history, read_history


@pytest.fixture(scope="module")
def lake(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, Dataset]:
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-api"))
    return settings, fill_lake(settings)


@pytest.fixture(scope="module")
def client(lake: tuple[Settings, Dataset]) -> Iterator[TestClient]:
    with TestClient(create_app(lake[0])) as test_client:
        yield test_client


def search(client: TestClient, **body: object) -> list[str]:
    resp = client.post("/api/v1/runs/search", json={"experiment_ids": ["1", "2"], **body})
    assert resp.status_code == 200, resp.text
    Wire(RunsPage).parse(resp.json())
    return [r["info"]["run_name"] for r in resp.json()["runs"]]


def test_experiments_are_listed_newest_first_and_found_by_name(client: TestClient) -> None:
    resp = client.get("/api/v1/experiments")
    page = Wire(ExperimentsPage).parse(resp.json())
    assert [e.name for e in page.experiments] == ["nlp", "vision", "Default"]
    assert int(resp.headers["x-runstream-snapshot"]) == page.snapshot_id > 0
    found = Wire(ExperimentResponse).parse(
        client.get("/api/v1/experiments/by-name/vision").json()
    )
    assert found.experiment_id == "1" and found.tags == {"team": "cv"}
    assert client.get("/api/v1/experiments/2").json()["name"] == "nlp"
    deleted = client.get("/api/v1/experiments", params={"view_type": "DELETED_ONLY"}).json()
    assert [e["name"] for e in deleted["experiments"]] == ["old"]
    filtered = client.get("/api/v1/experiments", params={"filter": "tags.team = 'text'"}).json()
    assert [e["name"] for e in filtered["experiments"]] == ["nlp"]


def test_missing_experiment_and_run_are_404_with_a_message(client: TestClient) -> None:
    resp = client.get("/api/v1/experiments/by-name/nope")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/runs/{rid(99)}").status_code == 404


def test_run_detail_has_info_params_tags_and_latest_metrics(client: TestClient) -> None:
    resp = client.get(f"/api/v1/runs/{rid(1)}")
    run = Wire(RunResponse).parse(resp.json())
    assert run.info.run_name == "alpha" and run.info.status == "FINISHED"
    assert run.info.artifact_uri and run.info.artifact_uri.endswith(f"/1/{rid(1)}/artifacts")
    assert run.data.params == {"lr": "0.1", "model": "cnn"}
    assert run.data.tags == {"team": "cv", "note": "it's ok"}
    assert run.data.metrics["acc"].value == 0.91
    history = run.data.metrics["train_loss"]
    assert history.step == 4999 and history.count == 5000 and history.max_value == 5.0 + 1 / 1235
    nan_run = client.get(f"/api/v1/runs/{rid(3)}").json()
    assert nan_run["data"]["metrics"]["acc"]["value"] == "NaN"


def test_search_filters_orders_and_selects_columns(client: TestClient) -> None:
    assert search(client) == ["zeta", "delta", "gamma", "beta", "alpha"]
    assert search(client, filter="metrics.acc > 0.8 AND params.model = 'cnn'") == ["beta", "alpha"]
    assert search(client, order_by=["metrics.acc DESC"]) == [
        "alpha",
        "beta",
        "zeta",
        "delta",
        "gamma",
    ]
    assert search(client, filter="params.lr = '0.1' OR tags.team = 'nlp'") == [
        "zeta",
        "gamma",
        "alpha",
    ]
    assert search(client, filter="tags.team IS NULL") == ["delta"]
    assert search(client, filter="metrics.`train_loss`.max > 1") == ["alpha"]
    assert search(client, view_type="ALL", filter="attributes.run_name = 'eps'") == ["eps"]
    body = client.post(
        "/api/v1/runs/search",
        json={
            "experiment_names": ["vision"],
            "columns": {"params": ["lr"], "metrics": [], "tags": []},
        },
    ).json()
    first = body["runs"][0]["data"]
    assert first == {"params": {"lr": "0.5"}, "tags": {}, "metrics": {}}
    via_get = client.get(
        "/api/v1/runs/search", params={"experiment_id": "1", "filter": "params.lr = '0.01'"}
    ).json()
    assert [r["info"]["run_name"] for r in via_get["runs"]] == ["beta"]


def test_search_pages_with_opaque_tokens(client: TestClient) -> None:
    names, token = [], None
    for _ in range(5):
        body = {"experiment_ids": ["1", "2"], "max_results": 2, "page_token": token}
        page = client.post("/api/v1/runs/search", json=body).json()
        names += [r["info"]["run_name"] for r in page["runs"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert names == ["zeta", "delta", "gamma", "beta", "alpha"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"filter": "metrics.acc >"}, "invalid_filter"),
        ({"filter": "params.lr < '1'"}, "invalid_filter"),
        ({"order_by": ["nonsense.x"]}, "invalid_filter"),
        ({"page_token": "not-a-token"}, "invalid_page_token"),
        ({"max_results": 10_000_000}, "invalid_request"),
        ({"max_results": 0}, "invalid_request"),
        ({"view_type": "SOME"}, "invalid_request"),
    ],
)
def test_bad_search_input_is_a_400_that_says_why(
    client: TestClient, body: dict[str, object], code: str
) -> None:
    resp = client.post("/api/v1/runs/search", json={"experiment_ids": ["1"], **body})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and error["message"]
    if code == "invalid_filter" and "filter" in body:
        assert error["position"] >= 0 and error["expected"]


def test_token_of_another_search_is_refused(client: TestClient) -> None:
    page = client.post(
        "/api/v1/runs/search", json={"experiment_ids": ["1"], "max_results": 1}
    ).json()
    other = client.post(
        "/api/v1/runs/search",
        json={"experiment_ids": ["2"], "max_results": 1, "page_token": page["next_page_token"]},
    )
    assert other.status_code == 400 and "different query" in other.json()["error"]["message"]


def test_history_is_downsampled_keeping_ends_and_spikes(client: TestClient) -> None:
    resp = client.get(
        f"/api/v1/runs/{rid(1)}/metric-history", params={"key": "train_loss", "max_points": 100}
    )
    body = Wire(HistoriesResponse).parse(resp.json())
    (series,) = body.series
    assert series.downsampled and series.total_points == 5000
    assert len(series.steps) <= 100
    assert series.steps[0] == 0 and series.steps[-1] == 4999
    assert 1234 in series.steps and series.steps == sorted(series.steps)
    zoom = client.post(
        "/api/v1/metrics/history",
        json={
            "run_ids": [rid(1), rid(2)],
            "keys": ["train_loss"],
            "max_points": 400,
            "min_step": 100,
            "max_step": 199,
        },
    ).json()["series"]
    assert [(s["run_id"], len(s["steps"]), s["downsampled"]) for s in zoom] == [
        (rid(1), 100, False),
        (rid(2), 100, False),
    ]
    by_time = client.post(
        "/api/v1/metrics/history",
        json={"run_ids": [rid(2)], "keys": ["train_loss"], "x_axis": "time", "max_points": 10},
    ).json()["series"][0]
    assert by_time["timestamps"][0] == NOW + 200 and by_time["timestamps"][-1] == NOW + 499
    too_many = client.post(
        "/api/v1/metrics/history", json={"run_ids": [rid(1)], "keys": ["a"], "max_points": 2}
    )
    assert too_many.status_code == 400


def test_history_as_columns_full_or_downsampled_in_arrow_or_json(client: TestClient) -> None:
    runs = [rid(2), rid(1)]
    full = client.get("/api/v1/metrics/columns", params={"run_id": runs, "key": "train_loss"})
    assert full.status_code == 200, full.text
    body = Wire(HistoriesResponse).parse(full.json())
    assert [(s.run_id, s.total_points, len(s.steps), s.downsampled) for s in body.series] == [
        (rid(1), 5000, 5000, False),
        (rid(2), 300, 300, False),
    ]
    assert body.series[0].steps == list(range(5000))
    assert body.series[0].values[1234] == pytest.approx(5.0 + 1 / 1235)
    assert body.series[1].timestamps[:2] == [NOW + 200, NOW + 201]
    assert int(full.headers["x-runstream-snapshot"]) == body.snapshot_id > 0

    arrow = client.post("/api/v1/metrics/columns", json={"run_ids": runs, "keys": ["train_loss"]},
                        headers={"Accept": ARROW_STREAM})
    assert arrow.headers["content-type"].startswith(ARROW_STREAM)
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.column_names == ["run_id", "key", "step", "timestamp", "value"]
    assert table.num_rows == 5300
    assert table.column("run_id").to_pylist() == [rid(1)] * 5000 + [rid(2)] * 300
    assert table.column("step").to_pylist()[4999:5001] == [4999, 0]
    assert table.schema.metadata[b"runstream.snapshot_id"] == str(body.snapshot_id).encode()

    wanted = {"run_ids": [rid(1)], "keys": ["train_loss"], "max_points": 100}
    thin = client.post("/api/v1/metrics/columns", json=wanted).json()["series"]
    rows = client.post("/api/v1/metrics/history", json=wanted).json()["series"]
    assert thin == rows and thin[0]["downsampled"] and len(thin[0]["steps"]) <= 100
    nan = client.get("/api/v1/metrics/columns", params={"run_id": rid(3), "key": "acc"})
    assert nan.json()["series"][0]["values"] == ["NaN"]
    assert client.get("/api/v1/metrics/columns", params={"run_id": rid(1)}).status_code == 400


def test_the_sdk_reads_histories_as_arrow_and_as_mlflow_metrics(client: TestClient) -> None:
    transport = client._transport  # the app itself, in process
    table = read_history("http://testserver", [rid(1), rid(2)], "train_loss",
                         transport=transport)
    assert table.num_rows == 5300 and table.column("value").type == pa.float64()
    thin = read_history("http://testserver", rid(1), ["train_loss"], max_points=50,
                        transport=transport)
    assert 2 < thin.num_rows <= 50
    points = metric_history("http://testserver", rid(2), "train_loss", transport=transport)
    assert [(p.step, p.timestamp) for p in points[:2]] == [(0, NOW + 200), (1, NOW + 201)]
    assert points[0].value == pytest.approx(0.5) and len(points) == 300
    assert metric_history("http://testserver", rid(2), "nope", transport=transport) == []


def test_compare_splits_params_and_adds_histories(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/compare",
        json={"run_ids": [rid(1), rid(2)], "metric_keys": ["train_loss"], "history_points": 50},
    )
    body = Wire(CompareResponse).parse(resp.json())
    assert body.params_differ == ["lr"] and body.params_same == ["model"]
    assert body.metric_keys == ["train_loss"]
    assert [len(s.steps) <= 50 for s in body.histories] == [True, True]
    missing = client.get("/api/v1/compare", params={"run_id": [rid(1), rid(98)]})
    assert missing.status_code == 404


def test_artifacts_list_download_and_presign(
    client: TestClient, lake: tuple[Settings, Dataset]
) -> None:
    root = Wire(ArtifactsPage).parse(client.get(f"/api/v1/runs/{rid(1)}/artifacts").json())
    assert [(f.path, f.is_dir) for f in root.files] == [
        ("model", True),
        ("page.html", False),
        ("plots", True),
        ("readme.txt", False),
    ]
    model = client.get(f"/api/v1/runs/{rid(1)}/artifacts", params={"path": "model"}).json()
    assert [f["path"] for f in model["files"]] == ["model/MLmodel", "model/model.pkl"]
    every = client.get(f"/api/v1/runs/{rid(1)}/artifacts", params={"recursive": True}).json()
    assert len(every["files"]) == 5
    got = client.get(f"/api/v1/runs/{rid(1)}/artifacts/download", params={"path": "readme.txt"})
    assert got.content == b"hello artifacts\n"
    html = client.get(
        f"/api/v1/runs/{rid(1)}/artifacts/download", params={"path": "page.html", "inline": True}
    )
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")
    presigned = client.get(
        f"/api/v1/runs/{rid(1)}/artifacts/presign", params={"path": "model/MLmodel"}
    )
    assert httpx.get(presigned.json()["url"]).content == lake[1].artifact_keys["model/MLmodel"]


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "%2e%2e/x",
        "%252e%252e/x",
        "/etc/passwd",
        "model\\..\\x",
        "a\x00b",
        "a//b",
        "C:/Windows",
        "model/../../2",
        "\uff0e\uff0e/x",
    ],
)
def test_artifact_paths_that_escape_are_refused(client: TestClient, path: str) -> None:
    for endpoint in ("", "/download", "/presign"):
        resp = client.get(f"/api/v1/runs/{rid(1)}/artifacts{endpoint}", params={"path": path})
        assert resp.status_code == 400, (endpoint, path, resp.text)
        assert resp.json()["error"]["code"] == "invalid_artifact_path"


def test_a_forged_artifact_row_cannot_reach_another_runs_files(client: TestClient) -> None:
    resp = client.get(f"/api/v1/runs/{rid(2)}/artifacts/download", params={"path": "stolen.txt"})
    assert resp.status_code == 400
    missing = client.get(f"/api/v1/runs/{rid(1)}/artifacts/download", params={"path": "nope.txt"})
    assert missing.status_code == 404


def test_registry_models_versions_stages_aliases(client: TestClient) -> None:
    models = Wire(RegisteredModelsPage).parse(client.get("/api/v1/registered-models").json())
    assert [m.name for m in models.registered_models] == ["classifier", "detector"]
    model = Wire(RegisteredModelResponse).parse(
        client.get("/api/v1/registered-models/classifier").json()
    )
    assert model.aliases == {"champion": 2, "next": 3}
    assert sorted((v.current_stage, v.version) for v in model.latest_versions) == [
        ("Archived", 1),
        ("Production", 2),
        ("Staging", 3),
    ]
    v2 = Wire(ModelVersionResponse).parse(
        client.get("/api/v1/registered-models/classifier/versions/2").json()
    )
    assert v2.tags == {"validated": "yes"} and v2.aliases == ["champion"]
    assert client.get("/api/v1/registered-models/classifier/versions/4").status_code == 404
    prod = client.get("/api/v1/registered-models/classifier/stages/production").json()
    assert prod["version"] == 2
    assert client.get("/api/v1/registered-models/classifier/aliases/next").json()["version"] == 3
    versions = Wire(ModelVersionsPage).parse(
        client.get("/api/v1/registered-models/classifier/versions").json()
    )
    assert [v.version for v in versions.model_versions] == [3, 2, 1]
    by_run = client.get("/api/v1/model-versions", params={"filter": f"run_id = '{rid(2)}'"}).json()
    assert [v["version"] for v in by_run["model_versions"]] == [2]
    history = Wire(StageHistoryResponse).parse(
        client.get("/api/v1/registered-models/classifier/versions/1/stage-history").json()
    )
    assert [t.to_stage for t in history.transitions] == ["Production", "Archived"]
    assert client.get("/api/v1/model-versions/by-request/req-3").json()["version"] == 3
    assert client.get("/api/v1/model-versions/by-request/unknown").status_code == 404


@pytest.mark.parametrize(
    ("uri", "version"),
    [
        ("models:/classifier/1", 1),
        ("models:/classifier/Production", 2),
        ("models:/classifier/staging", 3),
        ("models:/classifier@champion", 2),
        ("models:/classifier/latest", 3),
        ("models:/detector/None", 1),
    ],
)
def test_model_uris_resolve(client: TestClient, uri: str, version: int) -> None:
    resp = client.get("/api/v1/registry/resolve", params={"uri": uri})
    body = Wire(ResolvedModelResponse).parse(resp.json())
    assert (body.name, body.version) == (uri.split("/")[1].split("@")[0], version)


@pytest.mark.parametrize(
    ("uri", "status"),
    [
        ("models:/classifier/9", 404),
        ("models:/classifier@nobody", 404),
        ("runs:/x/y", 400),
        ("models:/classifier/Prod", 400),
        ("models:/gone/1", 404),
    ],
)
def test_bad_model_uris(client: TestClient, uri: str, status: int) -> None:
    assert client.get("/api/v1/registry/resolve", params={"uri": uri}).status_code == status


def test_sql_reads_and_limits_rows(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/sql",
        json={
            "sql": "SELECT run_name, status FROM runs WHERE experiment_id = '1' ORDER BY run_name"
        },
    )
    body = Wire(SqlResponse).parse(resp.json())
    assert body.columns == ["run_name", "status"] and body.rows[0] == ["alpha", "FINISHED"]
    assert int(resp.headers["x-runstream-snapshot"]) == body.snapshot_id
    limited = client.post(
        "/api/v1/sql", json={"sql": "SELECT * FROM metrics", "max_rows": 10}
    ).json()
    assert limited["row_count"] == 10 and limited["truncated"] is True


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM runs",
        "INSERT INTO runs SELECT * FROM runs",
        "DROP TABLE runs",
        "ATTACH '/tmp/x.db' AS x",
        "COPY runs TO '/tmp/runs.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM glob('/*')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 1",
        "PRAGMA database_list",
        "CALL ducklake_flush_inlined_data('lake')",
        "SELECT 1; SELECT 2",
        "SELECT * FROM read_parquet('s3://runstream-lake/**')",
        "SELECT getenv('RUNSTREAM_S3_SECRET_KEY')",
        "SELECT * FROM duckdb_secrets()",
        "SELECT * FROM no_such_table",
        "SELEC 1",
    ],
)
def test_sql_that_writes_reads_files_or_is_wrong_is_a_400(client: TestClient, sql: str) -> None:
    resp = client.post("/api/v1/sql", json={"sql": sql})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "sql_rejected"


def test_slow_sql_is_interrupted_and_is_the_callers_error(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/sql",
        json={"sql": "SELECT count(*) FROM range(100000000000) a", "timeout_s": 0.5},
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "sql_time_limit"
    assert "0.5 s" in resp.json()["error"]["message"]


def test_ingest_config_says_where_to_publish_without_secrets(
    client: TestClient, lake: tuple[Settings, Dataset]
) -> None:
    settings = lake[0]
    body = client.get("/api/v1/ingest-config").json()
    assert body["kafka"]["bootstrap_servers"] == settings.bootstrap
    assert body["topics"]["events"] == settings.topic_events
    assert body["artifacts"]["bucket"] == settings.artifacts_bucket
    assert settings.s3_secret_key not in str(body)
    flat = [v for section in body.values() if isinstance(section, dict) for v in section.values()]
    assert settings.s3_access_key not in flat


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] and ready["materializer_lag"] == 7 and ready["snapshot_id"] > 0
    text = client.get("/metrics").text
    assert "runstream_http_requests_total{" in text
    assert 'route="/api/v1/runs/{run_id}"' in text
    assert "runstream_materializer_lag_events 7" in text


def test_unknown_routes_and_methods_answer_in_the_envelope(client: TestClient) -> None:
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "endpoint_not_found"
    wrong_method = client.delete(f"/api/v1/runs/{rid(1)}")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["message"]


def test_openapi_documents_the_native_and_mlflow_apis(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/runs/search" in paths and "/api/v1/sql" in paths
    assert "/api/2.0/mlflow/runs/search" in paths
    assert not any(p.startswith("/ajax-api") for p in paths)
    ok = paths["/api/v1/runs/{run_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/RunResponse")


def test_token_auth_guards_everything_but_probes(lake: tuple[Settings, Dataset]) -> None:
    import dataclasses

    settings = dataclasses.replace(lake[0], api_token="s3cret")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        denied = client.get(f"/api/v1/runs/{rid(1)}")
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthenticated"
        wrong = client.get(f"/api/v1/runs/{rid(1)}", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get(f"/api/v1/runs/{rid(1)}", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        mlflow = client.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "1"})
        assert mlflow.status_code == 401 and mlflow.json()["error_code"] == "UNAUTHENTICATED"


def test_service_starts_before_the_lake_exists(stack_settings: Settings, tmp_path: Path) -> None:
    settings = per_test_settings(stack_settings, tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "materializer" in ready.json()["error"]
        resp = client.get(f"/api/v1/runs/{rid(1)}")
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "lake_unavailable"
        # The lake appears from another process, as the materializer would create it:
        # two DuckDB instances writing and reading one DuckLake in one process is not
        # what production does (and crashed DuckDB once here).
        spawn = multiprocessing.get_context("spawn")
        writer = spawn.Process(target=fill_lake, args=(settings,), kwargs={"history_points": 10})
        writer.start()
        writer.join(120)
        assert writer.exitcode == 0
        assert client.get(f"/api/v1/runs/{rid(1)}").status_code == 200
        assert client.get("/readyz").status_code == 200
