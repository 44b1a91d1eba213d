"""Each flavor is logged through MLflow's code, registered, loaded by every URI form, and served.

Flavors: sklearn, xgboost, lightgbm, onnx, pytorch, keras (Keras 3 on the torch backend),
tensorflow (a ``tf.Module``) and transformers (a tiny pipeline built here, no hub). Each
model is compared with what the flavor's own object answers: loaded back through
``runs:/``, ``models:/<name>/<version>``, ``/<stage>``, ``@<alias>``, ``s3://`` and a
local folder, then served by one ``runstream models serve -m models:/<name>@champion``
per flavor (started together).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from models_helpers import CASES, Case, assert_same, rows
from models_server import Server, start

import runstream as mlflow
from runstream.config import Settings
from runstream.errors import NotFoundError, ValidationError
from runstream.sdk.client import RunstreamClient


@pytest.fixture
def client(sdk_settings_client: RunstreamClient) -> RunstreamClient:
    return sdk_settings_client


@pytest.mark.timeout(600)  # measured 138 s (load 3), 247 s (load 19): eight flavors, eight servers
def test_each_flavor_loads_by_every_uri_and_is_served(
    running_apps: Settings, client: RunstreamClient, tmp_path: Path
) -> None:
    cases = {flavor: build() for flavor, build in CASES.items()}
    for flavor, case in cases.items():
        _log_and_load(flavor, case, client, tmp_path / flavor)
    # Keras' backend is what MLmodel says, not a variable the server inherits.
    servers = {
        flavor: start(
            running_apps, "-m", f"models:/wine-{flavor}@champion", drop_env=("KERAS_BACKEND",)
        )
        for flavor in cases
    }
    try:
        for flavor, server in servers.items():
            _check_served(flavor, cases[flavor], server.wait_ready(240))
    finally:
        for server in servers.values():
            server.stop()


def _log_and_load(flavor: str, case: Case, client: RunstreamClient, tmp_path: Path) -> None:
    module = getattr(mlflow, flavor)
    name = f"wine-{flavor}"
    with mlflow.start_run() as run:
        info = module.log_model(
            case.model,
            name="model",
            registered_model_name=name,
            await_registration_for=120,
            **case.log_kwargs,
        )
    assert info.registered_model_version == 1
    client.transition_model_version_stage(name, 1, "Production")
    client.set_registered_model_alias(name, "champion", 1)
    client.flush(30)
    version = client.resolve_model_uri(f"models:/{name}/1")
    assert version is not None
    folder = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="model", dst_path=str(tmp_path / "dl")
    )
    uris = [
        f"runs:/{run.info.run_id}/model",
        f"models:/{name}/1",
        f"models:/{name}/production",
        f"models:/{name}@champion",
        version.source,  # s3://...
        folder,
    ]
    for uri in uris:
        loaded = _eventually(lambda uri=uri: mlflow.pyfunc.load_model(uri))
        assert_same(rows(loaded.predict(case.inputs)), case.expected, f"{flavor} {uri}")
    native = module.load_model(f"models:/{name}@champion")
    assert isinstance(native, case.native), (flavor, type(native))


def _check_served(flavor: str, case: Case, server: Server) -> None:
    answer = httpx.post(f"{server.url}/invocations", json=case.body, timeout=60)
    assert answer.status_code == 200, (flavor, answer.text[:2000])
    assert answer.headers["x-runstream-model-version"] == "1"
    assert answer.headers["x-runstream-model-name"] == f"wine-{flavor}"
    served = rows(answer.json()["predictions"])
    assert_same(served, case.expected[: len(served)], f"{flavor} served")
    wrong = httpx.post(
        f"{server.url}/invocations", json={"inputs": {"nested": [[["x"]]]}}, timeout=60
    )
    assert 400 <= wrong.status_code < 500, (flavor, wrong.status_code, wrong.text[:500])


def _eventually(load: object, timeout_s: float = 30.0) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return load()  # type: ignore[operator]
        except NotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_bad_uri_names_the_forms(client: RunstreamClient) -> None:
    with pytest.raises(ValidationError, match="runs:/<run_id>/<path>"):
        mlflow.pyfunc.load_model("ftp://nowhere/model")
    with pytest.raises(NotFoundError):
        mlflow.pyfunc.load_model("models:/no-such-model@champion")
