"""Module-level artifact logging with MLflow's names: files, text, dicts, figures, tables, images.

Also ``log_input``: the datasets a run used, recorded beside its artifacts.

Each call uploads to the active run's artifact root and then publishes
``artifact.logged`` (``runstream.sdk.run_artifacts``); tables and images are stored
as MLflow stores them (``runstream.sdk.tables``, ``runstream.sdk.images``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runstream.sdk.active import STATE
from runstream.sdk.datasets import dataset_input
from runstream.sdk.fluent import current_run_id


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Uploads a local file into the active run's artifacts."""
    STATE.get_client().log_artifact(run_id or current_run_id(), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Uploads a folder's files into the active run's artifacts."""
    STATE.get_client().log_artifacts(run_id or current_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Stores text as an artifact file of the active run."""
    STATE.get_client().log_text(run_id or current_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Stores a dict as a JSON or YAML artifact file of the active run."""
    STATE.get_client().log_dict(run_id or current_run_id(), dictionary, artifact_file)


def log_figure(
    figure: Any,
    artifact_file: str,
    *,
    save_kwargs: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> None:
    """Stores a matplotlib figure as an image artifact of the active run."""
    STATE.get_client().log_figure(
        run_id or current_run_id(), figure, artifact_file, save_kwargs=save_kwargs
    )


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Stores a DataFrame or dict of columns as a table artifact (``.json`` or ``.parquet``)."""
    STATE.get_client().log_table(run_id or current_run_id(), data, artifact_file)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Stores an image of the active run, as a file or per ``key`` and ``step``."""
    STATE.get_client().log_image(current_run_id(), image, artifact_file, key, step, timestamp)


def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: Mapping[str, Any] | None = None,
    model: Any = None,
) -> None:
    """Records that the active run used ``dataset`` (from ``runstream.data``), for ``context``.

    As MLflow's ``log_input``: ``context`` becomes the ``mlflow.data.context`` tag
    (``training``, ``validation``, ...); ``tags`` are further tags of this use.

    Raises:
        ValidationError: not a dataset, or a ``model`` input (not stored by the SDK).
    """
    client = STATE.get_client()
    if model is not None:
        client.log_inputs(current_run_id(), models=[model])
    if dataset is not None:
        client.log_inputs(current_run_id(), [dataset_input(dataset, context, tags)])


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The ``s3://`` URI of the active run's artifacts (or of one path inside them)."""
    root = STATE.get_client().artifact_root(current_run_id())
    if not artifact_path:
        return root.uri
    from runstream.sdk.artifacts import artifact_dir

    return f"{root.uri}/{artifact_dir(artifact_path)}"


__all__ = [
    "get_artifact_uri",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_table",
    "log_text",
]
