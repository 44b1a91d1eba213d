"""Each native response: its OpenAPI schema and the JSON the route sends have the same keys.

The JSON is what the route's serializer writes for real records; the schema is
what ``/openapi.json`` publishes for that route. A field added to a record (or to
a response class) must show in both, or this fails.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from pydantic import TypeAdapter

from runstream.config import Settings
from runstream.core.metrics import LatestMetric
from runstream.core.rows import ExperimentRow, LoggedModelRow, ModelRow, RunRow, VersionRow
from runstream.events.floats import NON_FINITE_SPELLINGS, float_to_wire
from runstream.query.http.app import create_app
from runstream.query.http.schemas import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    ops,
    registry,
    runs,
    sql,
)
from runstream.query.http.schemas.columnar import columnar_json_bytes
from runstream.query.http.schemas.wire import MetricFloat
from runstream.query.read.columnar import ColumnarHistory, SeriesInfo
from runstream.query.read.health import LakeHealth, MaterializerStatus
from runstream.query.records import (
    ArtifactEntry,
    DatasetInput,
    Experiment,
    LoggedModel,
    MetricPoint,
    MetricSeries,
    ModelVersion,
    Page,
    RegisteredModel,
    ResolvedModel,
    Run,
    RunComparison,
    SqlResult,
    StageTransition,
)

RUN = Run(
    RunRow("a" * 32, "1", "r", "u", "RUNNING", 1, None, "active", "t.py", "LOCAL", None, None,
           "s3://b/1/a/artifacts", None),
    params={"lr": "0.1"},
    tags={"team": "cv"},
    metrics={"loss": LatestMetric(math.nan, 3, 10, 0.5, math.inf, 4)},
    inputs=(DatasetInput("d", "abc", "local", '{"uri": "x"}', '{"a": 1}', None, {"k": "v"}),),
)
EXPERIMENT = Experiment(ExperimentRow("1", "vision", None, "active", 1, 2), {"team": "cv"})
VERSION = ModelVersion(
    VersionRow("m", 2, "req", "s3://x", "a" * 32, "READY", "Production", None, 1, 2, False),
    {"k": "v"},
    ["champion"],
)
MODEL = RegisteredModel(ModelRow("m", "d", 1, 2, False), {"k": "v"}, {"champion": 2}, [VERSION])
SERIES = MetricSeries("a" * 32, "loss", [MetricPoint(0, 1, 0.5), MetricPoint(1, 2, -math.inf)],
                      2, False)

# (path, method) of a route -> the JSON its serializer writes for real records
RESPONSES: dict[tuple[str, str], bytes] = {
    ("/api/v1/runs/search", "get"): runs.RUNS_PAGE.json(runs.RunsPage.read(Page([RUN], "t"), 7)),
    ("/api/v1/runs/search", "post"): runs.RUNS_PAGE.json(runs.RunsPage.read(Page([RUN]), 7)),
    ("/api/v1/runs/{run_id}", "get"): runs.RUN.json(runs.RunResponse.read(RUN, 7)),
    ("/api/v1/experiments", "get"): experiments.EXPERIMENTS_PAGE.json(
        experiments.ExperimentsPage.read(Page([EXPERIMENT]), 7)
    ),
    ("/api/v1/experiments/{experiment_id}", "get"): experiments.EXPERIMENT.json(
        experiments.ExperimentResponse.read(EXPERIMENT, 7)
    ),
    ("/api/v1/registered-models", "get"): registry.MODELS_PAGE.json(
        registry.RegisteredModelsPage.read(Page([MODEL]), 7)
    ),
    ("/api/v1/registered-models/{name}", "get"): registry.MODEL.json(
        registry.RegisteredModelResponse.read(MODEL, 7)
    ),
    ("/api/v1/model-versions", "get"): registry.VERSIONS_PAGE.json(
        registry.ModelVersionsPage.read(Page([VERSION]), 7)
    ),
    ("/api/v1/registered-models/{name}/versions/{version}", "get"): registry.VERSION.json(
        registry.ModelVersionResponse.read(VERSION, 7)
    ),
    ("/api/v1/registered-models/{name}/versions/{version}/stage-history", "get"): (
        registry.STAGE_HISTORY.json(
            registry.StageHistoryResponse(
                "m", 2, [StageTransition("m", 2, None, "Production", "r", "e", 5)], 7
            )
        )
    ),
    ("/api/v1/registry/resolve", "get"): registry.RESOLVED.json(
        registry.ResolvedModelResponse.read(ResolvedModel("m", 2, "s3://x", None, "None"), 7)
    ),
    ("/api/v1/runs/{run_id}/metric-history", "get"): metrics.HISTORIES.json(
        metrics.HistoriesResponse.read([SERIES], 7)
    ),
    ("/api/v1/compare", "post"): metrics.COMPARISON.json(
        metrics.CompareResponse.read(RunComparison([RUN], ["lr"], [], ["loss"], [SERIES]), 7)
    ),
    ("/api/v1/runs/{run_id}/artifacts", "get"): artifacts.ARTIFACTS_PAGE.json(
        artifacts.ArtifactsPage.read("s3://b/1/a", Page([ArtifactEntry("m.txt", False)]), 7)
    ),
    ("/api/v1/runs/{run_id}/artifacts/presign", "get"): artifacts.PRESIGNED_URL.json(
        artifacts.PresignedUrl("http://x", "m.txt", 3, 60, 7)
    ),
    ("/api/v1/metrics/columns", "post"): columnar_json_bytes(
        ColumnarHistory(
            pa.table({"step": [0, 1], "timestamp": [1, 2], "value": [0.5, math.nan]}),
            [SeriesInfo("a" * 32, "loss", 2, False, 0, 2)],
        ),
        7,
    ),
    ("/api/v1/runs/{run_id}/logged-models", "get"): logged_models.LOGGED_MODELS.json(
        logged_models.LoggedModelsResponse.read(
            [LoggedModel(LoggedModelRow("m-" + "a" * 32, "1", "model", "a" * 32, None,
                                        "s3://b/1/models/m/artifacts", "READY", "active", 1, 2),
                         {"p": "1"}, {"t": "x"})],
            7,
        )
    ),
    ("/healthz", "get"): ops.HEALTH.json(ops.Health("ok")),
    ("/readyz", "get"): ops.READINESS.json(
        ops.Readiness.of(
            LakeHealth(7, 1_000, [MaterializerStatus("m-1", 1_000, 5.0, 9.5, 3.0, 0, 2)], 2), 2.0
        )
    ),
    ("/api/v1/ingest-config", "get"): ops.INGEST_CONFIG.json(ops.IngestConfig.of(Settings())),
    ("/api/v1/sql", "post"): sql.SQL_RESULT.json(
        sql.SqlResponse.read(SqlResult(["a"], [[1, "NaN"]], False, 1.5), 7)
    ),
}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home: Path = tmp_path_factory.mktemp("openapi")
    return create_app(Settings(home=home)).openapi()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {str: "string", int: "integer", float: "number", list: "array", dict: "object"}[
        type(value)
    ]


def _mismatch(spec: dict[str, Any], schema: dict[str, Any], value: Any, at: str) -> str | None:
    """Why ``value`` does not have the shape of ``schema`` (None when it does)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _mismatch(spec, spec["components"]["schemas"][name], value, at)
    if "anyOf" in schema:
        reasons = [_mismatch(spec, s, value, at) for s in schema["anyOf"]]
        return None if None in reasons else " / ".join(r for r in reasons if r)
    if not schema:  # Any
        return None
    kind = _kind(value)
    if schema["type"] != kind and not (schema["type"] == "number" and kind == "integer"):
        return f"{at}: {kind} where the schema says {schema['type']}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{at}: {value!r} not in {schema['enum']}"
    if kind == "array":
        for i, item in enumerate(value):
            if why := _mismatch(spec, schema.get("items", {}), item, f"{at}[{i}]"):
                return why
    if kind == "object" and "properties" in schema:
        declared, sent = set(schema["properties"]), set(value)
        if declared != sent or set(schema.get("required", ())) != sent:
            return f"{at}: schema keys {sorted(declared)} but the JSON has {sorted(sent)}"
        for key, sub in schema["properties"].items():
            if why := _mismatch(spec, sub, value[key], f"{at}.{key}"):
                return why
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            if why := _mismatch(spec, schema["additionalProperties"], item, f"{at}.{key}"):
                return why
    return None


