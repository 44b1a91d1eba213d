"""Runstream: event-sourced experiment tracking in the MLflow family.

The logging API is MLflow's, at module level: ``import runstream as mlflow`` and
the usual calls work (``start_run``, ``log_param``, ``log_metric``,
``sklearn.log_model``, ...). Models (``pyfunc``, ``sklearn``, ``xgboost``, ...)
are MLflow's own flavor code behind Runstream's URIs (the extra
``runstream[models]``). ``import runstream`` itself is cheap: the SDK (and
pydantic, httpx, the S3 client, aiokafka behind it) loads on the first use of one
of these names, and aiokafka only when the first event is sent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runstream import (
        artifacts,
        data,
        keras,
        lightgbm,
        models,
        onnx,
        pyfunc,
        pytorch,
        sklearn,
        tensorflow,
        tracking,
        transformers,
        xgboost,
    )
    from runstream.models import infer_signature
    from runstream.sdk.client import RunstreamClient
    from runstream.sdk.client import RunstreamClient as MlflowClient
    from runstream.sdk.entities import (
        Experiment,
        Metric,
        ModelVersion,
        Param,
        RegisteredModel,
        Run,
        RunTag,
        ViewType,
    )
    from runstream.sdk.fluent import (
        active_run,
        configure,
        create_experiment,
        delete_run,
        delete_tag,
        end_run,
        flush,
        flush_async_logging,
        get_client,
        get_experiment_by_name,
        get_run,
        get_tracking_uri,
        last_active_run,
        log_batch,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        register_model,
        restore_run,
        set_experiment,
        set_experiment_tag,
        set_experiment_tags,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )
    from runstream.sdk.fluent_artifacts import (
        get_artifact_uri,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_input,
        log_table,
        log_text,
    )
    from runstream.sdk.fluent_reads import (
        get_experiment,
        get_parent_run,
        load_table,
        search_experiments,
        search_runs,
    )
    from runstream.sdk.history import history

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "Experiment": "runstream.sdk.entities",
    "Metric": "runstream.sdk.entities",
    "ModelVersion": "runstream.sdk.entities",
    "Param": "runstream.sdk.entities",
    "RegisteredModel": "runstream.sdk.entities",
    "Run": "runstream.sdk.entities",
    "RunTag": "runstream.sdk.entities",
    "ViewType": "runstream.sdk.entities",
    "RunstreamClient": "runstream.sdk.client",
    "history": "runstream.sdk.history",
    "infer_signature": "runstream.models",
}
_FLUENT = (
    "active_run",
    "configure",
    "create_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush",
    "flush_async_logging",
    "get_client",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_batch",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "register_model",
    "restore_run",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
)
_FLUENT_ARTIFACTS = (
    "get_artifact_uri",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_table",
    "log_text",
)
_FLUENT_READS = (
    "get_experiment",
    "get_parent_run",
    "load_table",
    "search_experiments",
    "search_runs",
)
_LAZY.update(dict.fromkeys(_FLUENT, "runstream.sdk.fluent"))
_LAZY.update(dict.fromkeys(_FLUENT_ARTIFACTS, "runstream.sdk.fluent_artifacts"))
_LAZY.update(dict.fromkeys(_FLUENT_READS, "runstream.sdk.fluent_reads"))
_SUBMODULES = (
    "artifacts",
    "data",
    "keras",
    "lightgbm",
    "models",
    "onnx",
    "pyfunc",
    "pytorch",
    "sklearn",
    "tensorflow",
    "tracking",
    "transformers",
    "xgboost",
)

__all__ = [
    "Experiment",
    "Metric",
    "MlflowClient",
    "ModelVersion",
    "Param",
    "RegisteredModel",
    "Run",
    "RunTag",
    "RunstreamClient",
    "ViewType",
    "active_run",
    "artifacts",
    "configure",
    "create_experiment",
    "data",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush",
    "flush_async_logging",
    "get_artifact_uri",
    "get_client",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "history",
    "infer_signature",
    "keras",
    "last_active_run",
    "lightgbm",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "models",
    "onnx",
    "pyfunc",
    "pytorch",
    "register_model",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
    "tensorflow",
    "tracking",
    "transformers",
    "xgboost",
]


def __getattr__(name: str) -> Any:
    """Imports the SDK on first use of a public name (PEP 562), then caches it."""
    if name in _SUBMODULES:
        value: Any = importlib.import_module(f"runstream.{name}")
    elif name == "MlflowClient":
        value = importlib.import_module("runstream.sdk.client").RunstreamClient
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'runstream' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
