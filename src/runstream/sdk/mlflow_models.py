"""MLflow's model code, imported only when a model is saved, logged or loaded.

Runstream does not write model folders itself: every flavor's ``save_model`` and
``load_model`` is MLflow's (``mlflow-skinny``, the optional extra
``runstream[models]``). This module is the one place that imports it, so a missing
extra gives one clear error naming the extra instead of a bare ``ImportError``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from runstream.errors import ExtraMissingError

EXTRA = "runstream[models]"
INSTALL_HINT = f"pip install '{EXTRA}'"


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
        missing = (exc.name or "").split(".")[0]
        if missing == "mlflow" or not missing:
            raise ExtraMissingError(
                f"{module} is needed for models and is not installed: {INSTALL_HINT}"
            ) from exc
        what = package or missing
        raise ExtraMissingError(
            f"{module} needs the {what!r} package, which is not installed "
            f"(pip install {what}); models also need {EXTRA}"
        ) from exc


def read_model(folder: Path) -> Any:
    """MLflow's ``Model`` read from a folder's ``MLmodel`` file.

    Raises:
        NotFoundError: the folder has no ``MLmodel`` file.
    """
    from runstream.errors import NotFoundError

    if not (folder / "MLmodel").is_file():
        raise NotFoundError(f"{folder} is not a model folder (no MLmodel file)")
    return require("mlflow.models").Model.load(str(folder))


def new_model(run_id: str | None, artifact_path: str | None) -> Any:
    """An empty MLflow ``Model`` naming the run and path it will be logged under."""
    models = require("mlflow.models")
    return models.Model(run_id=run_id, artifact_path=artifact_path)


__all__ = ["EXTRA", "INSTALL_HINT", "new_model", "read_model", "require"]
