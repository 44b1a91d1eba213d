"""Builds and runs the model server: targets from options, the app, uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runstream.config import Settings, load_settings
from runstream.serving.app import ServingApp
from runstream.serving.options import ENV_VAR, ServeOptions
from runstream.serving.prediction_log import PredictionLog
from runstream.serving.targets import Registry, Target, arm_name


def load_pyfunc(folder: Path) -> Any:
    """MLflow's ``mlflow.pyfunc.load_model`` on a local folder (a missing package named)."""
    from runstream.sdk.mlflow_models import load_pyfunc as load

    return load(folder)


def build_app(options: ServeOptions, registry: Registry) -> ServingApp:
    """The app for these options (nothing is loaded until its lifespan starts)."""
    names: set[str] = set()
    targets = []
    for i, (uri, weight) in enumerate(options.targets):
        arm = arm_name(uri)
        if arm in names:
            arm = f"{arm}-{i}"
        names.add(arm)
        targets.append(Target(arm, uri, weight, registry, load_pyfunc))
    return ServingApp(targets, options)


def app_from_settings(options: ServeOptions, settings: Settings) -> ServingApp:
    """The app with the SDK's client as its registry."""
    from runstream.sdk.client import RunstreamClient
    from runstream.serving.sdk_registry import SdkRegistry

    client = RunstreamClient(settings=settings, environ=dict(os.environ))
    app = build_app(options, SdkRegistry(client))
    if options.log_predictions:
        app.sink = prediction_log(options, settings, app)
    return app


def prediction_log(options: ServeOptions, settings: Settings, app: ServingApp) -> PredictionLog:
    """The app's prediction log, publishing to the events topic of ``settings``."""
    from runstream.kafka.producer import KafkaEventProducer

    return PredictionLog(
        lambda: KafkaEventProducer(settings.bootstrap),
        settings.topic_events,
        options.log_predictions,
        on_drop=app.metrics.log_dropped_add,
        on_sent=app.metrics.log_sent_add,
    )


def worker_app() -> ServingApp:
    """uvicorn's factory in each worker process: options from the environment."""
    return app_from_settings(ServeOptions.from_json(os.environ[ENV_VAR]), load_settings(os.environ))


def run(options: ServeOptions, settings: Settings) -> None:
    """Serves until interrupted (one process, or ``workers`` processes)."""
    import uvicorn

    common: dict[str, Any] = {
        "host": options.host, "port": options.port, "access_log": False, "log_level": "warning",
        "timeout_keep_alive": 30,
    }
    if options.workers > 1:
        os.environ[ENV_VAR] = options.to_json()
        uvicorn.run("runstream.serving.server:worker_app", factory=True,
                    workers=options.workers, **common)
        return
    uvicorn.run(app_from_settings(options, settings), **common)


__all__ = ["app_from_settings", "build_app", "load_pyfunc", "prediction_log", "run", "worker_app"]
