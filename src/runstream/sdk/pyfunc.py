"""The generic model flavor: ``log_model(python_model=...)``, ``load_model(uri)``, ``predict``.

``load_model`` returns a :class:`PyFuncModel` for any model Runstream logged (custom
Python models and scikit-learn models alike); its ``predict`` checks the input
against the model's signature first, with a clear error naming missing columns.

Custom models subclass :class:`PythonModel` (MLflow's shape: ``load_context`` and
``predict(context, model_input, params=None)``) or are a plain function of the
input. They are serialized with cloudpickle when it is installed (so classes
defined in a script load elsewhere), else with pickle.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from runstream.sdk.models import (
    log_model as _log_model,
)
from runstream.sdk.signature import Signature, prepare_input

LOADER_MODULE = "runstream.pyfunc"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: the model's artifact files."""

    artifacts: dict[str, str] = field(default_factory=dict)


class PythonModel:
    """Base class of custom models (MLflow's ``PythonModel``)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Loads what ``predict`` needs from ``context.artifacts``; does nothing by default."""

    def predict(self, context: PythonModelContext, model_input: Any, params: Any = None) -> Any:
        """Returns predictions for ``model_input``."""
        raise NotImplementedError


class _FunctionModel(PythonModel):
    """Wraps a plain function as a PythonModel."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def predict(self, context: PythonModelContext, model_input: Any, params: Any = None) -> Any:
        return self.function(model_input)


class PyFuncModel:
    """A loaded model: ``predict`` checks the input against the signature, then predicts."""

    def __init__(
        self, predict_fn: Callable[[Any], Any], metadata: dict[str, Any], path: Path
    ) -> None:
        self._predict = predict_fn
        self.metadata = metadata
        self.path = path
        self.signature = Signature.from_mlmodel(metadata.get("signature"))

    def predict(self, data: Any, params: Any = None) -> Any:
        """Predicts; the input's columns must match the signature.

        Raises:
            ValidationError: missing columns or a wrong shape (the message names them).
        """
        return self._predict(prepare_input(self.signature, data))

    @property
    def model_uuid(self) -> str | None:
        """The ``model_uuid`` from ``MLmodel``."""
        value = self.metadata.get("model_uuid")
        return str(value) if value else None


def dump(obj: Any, path: Path) -> str:
    """Serializes with cloudpickle if installed, else pickle; returns the format name."""
    try:
        import cloudpickle  # type: ignore[import-untyped]
    except ImportError:
        with path.open("wb") as handle:
            pickle.dump(obj, handle)
        return "pickle"
    with path.open("wb") as handle:
        cloudpickle.dump(obj, handle)
    return "cloudpickle"


def _write_python_model(
    python_model: PythonModel, artifacts: Mapping[str, str] | None, folder: Path
) -> dict[str, Any]:
    stored: dict[str, str] = {}
    for name, source in (artifacts or {}).items():
        src = Path(source)
        target = folder / ARTIFACTS_DIR / name / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            shutil.copy2(src, target)
        stored[name] = f"{ARTIFACTS_DIR}/{name}/{src.name}"
    fmt = dump(python_model, folder / PYTHON_MODEL_FILE)
    return {
        "python_function": {
            "loader_module": LOADER_MODULE,
            "python_model": PYTHON_MODEL_FILE,
            "serialization_format": fmt,
            "artifacts": stored,
            "python_version": python_version(),
        }
    }


def log_model(
    name: str | None = None,
    python_model: PythonModel | Callable[[Any], Any] | None = None,
    artifacts: Mapping[str, str] | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    *,
    artifact_path: str | None = None,
    await_registration_for: int = 300,
    run_id: str | None = None,
) -> ModelInfo:
    """Logs a custom Python model into the active run (under ``name``, default ``model``).

    Raises:
        ValidationError: no ``python_model`` given.
    """
    from runstream.sdk.fluent import current_run_id, get_client

    if python_model is None:
        raise ValidationError("pyfunc.log_model needs python_model=")
    model = python_model if isinstance(python_model, PythonModel) else _FunctionModel(python_model)
    context = PythonModelContext({k: str(v) for k, v in (artifacts or {}).items()})
    model.load_context(context)

    def predict(data: Any) -> Any:
        return model.predict(context, data)

    return _log_model(
        get_client(),
        run_id or current_run_id(),
        artifact_path or name or "model",
        lambda folder: _write_python_model(model, artifacts, folder),
        signature=resolve_signature(signature, input_example, predict),
        input_example=input_example,
        pip_requirements=pip_requirements or requirements("cloudpickle", "numpy"),
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
    )


def save_model(
    path: str | Path,
    python_model: PythonModel | Callable[[Any], Any],
    artifacts: Mapping[str, str] | None = None,
    signature: Signature | None = None,
    input_example: Any = None,
) -> None:
    """Writes a custom model folder locally (no run, no upload)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=False)
    model = python_model if isinstance(python_model, PythonModel) else _FunctionModel(python_model)
    flavors = _write_python_model(model, artifacts, folder)
    save_model_dir(
        folder,
        flavors,
        signature=signature,
        input_example=input_example,
        pip_requirements=requirements("cloudpickle", "numpy"),
    )


def load_folder(folder: Path) -> PyFuncModel:
    """Loads a model folder as a :class:`PyFuncModel` (custom or scikit-learn)."""
    metadata = read_mlmodel(folder)
    flavors = metadata.get("flavors") or {}
    if "sklearn" in flavors:
        from runstream.sdk.sklearn import load_folder as load_sklearn

        estimator = load_sklearn(folder)
        method = (flavors.get("python_function") or {}).get("predict_fn", "predict")
        return PyFuncModel(getattr(estimator, method), metadata, folder)
    spec = flavors.get("python_function") or {}
    if spec.get("loader_module") != LOADER_MODULE:
        raise ValidationError(
            f"{folder}: Runstream cannot load flavors {sorted(flavors)} "
            f"(loader {spec.get('loader_module')!r})"
        )
    with (folder / spec["python_model"]).open("rb") as handle:
        model = pickle.load(handle)
    context = PythonModelContext(
        {k: str(folder / v) for k, v in (spec.get("artifacts") or {}).items()}
    )
    model.load_context(context)
    return PyFuncModel(lambda data: model.predict(context, data), metadata, folder)


def load_model(model_uri: str) -> PyFuncModel:
    """Loads a logged model by URI (``runs:/``, ``models:/``, ``s3://`` or a local folder).

    Raises:
        NotFoundError: nothing at that URI.
        ServiceError: ``models:/`` needs the query service and it did not answer.
    """
    from runstream.sdk.fluent import get_client

    return load_folder(download_model(get_client(), model_uri))


__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]
