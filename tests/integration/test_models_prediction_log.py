"""The prediction log: ``runstream models serve --log-predictions`` as a user runs it.

A served sklearn model answers requests; each answered request lands in the lake's
``predictions`` table through the real broker and materializer, queryable with SQL.
With the broker gone, the server keeps answering every request and counts the log
records it drops.
"""

from __future__ import annotations

import dataclasses
import json
import time

import httpx
import pytest
from models_helpers import sklearn_model, wine
from models_server import serve

import runstream as mlflow
from runstream.config import Settings
from runstream.sdk.client import RunstreamClient
from runstream.stack import free_ports


@pytest.fixture
def client(sdk_settings_client: RunstreamClient) -> RunstreamClient:
    return sdk_settings_client


def _model_uri() -> tuple[str, str]:
    x, y = wine()
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(
            sklearn_model(x, y), name="model", input_example=x.head(2),
            pip_requirements=["scikit-learn", "skops"],
        )
    mlflow.flush()
    body = json.dumps({"dataframe_split": x.head(3).to_dict(orient="split")})
    return f"runs:/{run.info.run_id}/model", body


def _sql(settings: Settings, sql: str) -> list[list[object]]:
    url = f"http://127.0.0.1:{settings.ports.api}/api/v1/sql"
    answer = httpx.post(url, json={"sql": sql}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]  # type: ignore[no-any-return]


def _post(url: str, body: str) -> httpx.Response:
    return httpx.post(f"{url}/invocations", content=body,
                      headers={"Content-Type": "application/json"}, timeout=30)


def _dropped(url: str) -> int:
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    name = "runstream_serving_prediction_log_dropped_total"
    return int(next(x for x in metrics.splitlines() if x.startswith(name)).split()[-1])


@pytest.mark.timeout(600)
def test_answered_requests_land_in_the_lake_and_a_missing_broker_only_costs_records(
    running_apps: Settings, client: RunstreamClient
) -> None:
    uri, body = _model_uri()
    (dead,) = free_ports(1)
    no_broker = dataclasses.replace(running_apps, kafka_bootstrap=f"127.0.0.1:{dead}")
    served = serve(running_apps, "-m", uri, "--log-predictions")
    cut_off = serve(no_broker, "-m", uri, "--log-predictions")
    url, cut_off_url = served.url, cut_off.url
    try:
        for _ in range(25):
            assert _post(url, body).status_code == 200
            assert _post(cut_off_url, body).status_code == 200  # the log never blocks
        assert _post(url, "{not json").status_code == 400
        sql = ("SELECT model_uri, status, count(*), min(latency_ms) > 0, bool_or(truncated) "
               "FROM predictions GROUP BY ALL ORDER BY status")
        deadline = time.monotonic() + 60
        rows = _sql(running_apps, sql)
        while sum(int(str(r[2])) for r in rows) < 26 and time.monotonic() < deadline:
            time.sleep(0.5)
            rows = _sql(running_apps, sql)
        assert rows == [[uri, 200, 25, True, False], [uri, 400, 1, True, False]]
        sample = _sql(running_apps, "SELECT request, response FROM predictions "
                                    "WHERE status = 200 LIMIT 1")
        assert json.loads(str(sample[0][0])) == json.loads(body)
        assert len(json.loads(str(sample[0][1]))["predictions"]) == 3
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert "runstream_serving_prediction_log_sent_total 26" in metrics
        while _dropped(cut_off_url) < 25 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _dropped(cut_off_url) == 25
    finally:
        served.stop()
        cut_off.stop()
