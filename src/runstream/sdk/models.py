"""Logged models: MLflow writes the folder, Runstream uploads it, publishes, registers, resolves.

The model folder (``MLmodel``, the model files, ``requirements.txt``, ``conda.yaml``,
``python_env.yaml``, the input example, the serving input) is written by the
flavor's own ``mlflow.<flavor>.save_model``, so signature inference, input examples,
``pip_requirements`` / ``extra_pip_requirements`` / ``conda_env`` behave exactly as
in MLflow, and either client loads what the other logged. Runstream's part:

1. MLflow saves the folder into a temporary directory, with ``run_id`` and
   ``artifact_path`` set in ``MLmodel``.
2. The folder is uploaded under the run's artifacts.
3. Only then ``model.logged`` is published, so the event never names missing files.
4. With ``registered_model_name``, the model is registered and the version awaited.

Loading accepts ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
``models:/<name>/<stage>``, ``models:/<name>@<alias>``, MLflow 3's ``models:/m-<id>``
(resolved by the query service), ``s3://bucket/key``, ``file://`` and local folders;
the folder is then
handed to MLflow's loader. Loading unpickles: only load models from sources you
trust (as with MLflow).
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runstream.core.artifact_uris import from_proxy_uri
from runstream.errors import NotFoundError, ValidationError
from runstream.events.limits import check_artifact_path
from runstream.sdk.artifacts import ArtifactRoot, artifact_dir
from runstream.sdk.entities import ModelVersion
from runstream.sdk.mlflow_models import new_model, read_model, require

if TYPE_CHECKING:
    from runstream.sdk.client import RunstreamClient

# Examples larger than this stay in the folder only; the event carries null.
_EXAMPLE_EVENT_BYTES = 64 * 1024
_RUNS_URI = re.compile(r"^runs:/([0-9a-f]{32})/(.+)$")
_LOGGED_MODEL_URI = re.compile(r"^models:/(m-[0-9a-f]{32})/?$")
_DOWNLOADS: list[Path] = []

SaveFn = Callable[..., Any]


def save_into(save: SaveFn, folder: Path, run_id: str | None, path: str | None, **kw: Any) -> Any:
    """Runs a flavor's ``save_model`` into ``folder``; returns MLflow's ``Model`` read back."""
    # MLflow's keras flavor writes the input example before it creates the folder (a
    # FileNotFoundError in mlflow.keras.log_model itself, 3.17.2); every flavor takes an
    # empty folder that exists.
    folder.mkdir(parents=True, exist_ok=True)
    save(path=str(folder), mlflow_model=new_model(run_id, path), **kw)
    return read_model(folder)


def _signature_event(model: Any) -> dict[str, Any] | None:
    """The ``signature`` of ``model.logged``: MLflow's JSON, as objects instead of strings."""
    if model.signature is None:
        return None
    raw = model.signature.to_dict()
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in raw.items()}


def _example_event(folder: Path, model: Any) -> Any:
    info = model.saved_input_example_info or {}
    name = info.get("artifact_path")
    if not name or not (folder / name).is_file():
        return None
    file = folder / name
    if file.stat().st_size > _EXAMPLE_EVENT_BYTES:
        return None
    try:
        return json.loads(file.read_text())
    except ValueError:
        return None


def log_model(
    client: RunstreamClient,
    run_id: str,
    artifact_path: str,
    save: SaveFn,
    save_kwargs: Mapping[str, Any],
    *,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
) -> Any:
    """Saves a model with MLflow's flavor code, uploads it, publishes ``model.logged``.

    Args:
        client: the client that logs.
        run_id: the run the model belongs to.
        artifact_path: where under the run's artifacts (e.g. ``model``).
        save: the flavor's ``save_model`` (called with ``path=`` and ``mlflow_model=``).
        save_kwargs: everything else for ``save`` (the model, signature, example, ...).
        registered_model_name: register the model under this name afterwards.
        await_registration_for: seconds to wait for the version number.

    Returns:
        MLflow's ``ModelInfo``, with ``registered_model_version`` when registered.
    """
    path = artifact_dir(artifact_path) or "model"
    with tempfile.TemporaryDirectory(prefix="runstream-model-") as tmp:
        folder = Path(tmp) / "model"
        model = save_into(save, folder, run_id, path, **save_kwargs)
        example = _example_event(folder, model)
        client.log_artifacts(run_id, folder, path)
    body = {
        "artifact_path": path,
        "flavors": model.flavors,
        "model_uuid": model.model_uuid,
        "signature": _signature_event(model),
        "input_example": example,
    }
    client.log_model_event(run_id, body)
    uri = f"runs:/{run_id}/{path}"
    version = None
    if registered_model_name:
        registered = register_model(client, uri, registered_model_name, await_registration_for)
        version = registered.version
    info_cls = require("mlflow.models.model").ModelInfo
    return info_cls(
        artifact_path=path,
        flavors=model.flavors,
        model_uri=uri,
        model_uuid=model.model_uuid,
        run_id=run_id,
        saved_input_example_info=model.saved_input_example_info,
        signature=model.signature,
        utc_time_created=model.utc_time_created,
        mlflow_version=model.mlflow_version,
        metadata=model.metadata,
        registered_model_version=version,
    )


