"""Each tested flavor is logged through MLflow's code, registered, and loaded by every URI form.

Flavors tested here: sklearn, xgboost, lightgbm, onnx, pyfunc (light CPU wheels in the
test extra). pytorch, tensorflow/keras and transformers use the same code path
(:class:`runstream.sdk.flavors.Flavor`) but their packages are too heavy for the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from models_helpers import FLAVORS, REQUIREMENTS, labels, model_input, wine

import runstream as mlflow
from runstream.errors import NotFoundError, ValidationError
from runstream.sdk.client import RunstreamClient


@pytest.fixture
def client(sdk_settings_client: RunstreamClient) -> RunstreamClient:
    return sdk_settings_client


def test_each_flavor_loads_by_every_uri(client: RunstreamClient, tmp_path: Path) -> None:
    for flavor in sorted(FLAVORS):
        _check_flavor(flavor, client, tmp_path / flavor)


def _check_flavor(flavor: str, client: RunstreamClient, tmp_path: Path) -> None:
    x, y = wine()
    model = FLAVORS[flavor](x, y)
    module = getattr(mlflow, flavor)
    name = f"wine-{flavor}"
    with mlflow.start_run() as run:
        info = module.log_model(
            model,
            name="model",
            input_example=model_input(flavor, x.head(3)),
            pip_requirements=REQUIREMENTS[flavor],
            registered_model_name=name,
            await_registration_for=120,
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
    want = labels(flavor, module_predict(flavor, model, x))
    for uri in uris:
        loaded = _eventually(lambda uri=uri: mlflow.pyfunc.load_model(uri))
        got = labels(flavor, loaded.predict(model_input(flavor, x)))
        assert (got == want).all(), uri
    native = module.load_model(f"models:/{name}@champion")
    assert type(native) is type(model)


def module_predict(flavor: str, model: object, x: object) -> object:
    """What the flavor's own object predicts (the reference for every load)."""
    if flavor == "onnx":
        import onnxruntime  # type: ignore[import-untyped]

        session = onnxruntime.InferenceSession(model.SerializeToString())  # type: ignore[attr-defined]
        return session.run(None, {session.get_inputs()[0].name: model_input(flavor, x)})[0]
    return model.predict(x)  # type: ignore[attr-defined]


def _eventually(load: object, timeout_s: float = 30.0) -> object:
    import time

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
