"""``runstream.pyfunc``: the generic flavor, MLflow's ``mlflow.pyfunc`` behind Runstream's URIs.

``load_model`` loads any MLflow model (every flavor has a ``python_function``
entry) from ``runs:/``, ``models:/<name>/<version>``, ``/<stage>``, ``@<alias>``,
``s3://`` or a local folder, and returns MLflow's ``PyFuncModel``, whose
``predict`` enforces the signature as MLflow does. ``log_model`` and ``save_model``
are MLflow's, so custom ``PythonModel`` subclasses, ``artifacts``, ``code_paths``,
``loader_module`` and requirements all behave as in MLflow. ``PythonModel``,
``PythonModelContext``, ``PyFuncModel`` and the rest of ``mlflow.pyfunc``'s names
are MLflow's classes, reached through this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runstream.sdk import models
from runstream.sdk.flavors import Flavor
from runstream.sdk.mlflow_models import load_pyfunc

FLAVOR = Flavor("mlflow.pyfunc", None)


def log_model(
    name: str | None = None,
    python_model: Any = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    run_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Logs a pyfunc model (a ``PythonModel``, a function or a ``loader_module``) into the run.

    Every other keyword goes to ``mlflow.pyfunc.save_model``. Returns MLflow's ``ModelInfo``.
    """
    if python_model is not None:
        kwargs["python_model"] = python_model
    return FLAVOR.log_model(
        None,
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        run_id=run_id,
        **kwargs,
    )


def save_model(path: str | os.PathLike[str], **kwargs: Any) -> None:
    """``mlflow.pyfunc.save_model`` into a local folder (no run, no upload)."""
    FLAVOR.save_model(None, path, **kwargs)


def load_model(
    model_uri: str,
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: Any = None,
) -> Any:
    """Loads any MLflow model as MLflow's ``PyFuncModel``, by any Runstream URI.

    Raises:
        NotFoundError: nothing at that URI.
        ServiceError: ``models:/`` needs the query service and it did not answer.
        ExtraMissingError: ``runstream[models]``, or the package the model's flavor
            needs (``torch``, ``tensorflow``, ...), is not installed; the error names it.
    """
    folder = download_local(model_uri, dst_path)
    return load_pyfunc(folder, suppress_warnings=suppress_warnings, model_config=model_config)


def download_local(model_uri: str, dst_path: str | None = None) -> Path:
    """The model folder of a URI on this machine (downloaded unless already local)."""
    if models.is_local(model_uri) is not None:
        return Path(model_uri.removeprefix("file://"))
    from runstream.sdk.fluent import get_client

    return models.download_model(get_client(), model_uri, Path(dst_path) if dst_path else None)


def __getattr__(name: str) -> Any:
    """MLflow's ``mlflow.pyfunc`` names (``PythonModel``, ``PyFuncModel``, ...), on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    module = FLAVOR.mlflow()
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module 'runstream.pyfunc' has no attribute {name!r}") from None


__all__ = ["FLAVOR", "download_local", "load_model", "log_model", "save_model"]
