"""Logged models: the model folder with its ``MLmodel`` file, upload, download, registration.

A logged model is a folder under the run's artifacts (``model/`` by default)::

    MLmodel               YAML: flavors, signature, input example info, run id, uuid
    model.pkl             the serialized model (flavor-specific name)
    requirements.txt      pinned versions of what the model needs
    input_example.json    when an example was given

The ``MLmodel`` file uses MLflow's keys (``flavors``, ``signature`` with JSON
strings, ``saved_input_example_info``, ``model_uuid``), so MLflow can read an
sklearn model logged by Runstream. The folder is uploaded first and
``model.logged`` is published after, so the event never names missing files.

Loading accepts ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
``models:/<name>/<stage>``, ``models:/<name>@<alias>`` (resolved by the query
service), ``s3://bucket/key`` and local folders. Loading unpickles the model: only
load models from sources you trust (as with MLflow).
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from runstream.errors import NotFoundError, ValidationError
from runstream.events.limits import check_artifact_path
from runstream.sdk.artifacts import ArtifactRoot, artifact_dir
from runstream.sdk.entities import ModelVersion
from runstream.sdk.signature import Signature, as_columns, infer_signature

if TYPE_CHECKING:
    from runstream.sdk.client import RunstreamClient

MLMODEL = "MLmodel"
EXAMPLE_FILE = "input_example.json"
# Examples larger than this stay in the folder only; the event carries null.
_EXAMPLE_EVENT_BYTES = 64 * 1024
_RUNS_URI = re.compile(r"^runs:/([0-9a-f]{32})/(.+)$")
_DOWNLOADS: list[Path] = []


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` logged (MLflow's ``ModelInfo``)."""

    artifact_path: str
    model_uri: str
    run_id: str
    model_uuid: str
    flavors: dict[str, Any]
    signature: Signature | None
    registered_model_version: int | None = None


def example_to_json(example: Any) -> tuple[Any, str]:
    """An input example as JSON (pandas ``split`` orient for tables) and its MLflow type."""
    import numpy as np

    columns = as_columns(example)
    if columns is not None:
        names = list(columns)
        rows = np.column_stack([np.asarray(columns[n]) for n in names]).tolist()
        return {"columns": names, "data": rows}, "dataframe"
    return {"inputs": np.asarray(example).tolist()}, "ndarray"


def example_from_json(data: Any) -> Any:
    """Reads back what :func:`example_to_json` wrote (a dict of columns, or an array)."""
    import numpy as np

    if isinstance(data, dict) and "columns" in data:
        rows = data["data"]
        return {c: [row[i] for row in rows] for i, c in enumerate(data["columns"])}
    return np.asarray(data["inputs"] if isinstance(data, dict) else data)


def requirements(*packages: str) -> list[str]:
    """Pinned requirement lines for installed distributions (unknown ones are skipped)."""
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for name in packages:
        try:
            lines.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return lines


