"""Domain objects -> MLflow's REST JSON (the protobuf JSON of MLflow's server).

Field names and shapes follow ``mlflow/protos/service.proto`` and
``model_registry.proto``: key-value lists instead of maps, model version numbers
as strings, ``run_uuid`` next to ``run_id``, non-finite doubles as "NaN" /
"Infinity" / "-Infinity" strings, absent optional fields left out.
"""

from __future__ import annotations

from typing import Any

from runstream.core.artifact_uris import to_proxy_uri
from runstream.query.http.schemas.common import metric_json
from runstream.query.records import (
    ArtifactEntry,
    Experiment,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    Run,
)

# MLflow's server stores these run fields as tags too; clients (and the MLflow UI)
# read them there, so they are added when the run's own tags lack them.
_SYSTEM_TAGS = (
    ("mlflow.runName", "run_name"),
    ("mlflow.user", "user_id"),
    ("mlflow.source.name", "source_name"),
    ("mlflow.source.type", "source_type"),
    ("mlflow.source.git.commit", "git_commit"),
    ("mlflow.parentRunId", "parent_run_id"),
    ("mlflow.note.content", "description"),
)


def _kv(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in mapping.items()]


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _shown(uri: str | None, bucket: str | None) -> str | None:
    """MLflow's client lists and downloads our bucket through the artifact proxy."""
    return to_proxy_uri(uri, bucket) if bucket else uri


def experiment(exp: Experiment, bucket: str | None = None) -> dict[str, Any]:
    """An MLflow ``Experiment``; locations in ``bucket`` as ``mlflow-artifacts:/`` URIs."""
    r = exp.row
    return _drop_none(
        {
            "experiment_id": r.experiment_id,
            "name": r.name,
            "artifact_location": _shown(r.artifact_location, bucket),
            "lifecycle_stage": r.lifecycle_stage,
            "creation_time": r.creation_time,
            "last_update_time": r.last_update_time,
            "tags": _kv(exp.tags),
        }
    )


def run(item: Run, bucket: str | None = None) -> dict[str, Any]:
    """An MLflow ``Run`` (info, data, inputs, outputs); see :func:`experiment` for ``bucket``."""
    i = item.info
    tags = dict(item.tags)
    for tag, column in _SYSTEM_TAGS:
        value = getattr(i, column)
        if value is not None and tag not in tags:
            tags[tag] = str(value)
    metrics = [
        {"key": k, "value": metric_json(m.value), "timestamp": m.timestamp, "step": m.step}
        for k, m in item.metrics.items()
    ]
    return {
        "info": _drop_none(
            {
                "run_id": i.run_id,
                "run_uuid": i.run_id,
                "run_name": i.run_name,
                "experiment_id": i.experiment_id,
                "user_id": i.user_id,
                "status": i.status,
                "start_time": i.start_time,
                "end_time": i.end_time,
                "artifact_uri": _shown(i.artifact_uri, bucket),
                "lifecycle_stage": i.lifecycle_stage,
            }
        ),
        "data": {"metrics": metrics, "params": _kv(item.params), "tags": _kv(tags)},
        "inputs": _inputs(item),
        "outputs": _outputs(item),
    }


def _outputs(item: Run) -> dict[str, Any]:
    """MLflow's ``RunOutputs`` of a run: the logged models it produced (empty when none)."""
    if not item.outputs:
        return {}
    return {"model_outputs": [{"model_id": o.model_id, "step": o.step} for o in item.outputs]}


def _inputs(item: Run) -> dict[str, Any]:
    """MLflow's ``RunInputs`` of a run: its dataset and model inputs (empty when none)."""
    out: dict[str, Any] = {}
    if item.model_inputs:
        out["model_inputs"] = [{"model_id": m} for m in item.model_inputs]
    if not item.inputs:
        return out
    return {
        **out,
        "dataset_inputs": [
            {
                "tags": _kv(d.tags),
                "dataset": _drop_none(
                    {
                        "name": d.name,
                        "digest": d.digest,
                        "source_type": d.source_type,
                        "source": d.source,
                        "schema": d.schema,
                        "profile": d.profile,
                    }
                ),
            }
            for d in item.inputs
        ]
    }


def metric_point(key: str, point: MetricPoint, run_id: str | None = None) -> dict[str, Any]:
    """An MLflow ``Metric`` (or ``MetricWithRunId`` when ``run_id`` is given)."""
    out: dict[str, Any] = {
        "key": key,
        "value": metric_json(point.value),
        "timestamp": point.timestamp,
        "step": point.step,
    }
    if run_id is not None:
        out["run_id"] = run_id
    return out


def file_info(entry: ArtifactEntry) -> dict[str, Any]:
    """An MLflow ``FileInfo``."""
    return _drop_none({"path": entry.path, "is_dir": entry.is_dir, "file_size": entry.size})


def model_version(v: ModelVersion, bucket: str | None = None) -> dict[str, Any]:
    """An MLflow ``ModelVersion`` (its version number is a string, as in the proto)."""
    r = v.row
    return _drop_none(
        {
            "name": r.name,
            "version": str(r.version),
            "creation_timestamp": r.creation_time,
            "last_updated_timestamp": r.last_updated_time,
            "current_stage": r.current_stage,
            # MLflow's server stores the request's "" for a missing description, and answers it.
            "description": r.description or "",
            "source": _shown(r.source, bucket),
            "run_id": r.run_id,
            "status": r.status,
            "tags": _kv(v.tags),
            "aliases": list(v.aliases),
        }
    )


def registered_model(m: RegisteredModel, bucket: str | None = None) -> dict[str, Any]:
    """An MLflow ``RegisteredModel``."""
    r = m.row
    return _drop_none(
        {
            "name": r.name,
            "creation_timestamp": r.creation_time,
            "last_updated_timestamp": r.last_updated_time,
            "description": r.description or "",
            "latest_versions": [model_version(v, bucket) for v in m.latest_versions],
            "tags": _kv(m.tags),
            "aliases": [{"alias": a, "version": str(v)} for a, v in m.aliases.items()],
        }
    )


__all__ = [
    "experiment",
    "file_info",
    "metric_point",
    "model_version",
    "registered_model",
    "run",
]
