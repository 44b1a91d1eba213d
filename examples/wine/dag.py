"""The wine project as an Airflow DAG: train -> evaluate -> register if better -> wait for Staging.

Airflow decides when and in what order; Runstream records what happened. Every run a
task starts carries ``airflow.dag_id``, ``airflow.task_id``, ``airflow.run_id`` and
``airflow.try_number`` tags, so the runs of one DAG run are one search away.

Needs ``pip install 'runstream[airflow,models]' scikit-learn`` in Airflow's environment
(the tasks run this project there, ``env_manager="local"``) and a ``runstream``
connection (``runstream_default``) whose host is the tracking URI. Try it with::

    airflow dags test wine_pipeline -c '{"epochs": 5}'
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import dag, task

from runstream.airflow.hooks import RunstreamHook
from runstream.airflow.operators import RunstreamProjectOperator
from runstream.airflow.sensors import RunstreamModelVersionSensor

PROJECT = str(Path(__file__).resolve().parent)
MODEL = "wine-classifier"
STAGE = "Staging"


@dag(
    dag_id="wine_pipeline",
    schedule=None,
    catchup=False,
    params={"alpha": 0.001, "eta0": 0.01, "epochs": 30, "experiment": "wine"},
    tags=["runstream", "example"],
)
def wine_pipeline() -> None:
    """Trains, evaluates, and promotes the model to Staging when it beats the one there."""
    train = RunstreamProjectOperator(
        task_id="train",
        uri=PROJECT,
        env_manager="local",
        experiment_name="{{ params.experiment }}",
        parameters={
            "alpha": "{{ params.alpha }}",
            "eta0": "{{ params.eta0 }}",
            "epochs": "{{ params.epochs }}",
        },
    )
    evaluate = RunstreamProjectOperator(
        task_id="evaluate",
        uri=PROJECT,
        entry_point="evaluate",
        env_manager="local",
        experiment_name="{{ params.experiment }}",
        parameters={"run_id": "{{ ti.xcom_pull(task_ids='train', key='run_id') }}"},
    )

    @task.short_circuit
    def better_than_staging(ti: object = None) -> bool:
        """True when there is no Staging version yet, or this model scores higher."""
        metrics = ti.xcom_pull(task_ids="evaluate", key="metrics")  # type: ignore[attr-defined]
        hook = RunstreamHook()
        current = hook.model_version(MODEL, stage=STAGE)
        if current is None:
            return True
        source = hook.model_version_run(MODEL, current)
        evaluations = hook.search_runs(f"tags.evaluated_run_id = '{source}'") if source else []
        best = max((float(m["value"]) for r in evaluations for m in r["data"].get("metrics", [])
                    if m["key"] == "test_f1"), default=float("-inf"))
        print(f"test F1 {metrics['test_f1']:.3f} against {best:.3f} (version {current})")
        return bool(metrics["test_f1"] > best)

    register = RunstreamProjectOperator(
        task_id="register",
        uri=PROJECT,
        entry_point="register",
        env_manager="local",
        experiment_name="{{ params.experiment }}",
        parameters={
            "run_id": "{{ ti.xcom_pull(task_ids='train', key='run_id') }}",
            "model_name": MODEL,
            "stage": STAGE,
        },
    )
    wait_for_staging = RunstreamModelVersionSensor(
        task_id="wait_for_staging",
        model_name=MODEL,
        stage=STAGE,
        min_version="{{ ti.xcom_pull(task_ids='register', key='metrics')['registered_version'] | int }}",
        poll_interval=1.0,
        timeout=300,
    )
    train >> evaluate >> better_than_staging() >> register >> wait_for_staging


wine_pipeline()