@pytest.mark.parametrize(("path", "method"), sorted(RESPONSES))
def test_openapi_and_the_json_sent_have_the_same_keys(
    openapi: dict[str, Any], path: str, method: str
) -> None:
    operation = openapi["paths"][path][method]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert _mismatch(openapi, schema, orjson.loads(RESPONSES[path, method]), "$") is None


def test_a_field_missing_from_the_json_is_caught(openapi: dict[str, Any]) -> None:
    body = orjson.loads(RESPONSES["/api/v1/runs/{run_id}", "get"])
    del body["info"]["git_commit"]
    schema = openapi["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]["200"]
    why = _mismatch(openapi, schema["content"]["application/json"]["schema"], body, "$")
    assert why and "git_commit" in why


def test_metric_values_are_spelled_as_events_spell_them() -> None:
    body = orjson.loads(RESPONSES["/api/v1/runs/{run_id}", "get"])
    assert body["data"]["metrics"]["loss"] == {
        "value": "NaN", "step": 3, "timestamp": 10, "min": 0.5, "max": "Infinity", "count": 4
    }
    assert orjson.loads(RESPONSES["/api/v1/runs/{run_id}/metric-history", "get"])["series"][0][
        "values"
    ] == [0.5, "-Infinity"]
    spelled = [float_to_wire(v) for v in NON_FINITE_SPELLINGS.values()]
    latest = {s: LatestMetric(v, 0, 0, v, v, 1) for s, v in NON_FINITE_SPELLINGS.items()}
    wire = orjson.loads(TypeAdapter(runs.RunDataOut).dump_json(runs.RunDataOut({}, {}, latest)))
    assert [m["value"] for m in wire["metrics"].values()] == spelled == list(NON_FINITE_SPELLINGS)
    assert TypeAdapter(list[MetricFloat]).json_schema()["items"]["anyOf"][1]["enum"] == spelled


def test_a_response_reads_back_into_its_records() -> None:
    page = runs.RUNS_PAGE.parse(orjson.loads(RESPONSES["/api/v1/runs/search", "get"]))
    metric = page.runs[0].data.metrics["loss"]
    assert page.runs[0].info == RUN.info and metric.max_value == math.inf
    assert math.isnan(metric.value)
    run = runs.RUN.parse(orjson.loads(RESPONSES["/api/v1/runs/{run_id}", "get"]))
    assert run.inputs == list(RUN.inputs)
    version = registry.VERSION.parse(
        orjson.loads(RESPONSES["/api/v1/registered-models/{name}/versions/{version}", "get"])
        | {"deleted": False}
    )
    assert version.aliases == ["champion"] and version.snapshot_id == 7
