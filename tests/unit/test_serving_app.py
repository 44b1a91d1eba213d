"""The model server in-process: MLflow's protocol, hostile bodies, timeouts, A/B, metrics, swaps."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from serving_support import FolderRegistry, save_sklearn, save_sleepy, wine_frame

from runstream.serving.options import ServeOptions, parse_target
from runstream.serving.server import build_app

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("serving")
    model = save_sklearn(root / "v1")
    save_sleepy(root / "sleepy")
    (root / "broken").mkdir()
    return {"v1": root / "v1", "sleepy": root / "sleepy", "broken": root / "broken",
            "model": model}


async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    await app.startup()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://serving") as client:
        yield client
    await app.shutdown()


def _app(targets: list[str], registry: Any = None, **kw: Any) -> Any:
    options = ServeOptions(targets=tuple(parse_target(t) for t in targets), **kw)
    return build_app(options, registry or FolderRegistry())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_mlflows_request_formats_are_answered(folders: dict[str, Any]) -> None:
    x, _ = wine_frame()
    want = folders["model"].predict(x.head(5)).tolist()
    head = x.head(5)

    async def go() -> None:
        async for client in _client(_app([str(folders["v1"])])):
            assert (await client.get("/ping")).status_code == 200
            assert (await client.get("/health")).status_code == 200
            bodies = [
                {"dataframe_split": json.loads(head.to_json(orient="split"))},
                {"dataframe_records": json.loads(head.to_json(orient="records"))},
                {"instances": json.loads(head.to_json(orient="records"))},
                {"inputs": {c: head[c].tolist() for c in head.columns}},
                {"dataframe_split": json.loads(head.to_json(orient="split")), "params": {}},
            ]
            for body in bodies:
                answer = await client.post("/invocations", json=body)
                assert answer.status_code == 200, (body, answer.text)
                assert answer.json() == {"predictions": want}
                assert answer.headers["x-runstream-model-version"]
            csv = await client.post(
                "/invocations", content=head.to_csv(index=False),
                headers={"content-type": "text/csv"},
            )
            assert csv.status_code == 200 and csv.json() == {"predictions": want}
            version = (await client.get("/version")).json()
            assert version["mlflow_version"] == "3.17.2"
            assert version["models"][0]["arm"] == str(folders["v1"])

    run(go())


def test_hostile_bodies_get_a_4xx_never_a_500(folders: dict[str, Any]) -> None:
    x, _ = wine_frame()
    split = json.loads(x.head(2).to_json(orient="split"))
    missing = {"columns": split["columns"][1:], "data": [r[1:] for r in split["data"]]}
    wrong_type = {"columns": split["columns"], "data": [["x"] * len(split["columns"])]}
    nan_row = {"columns": split["columns"], "data": [[float("nan")] * len(split["columns"])]}
    cases: list[tuple[str, bytes, str, int, str]] = [
        ("missing column", json.dumps({"dataframe_split": missing}).encode(), "application/json",
         400, "alcohol"),
        ("wrong type", json.dumps({"dataframe_split": wrong_type}).encode(), "application/json",
         400, "alcohol"),
        ("NaN", json.dumps({"dataframe_split": nan_row}).encode(), "application/json", 400, ""),
        ("not JSON", b"{not json", "application/json", 400, "JSON"),
        ("a list", b"[1, 2, 3]", "application/json", 400, "dictionary"),
        ("no format key", b'{"rows": []}', "application/json", 400, "dataframe_split"),
        ("nested garbage", json.dumps({"dataframe_split": {"columns": [[[{"a": []}]]],
                                       "data": {"x": [[[]]]}}}).encode(), "application/json",
         400, ""),
        ("deep nesting", b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "application/json", 400, ""),
        ("10 MB", b'{"inputs": "' + b"x" * (10 * 1024 * 1024) + b'"}', "application/json", 413,
         "larger"),
        ("bad csv", b"\x00\xff\xfe", "text/csv", 400, ""),
        ("unknown type", b"abc", "application/xml", 415, ""),
    ]

    async def go() -> None:
        async for client in _client(_app([str(folders["v1"])])):
            for what, body, ctype, status, needle in cases:
                answer = await client.post(
                    "/invocations", content=body, headers={"content-type": ctype}
                )
                assert answer.status_code == status, (what, answer.text[:300])
                envelope = answer.json()
                assert envelope["error_code"], what
                assert needle in envelope["message"], (what, envelope["message"][:300])
                assert len(answer.content) < 5000, what
            assert (await client.get("/invocations")).status_code == 405
            assert (await client.get("/nowhere")).status_code == 404
            metrics = (await client.get("/metrics")).text
            assert 'status="413"' in metrics and "runstream_serving_errors_total" in metrics

    run(go())


def test_a_slow_predict_is_a_504(folders: dict[str, Any]) -> None:
    async def go() -> None:
        async for client in _client(_app([str(folders["sleepy"])], timeout_s=0.5)):
            fast = await client.post("/invocations", json={"dataframe_split": {
                "columns": ["sleep"], "data": [[0.0]]}})
            assert fast.status_code == 200, fast.text
            slow = await client.post("/invocations", json={"dataframe_split": {
                "columns": ["sleep"], "data": [[2.0]]}})
            assert slow.status_code == 504 and slow.json()["error_code"] == "DEADLINE_EXCEEDED"

    run(go())


def test_ab_weights_and_sticky_keys(folders: dict[str, Any]) -> None:
    registry = FolderRegistry()
    registry.names = {"models:/churn@champion": "1", "models:/churn@challenger": "2"}
    registry.sources = {"1": str(folders["v1"]), "2": str(folders["v1"])}
    app = _app(["models:/churn@champion=90", "models:/churn@challenger=10"], registry)
    x, _ = wine_frame()
    body = {"dataframe_split": json.loads(x.head(1).to_json(orient="split"))}

    async def go() -> None:
        async for client in _client(app):
            arms: Counter[str] = Counter()
            for _ in range(2000):
                answer = await client.post("/invocations", json=body)
                assert answer.status_code == 200
                arms[answer.headers["x-runstream-arm"]] += 1
            assert abs(arms["champion"] / 2000 - 0.9) < 0.03, arms
            sticky = set()
            for _ in range(50):
                answer = await client.post(
                    "/invocations", json=body, headers={"X-Runstream-Route-Key": "customer-42"}
                )
                sticky.add(answer.headers["x-runstream-arm"])
            assert len(sticky) == 1
            metrics = (await client.get("/metrics")).text
            assert 'arm="challenger",version="2"' in metrics

    run(go())


def test_a_failed_load_keeps_the_old_version(folders: dict[str, Any]) -> None:
    registry = FolderRegistry()
    registry.names = {"models:/churn@champion": "1"}
    registry.sources = {"1": str(folders["v1"]), "2": str(folders["broken"]),
                        "3": str(folders["v1"])}
    app = _app(["models:/churn@champion"], registry)

    async def go() -> None:
        async for _client_ in _client(app):
            target = app.targets[0]
            registry.names["models:/churn@champion"] = "2"
            assert target.check(retry_s=60) is False
            assert target.current.version == "1"
            registry.names["models:/churn@champion"] = "3"
            assert target.check(retry_s=60) is True
            assert target.current.version == "3"
            assert (await _client_.get("/version")).json()["models"][0]["version"] == "3"

    run(go())


def test_targets_parse_weights() -> None:
    assert parse_target("models:/churn@champion=90") == ("models:/churn@champion", 90.0)
    assert parse_target("models:/churn/1") == ("models:/churn/1", 1.0)
    assert parse_target("s3://b/k=v/model") == ("s3://b/k=v/model", 1.0)
