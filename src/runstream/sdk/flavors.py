"""One flavor = MLflow's module for it; ``log_model``/``save_model``/``load_model`` built from it.

``runstream.sklearn``, ``runstream.xgboost``, ... are each a :class:`Flavor` naming
MLflow's module (``mlflow.sklearn``) and the name of its model argument
(``sk_model``). ``save_model`` is MLflow's own; ``log_model`` saves with it, then
does Runstream's part (upload, ``model.logged``, registration, see
:mod:`runstream.sdk.models`); ``load_model`` resolves the URI to a local folder,
then calls MLflow's loader. Neither MLflow nor the flavor's package is imported
before the first call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runstream.sdk import models
from runstream.sdk.mlflow_models import missing, read_model, require, use_saved_keras_backend


@dataclass(frozen=True)
class Flavor:
    """MLflow's flavor module and the keyword its ``save_model`` takes the model as.

    Attributes:
        module: MLflow's module (``mlflow.sklearn``).
        model_arg: the model's keyword in ``save_model`` (``sk_model``); None for pyfunc.
        package: the third-party package the flavor needs (named in errors).
    """

    module: str
    model_arg: str | None
    package: str | None = None

    def mlflow(self) -> Any:
        """MLflow's module of this flavor (imported now)."""
        return require(self.module, package=self.package)

    def _kwargs(self, model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.model_arg is not None:
            kwargs[self.model_arg] = model
        return kwargs

    def save_model(self, model: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """MLflow's ``save_model`` of this flavor, into a local folder (no run, no upload).

        The folder is made first: MLflow's keras flavor writes an input example before
        making it (see :func:`runstream.sdk.models.save_into`).
        """
        Path(path).mkdir(parents=True, exist_ok=True)
        self._save(path=str(path), **self._kwargs(model, kwargs))

    def _save(self, **kwargs: Any) -> None:
        """MLflow's ``save_model``; its lazy import of the flavor's package is translated."""
        module = self.mlflow()
        try:
            module.save_model(**kwargs)
        except ImportError as exc:
            raise missing(self.module, exc, self.package) from exc

    def log_model(
        self,
        model: Any,
        name: str | None = None,
        *,
        artifact_path: str | None = None,
        registered_model_name: str | None = None,
        await_registration_for: int = 300,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Logs the model into the active run (under ``name``, default ``model``).

        Every other keyword (``signature``, ``input_example``, ``pip_requirements``,
        ``extra_pip_requirements``, ``conda_env``, flavor options) goes to MLflow's
        ``save_model`` unchanged. Returns MLflow's ``ModelInfo``.
        """
        from runstream.sdk.fluent import current_run_id, get_client

        return models.log_model(
            get_client(),
            run_id or current_run_id(),
            artifact_path or name or "model",
            self._save,
            self._kwargs(model, kwargs),
            registered_model_name=registered_model_name,
            await_registration_for=await_registration_for,
        )

    def load_model(self, model_uri: str, dst_path: str | None = None, **kwargs: Any) -> Any:
        """Loads the model by URI (``runs:/``, ``models:/``, ``s3://``, a local folder).

        Raises:
            NotFoundError: nothing at that URI.
            ServiceError: ``models:/`` needs the query service and it did not answer.
            ExtraMissingError: MLflow or the flavor's package is not installed.
        """
        from runstream.sdk.fluent import get_client

        dest = Path(dst_path) if dst_path else None
        folder = models.download_model(get_client(), model_uri, dest)
        use_saved_keras_backend(read_model(folder))
        module = self.mlflow()
        try:
            return module.load_model(str(folder), **kwargs)
        except ImportError as exc:  # flavors import their package on first load
            raise missing(self.module, exc, self.package) from exc


__all__ = ["Flavor"]