def save_model_dir(
    path: Path,
    flavors: dict[str, Any],
    *,
    signature: Signature | None,
    input_example: Any,
    pip_requirements: list[str],
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> dict[str, Any]:
    """Writes ``MLmodel``, ``requirements.txt`` and the example into a model folder.

    The model file itself is already there (written by the flavor). Returns the
    ``MLmodel`` content.
    """
    mlmodel: dict[str, Any] = {
        "artifact_path": artifact_path,
        "flavors": flavors,
        "model_uuid": uuid.uuid4().hex,
        "run_id": run_id,
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "mlflow_version": None,
        "runstream_version": _own_version(),
    }
    if signature is not None:
        mlmodel["signature"] = signature.to_mlmodel()
    if input_example is not None:
        data, kind = example_to_json(input_example)
        (path / EXAMPLE_FILE).write_text(json.dumps(data))
        info = {"artifact_path": EXAMPLE_FILE, "type": kind}
        if kind == "dataframe":
            info["pandas_orient"] = "split"
        mlmodel["saved_input_example_info"] = info
    (path / "requirements.txt").write_text("\n".join(pip_requirements) + "\n")
    (path / MLMODEL).write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return mlmodel


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runstream")
    except PackageNotFoundError:
        return "unknown"


def read_mlmodel(path: Path) -> dict[str, Any]:
    """Reads a folder's ``MLmodel`` file.

    Raises:
        NotFoundError: the folder has no ``MLmodel``.
    """
    file = path / MLMODEL
    if not file.is_file():
        raise NotFoundError(f"{path} is not a model folder (no {MLMODEL} file)")
    data = yaml.safe_load(file.read_text())
    if not isinstance(data, dict):
        raise ValidationError(f"{file} is not a YAML mapping")
    return data


def resolve_signature(
    signature: Signature | None, input_example: Any, predict: Callable[[Any], Any] | None
) -> Signature | None:
    """The given signature, else one inferred from the example (outputs by predicting it)."""
    if signature is not None or input_example is None:
        return signature
    output = None
    if predict is not None:
        try:
            from runstream.sdk.signature import prepare_input

            output = predict(prepare_input(infer_signature(input_example), input_example))
        except Exception:
            output = None
    return infer_signature(input_example, output)


def log_model(
    client: RunstreamClient,
    run_id: str,
    artifact_path: str,
    write: Callable[[Path], dict[str, Any]],
    *,
    signature: Signature | None,
    input_example: Any,
    pip_requirements: list[str],
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
) -> ModelInfo:
    """Writes a model folder, uploads it, then publishes ``model.logged``.

    Args:
        client: the client that logs.
        run_id: the run the model belongs to.
        artifact_path: where under the run's artifacts (e.g. ``model``).
        write: writes the model file(s) into a folder and returns the flavors.
        signature: the signature (already inferred when wanted).
        input_example: an example input, stored next to the model.
        pip_requirements: requirement lines.
        registered_model_name: register the model under this name afterwards.
        await_registration_for: seconds to wait for the version number.
    """
    path = artifact_dir(artifact_path) or "model"
    with tempfile.TemporaryDirectory(prefix="runstream-model-") as tmp:
        folder = Path(tmp)
        flavors = write(folder)
        mlmodel = save_model_dir(
            folder,
            flavors,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            run_id=run_id,
            artifact_path=path,
        )
        client.log_artifacts(run_id, folder, path)
    example = None
    if input_example is not None:
        data, _ = example_to_json(input_example)
        if len(json.dumps(data)) <= _EXAMPLE_EVENT_BYTES:
            example = data
    body = {
        "artifact_path": path,
        "flavors": flavors,
        "model_uuid": mlmodel["model_uuid"],
        "signature": signature.to_event() if signature is not None else None,
        "input_example": example,
    }
    client.log_model_event(run_id, body)
    uri = f"runs:/{run_id}/{path}"
    version = None
    if registered_model_name:
        registered = register_model(client, uri, registered_model_name, await_registration_for)
        version = registered.version
    return ModelInfo(path, uri, run_id, mlmodel["model_uuid"], flavors, signature, version)


def download_model(client: RunstreamClient, model_uri: str) -> Path:
    """Fetches a model folder to a local temporary folder (removed at exit); returns it.

    Raises:
        NotFoundError: the URI names nothing.
        ValidationError: an unsupported URI.
        ServiceError: a ``models:/`` URI and no query service.
    """
    local = Path(model_uri.removeprefix("file://"))
    if "://" not in model_uri and ":/" not in model_uri and local.is_dir():
        return local
    if model_uri.startswith("file://") and local.is_dir():
        return local
    root, path = _locate(client, model_uri)
    dest = Path(tempfile.mkdtemp(prefix="runstream-load-"))
    if not _DOWNLOADS:
        atexit.register(_remove_downloads)
    _DOWNLOADS.append(dest)
    client.download_location(root, path, dest)
    return dest


def _remove_downloads() -> None:
    for folder in _DOWNLOADS:
        shutil.rmtree(folder, ignore_errors=True)


def _locate(client: RunstreamClient, uri: str, depth: int = 0) -> tuple[ArtifactRoot, str]:
    """``(artifact root, path)`` of a model URI; ``models:/`` resolved by the query service."""
    runs = _RUNS_URI.search(uri)
    if runs:
        return client.artifact_root(runs.group(1)), check_artifact_path(runs.group(2).strip("/"))
    if uri.startswith("s3://"):
        return ArtifactRoot.from_uri(uri), ""
    if uri.startswith("models:/") and depth == 0:
        resolved = client.resolve_model_uri(uri)
        if resolved is None:
            raise NotFoundError(f"{uri}: no such registered model version, stage or alias")
        return _locate(client, resolved.source, depth + 1)
    raise ValidationError(
        f"cannot load a model from {uri!r}: use runs:/<run_id>/<path>, models:/<name>/<version>, "
        "models:/<name>/<stage>, models:/<name>@<alias>, s3://... or a local folder"
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


def python_version() -> str:
    """The running Python's version (``MLmodel``'s ``python_version``)."""
    return ".".join(str(p) for p in sys.version_info[:3])


__all__ = [
    "EXAMPLE_FILE",
    "MLMODEL",
    "ModelInfo",
    "download_model",
    "example_from_json",
    "example_to_json",
    "log_model",
    "python_version",
    "read_mlmodel",
    "register_model",
    "requirements",
    "resolve_signature",
    "save_model_dir",
]
