"""MLflow's model code, imported only when a model is saved, logged or loaded.

Runstream does not write model folders itself: every flavor's ``save_model`` and
``load_model`` is MLflow's (``mlflow-skinny``, the optional extra
``runstream[models]``). This module is the one place that imports it, so a missing
extra gives one clear error naming the extra instead of a bare ``ImportError``.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from runstream.errors import ExtraMissingError

EXTRA = "runstream[models]"
INSTALL_HINT = f"pip install '{EXTRA}'"
# Import names whose package on PyPI is called otherwise.
PIP_NAMES = {"sklearn": "scikit-learn", "google": "protobuf", "yaml": "pyyaml"}


def require(module: str, *, package: str | None = None) -> ModuleType:
    """Imports an MLflow module (``mlflow.sklearn``, ...) or says which extra is missing.

    Args:
        module: the module to import.
        package: the third-party package the flavor needs (``xgboost``), named in the
            error when MLflow is there but the flavor's own package is not.

    Raises:
        ExtraMissingError: MLflow or the flavor's package is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing(module, exc, package) from exc


def missing(module: str, exc: ImportError, package: str | None = None) -> ExtraMissingError:
    """The error for an ``ImportError`` met while importing or running ``module``.

    Names ``runstream[models]`` when MLflow itself is missing, else the package whose
    import failed (by its pip name), or ``package`` when the error names none.
    """
    name = (exc.name or "").split(".")[0]
    if name == "mlflow" or not (name or package):
        return ExtraMissingError(
            f"{module} is needed for models and is not installed: {INSTALL_HINT}"
        )
    what = PIP_NAMES.get(name, name) if name else str(package)
    return ExtraMissingError(
        f"{module} needs the {what!r} package, which is not installed "
        f"(pip install {what}); models also need {EXTRA}"
    )


def read_model(folder: Path) -> Any:
    """MLflow's ``Model`` read from a folder's ``MLmodel`` file.

    Raises:
        NotFoundError: the folder has no ``MLmodel`` file.
    """
    from runstream.errors import NotFoundError

    if not (folder / "MLmodel").is_file():
        raise NotFoundError(f"{folder} is not a model folder (no MLmodel file)")
    return require("mlflow.models").Model.load(str(folder))


def use_saved_keras_backend(model: Any) -> None:
    """Points Keras 3 at the backend a Keras model was saved with, before Keras is imported.

    Keras reads ``KERAS_BACKEND`` once, at its import, and defaults to TensorFlow; a
    model saved on the torch or JAX backend (``keras_backend`` in ``MLmodel``) would
    then fail to load where TensorFlow is not installed. An explicit ``KERAS_BACKEND``
    and an already imported Keras are left alone.
    """
    backend = (model.flavors.get("keras") or {}).get("keras_backend")
    if backend and "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", str(backend))


def load_pyfunc(folder: Path, **kwargs: Any) -> Any:
    """MLflow's ``mlflow.pyfunc.load_model`` on a local model folder.

    Raises:
        NotFoundError: the folder has no ``MLmodel`` file.
        ExtraMissingError: MLflow, or the package the model's flavor needs (``torch``
            for a PyTorch model), is not installed; the error names it.
    """
    model = read_model(folder)
    use_saved_keras_backend(model)
    loader = (model.flavors.get("python_function") or {}).get("loader_module") or "mlflow.pyfunc"
    pyfunc = require("mlflow.pyfunc")
    try:
        return pyfunc.load_model(str(folder), **kwargs)
    except ImportError as exc:
        raise missing(str(loader), exc) from exc


def new_model(run_id: str | None, artifact_path: str | None) -> Any:
    """An empty MLflow ``Model`` naming the run and path it will be logged under."""
    models = require("mlflow.models")
    return models.Model(run_id=run_id, artifact_path=artifact_path)


__all__ = [
    "EXTRA",
    "INSTALL_HINT",
    "PIP_NAMES",
    "load_pyfunc",
    "missing",
    "new_model",
    "read_model",
    "require",
    "use_saved_keras_backend",
]