def is_local(model_uri: str) -> Path | None:
    """The folder a ``file://`` URI or plain path names, if it is one."""
    local = Path(model_uri.removeprefix("file://"))
    if model_uri.startswith("file://") or ":/" not in model_uri:
        return local if local.is_dir() else None
    return None


def download_model(client: RunstreamClient, model_uri: str, dst: Path | None = None) -> Path:
    """Fetches a model folder to a local folder (a temporary one, removed at exit); returns it.

    Raises:
        NotFoundError: the URI names nothing.
        ValidationError: an unsupported URI.
        ServiceError: a ``models:/`` URI and no query service.
    """
    local = is_local(model_uri)
    if local is not None:
        return local
    root, path = locate(client, model_uri)
    if dst is None:
        dst = Path(tempfile.mkdtemp(prefix="runstream-load-"))
        if not _DOWNLOADS:
            atexit.register(_remove_downloads)
        _DOWNLOADS.append(dst)
    client.download_location(root, path, dst)
    return dst


def _remove_downloads() -> None:
    for folder in _DOWNLOADS:
        shutil.rmtree(folder, ignore_errors=True)


def locate(client: RunstreamClient, uri: str, depth: int = 0) -> tuple[ArtifactRoot, str]:
    """``(artifact root, path)`` of a model URI; ``models:/`` resolved by the query service."""
    runs = _RUNS_URI.search(uri)
    if runs:
        return client.artifact_root(runs.group(1)), check_artifact_path(runs.group(2).strip("/"))
    if uri.startswith("s3://"):
        return ArtifactRoot.from_uri(uri), ""
    logged = _LOGGED_MODEL_URI.search(uri)
    if logged and depth == 0:
        found = client.session.query().logged_model_uri(logged.group(1))
        if found is None:
            raise NotFoundError(f"{uri}: no such logged model")
        bucket = client.session.endpoints.artifacts_bucket
        return ArtifactRoot.from_uri(from_proxy_uri(found, bucket)), ""
    if uri.startswith("models:/") and depth == 0:
        resolved = client.resolve_model_uri(uri)
        if resolved is None:
            raise NotFoundError(f"{uri}: no such registered model version, stage or alias")
        return locate(client, resolved.source, depth + 1)
    raise ValidationError(
        f"cannot load a model from {uri!r}: use runs:/<run_id>/<path>, models:/<name>/<version>, "
        "models:/<name>/<stage>, models:/<name>@<alias>, models:/m-<id>, s3://... or a local "
        "folder"
    )


def register_model(
    client: RunstreamClient,
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """Registers a logged model as a new version of ``name`` (creating the model if needed).

    The version's source is the model's ``s3://`` location when it is known (so the
    version keeps pointing at the bytes), else the URI as given.
    """
    runs = _RUNS_URI.search(model_uri)
    source, run_id = model_uri, None
    if runs:
        run_id = runs.group(1)
        try:
            root = client.artifact_root(run_id)
            source = f"{root.uri}/{check_artifact_path(runs.group(2).strip('/'))}"
        except NotFoundError:
            source = model_uri
    if client.registered_model_exists(name) is not True:
        # Unknown or missing: a duplicate creation of an existing model is refused
        # harmlessly by the materializer, so creating is always safe.
        client.create_registered_model(name)
    return client.create_model_version(
        name, source, run_id=run_id, tags=tags, await_creation_for=await_registration_for
    )


__all__ = [
    "download_model",
    "is_local",
    "locate",
    "log_model",
    "register_model",
    "save_into",
]
