"""Runstream's Airflow provider: a ``runstream`` connection, a hook, a project operator, a sensor.

Airflow decides when and in what order; Runstream records what happened. Registered
with Airflow through the ``apache_airflow_provider`` entry point (:func:`get_provider_info`).

- :class:`~runstream.airflow.hooks.RunstreamHook`: the ``runstream`` connection (tracking
  URI, optional token), reads through the query service's MLflow REST API, and the
  environment of ``runstream run``.
- :class:`~runstream.airflow.operators.RunstreamProjectOperator`: runs an MLproject as a
  task, with lineage tags ``airflow.dag_id``, ``airflow.task_id``, ``airflow.run_id``,
  ``airflow.try_number``; pushes the run id and final metrics to XCom; fails with the run.
- :class:`~runstream.airflow.sensors.RunstreamModelVersionSensor`: waits (deferrable)
  until a registered model has a new version in a stage or under an alias.

Only Airflow and httpx are imported here, so the provider loads in Airflow's own
environment even when Runstream's dependencies are not installed there.
"""

from __future__ import annotations

from typing import Any

LINEAGE_TAGS = ("airflow.dag_id", "airflow.task_id", "airflow.run_id", "airflow.try_number")


def get_provider_info() -> dict[str, Any]:
    """Airflow's provider metadata (``provider_info.schema.json``)."""
    return {
        "package-name": "runstream",
        "name": "Runstream",
        "description": "Run MLprojects as tasks and wait for registered model versions.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "connection-type": "runstream",
                "hook-class-name": "runstream.airflow.hooks.RunstreamHook",
                "hook-name": "Runstream",
            }
        ],
        "hooks": [{"integration-name": "Runstream", "python-modules": ["runstream.airflow.hooks"]}],
        "operators": [
            {"integration-name": "Runstream", "python-modules": ["runstream.airflow.operators"]}
        ],
        "sensors": [
            {"integration-name": "Runstream", "python-modules": ["runstream.airflow.sensors"]}
        ],
        "triggers": [
            {"integration-name": "Runstream", "python-modules": ["runstream.airflow.triggers"]}
        ],
    }


__all__ = ["LINEAGE_TAGS", "get_provider_info"]
