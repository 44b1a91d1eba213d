"""Experiment identity in the SDK: the implicit Default, deterministic ids, locations.

**Why deterministic ids.** Runstream has no server that hands out experiment ids:
the SDK publishes ``experiment.created`` itself. If two processes call
``set_experiment("sweep")`` at the same moment, neither sees the other's experiment
through the query service yet, and both create one. With a random id the log would
hold two experiments named ``sweep`` (the second rejected by name, and its runs
orphaned). With an id derived from the name -- the hex of a UUIDv5 of the name in a
fixed Runstream namespace -- both publish the *same* id: the first event creates
the experiment and the second is a harmless duplicate. The same rule lets the SDK
work without any query service: the id of a name is known offline.

Consequence: a name always maps to the same id. Renaming experiment ``a`` to ``b``
and then creating a new ``a`` would reuse ``a``'s id, which the materializer
refuses (the id exists); MLflow likewise never reuses an experiment's name while
the experiment exists, deleted or not.

Experiment ``"0"`` named ``Default`` exists implicitly (as in MLflow); the SDK never
creates it. The rule itself lives in :mod:`runstream.core.identity` (the MLflow write
gateway applies it too).
"""

from __future__ import annotations

from typing import Any

from runstream.core.identity import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    EXPERIMENT_NAMESPACE,
    experiment_id_for,
)
from runstream.sdk.artifacts import ArtifactRoot
from runstream.sdk.entities import Experiment


def default_experiment() -> Experiment:
    """The implicit Default experiment."""
    return Experiment(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME)


def experiment_from_json(body: dict[str, Any]) -> Experiment:
    """An :class:`Experiment` from the query service's JSON (native or MLflow style)."""
    tags = body.get("tags") or {}
    if isinstance(tags, list):  # MLflow REST style: [{"key": ..., "value": ...}]
        tags = {t["key"]: t["value"] for t in tags if isinstance(t, dict)}
    return Experiment(
        experiment_id=str(body["experiment_id"]),
        name=str(body["name"]),
        artifact_location=body.get("artifact_location"),
        lifecycle_stage=str(body.get("lifecycle_stage") or "active"),
        tags={str(k): str(v) for k, v in tags.items()},
        creation_time=body.get("creation_time"),
        last_update_time=body.get("last_update_time"),
    )


def run_artifact_root(
    bucket: str, experiment_id: str, run_id: str, location: str | None
) -> ArtifactRoot:
    """Where a new run's artifacts go: under the experiment's s3 location, else the layout.

    The layout (``<bucket>/<experiment_id>/<run_id>/artifacts``) is what the
    materializer derives for experiments without a location, so both agree.
    """
    if location and location.startswith("s3://"):
        parent = ArtifactRoot.from_uri(location)
        prefix = f"{parent.prefix}/{run_id}/artifacts" if parent.prefix else f"{run_id}/artifacts"
        return ArtifactRoot(parent.bucket, prefix)
    return ArtifactRoot.for_run(bucket, experiment_id, run_id)


__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "EXPERIMENT_NAMESPACE",
    "default_experiment",
    "experiment_from_json",
    "experiment_id_for",
    "run_artifact_root",
]
