"""The scikit-learn flavor: ``runstream.sklearn.log_model(model, "model", ...)``.

The estimator is written with pickle (default), cloudpickle or joblib into
``model.pkl``; ``MLmodel`` carries MLflow's ``sklearn`` and ``python_function``
flavor blocks (loader ``mlflow.sklearn``), so MLflow can load a model that
Runstream logged (pickle and cloudpickle formats). scikit-learn is imported only to
record its version.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Literal

from runstream.errors import ValidationError
from runstream.sdk.models import (
    ModelInfo,
    download_model,
    python_version,
    read_mlmodel,
    requirements,
    resolve_signature,
    save_model_dir,
)
from runstream.sdk.models import log_model as _log_model
from runstream.sdk.signature import Signature

MODEL_FILE = "model.pkl"
SerializationFormat = Literal["pickle", "cloudpickle", "joblib"]
FORMATS = ("pickle", "cloudpickle", "joblib")


def _sklearn_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return "unknown"


def _write(sk_model: Any, folder: Path, fmt: str, predict_fn: str) -> dict[str, Any]:
    """Serializes the estimator; returns the flavors block."""
    target = folder / MODEL_FILE
    if fmt == "joblib":
        import joblib  # type: ignore[import-untyped]

        joblib.dump(sk_model, target)
    elif fmt == "cloudpickle":
        import cloudpickle  # type: ignore[import-untyped]

        with target.open("wb") as handle:
            cloudpickle.dump(sk_model, handle)
    else:
        with target.open("wb") as handle:
            pickle.dump(sk_model, handle, protocol=pickle.DEFAULT_PROTOCOL)
    return {
        "python_function": {
            "loader_module": "mlflow.sklearn",
            "model_path": MODEL_FILE,
            "predict_fn": predict_fn,
            "python_version": python_version(),
            "env": {"virtualenv": None},
        },
        "sklearn": {
            "pickled_model": MODEL_FILE,
            "sklearn_version": _sklearn_version(),
            "serialization_format": fmt,
            "code": None,
        },
    }


def _check(sk_model: Any, fmt: str, predict_fn: str) -> None:
    if fmt not in FORMATS:
        raise ValidationError(f"serialization_format must be one of {FORMATS}, not {fmt!r}")
    if not callable(getattr(sk_model, predict_fn, None)):
        raise ValidationError(f"the model has no {predict_fn}() method; is it fitted?")


def log_model(
    sk_model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    serialization_format: SerializationFormat = "pickle",
    pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    await_registration_for: int = 300,
    run_id: str | None = None,
) -> ModelInfo:
    """Logs a fitted scikit-learn model into the active run (under ``name``, default ``model``).

    Without ``signature``, one is inferred from ``input_example`` (outputs from
    predicting it). With ``registered_model_name`` the model is also registered.

    Raises:
        ValidationError: an unknown serialization format, or a model without the
            predict method.
    """
    from runstream.sdk.fluent import current_run_id, get_client

    _check(sk_model, serialization_format, pyfunc_predict_fn)
    predict = getattr(sk_model, pyfunc_predict_fn)
    return _log_model(
        get_client(),
        run_id or current_run_id(),
        artifact_path or name or "model",
        lambda folder: _write(sk_model, folder, serialization_format, pyfunc_predict_fn),
        signature=resolve_signature(signature, input_example, predict),
        input_example=input_example,
        pip_requirements=pip_requirements or requirements("scikit-learn", "numpy", "cloudpickle"),
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
    )


def save_model(
    sk_model: Any,
    path: str | Path,
    *,
    signature: Signature | None = None,
    input_example: Any = None,
    serialization_format: SerializationFormat = "pickle",
    pyfunc_predict_fn: str = "predict",
) -> None:
    """Writes a model folder locally (no run, no upload)."""
    _check(sk_model, serialization_format, pyfunc_predict_fn)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=False)
    flavors = _write(sk_model, folder, serialization_format, pyfunc_predict_fn)
    signature = resolve_signature(signature, input_example, getattr(sk_model, pyfunc_predict_fn))
    save_model_dir(
        folder,
        flavors,
        signature=signature,
        input_example=input_example,
        pip_requirements=requirements("scikit-learn", "numpy"),
    )


def load_folder(folder: Path) -> Any:
    """Loads the estimator from a local model folder."""
    flavor = (read_mlmodel(folder).get("flavors") or {}).get("sklearn")
    if not flavor:
        raise ValidationError(f"{folder} holds no sklearn model")
    target = folder / str(flavor.get("pickled_model", MODEL_FILE))
    if flavor.get("serialization_format") == "joblib":
        import joblib

        return joblib.load(target)
    with target.open("rb") as handle:
        return pickle.load(handle)


def load_model(model_uri: str) -> Any:
    """Loads the fitted estimator by URI (``runs:/``, ``models:/``, ``s3://``, local folder)."""
    from runstream.sdk.fluent import get_client

    return load_folder(download_model(get_client(), model_uri))


__all__ = ["FORMATS", "MODEL_FILE", "load_model", "log_model", "save_model"]
