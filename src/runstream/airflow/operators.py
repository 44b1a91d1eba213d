"""``RunstreamProjectOperator``: an MLproject run as an Airflow task."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from runstream.airflow import api
from runstream.airflow.command import ProjectCommand
from runstream.airflow.hooks import RunstreamHook


def lineage_tags(context: Mapping[str, Any]) -> dict[str, str]:
    """``airflow.dag_id`` / ``task_id`` / ``run_id`` / ``try_number`` of the running task."""
    ti = context["ti"]
    return {
        "airflow.dag_id": str(ti.dag_id),
        "airflow.task_id": str(ti.task_id),
        "airflow.run_id": str(context.get("run_id") or ti.run_id),
        "airflow.try_number": str(ti.try_number),
    }


class RunstreamProjectOperator(BaseOperator):  # type: ignore[misc]
    """Runs an MLproject with ``runstream run`` under a new run, as one task.

    The task:

    1. runs ``runstream run <uri> -e <entry_point> -P k=v ... --json`` with the lineage
       tags of the task (``airflow.dag_id``, ``airflow.task_id``, ``airflow.run_id``,
       ``airflow.try_number``) and the connection's environment; its output goes to the
       task log;
    2. waits until the query service shows the run ended;
    3. pushes ``run_id`` and ``metrics`` (latest value per key) to XCom, and returns
       ``{"run_id", "status", "metrics"}`` (the ``return_value`` XCom);
    4. fails when the run did not end FINISHED (FAILED or KILLED, with the exit status).

    Killing the task (``on_kill``: Airflow's SIGTERM to the task, a timeout, a task
    marked failed) sends SIGTERM to ``runstream run``, which stops the command's process
    group and ends the run KILLED; the task then fails with that status.
    """

    template_fields = (
        "uri",
        "entry_point",
        "parameters",
        "version",
        "experiment_name",
        "experiment_id",
        "run_name",
        "tags",
    )

    def __init__(
        self,
        *,
        uri: str,
        entry_point: str = "main",
        parameters: Mapping[str, Any] | None = None,
        version: str | None = None,
        env_manager: str | None = None,
        experiment_name: str | None = None,
        experiment_id: str | None = None,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        runstream_conn_id: str = RunstreamHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.uri = uri
        self.entry_point = entry_point
        self.parameters = dict(parameters or {})
        self.version = version
        self.env_manager = env_manager
        self.experiment_name = experiment_name
        self.experiment_id = experiment_id
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.runstream_conn_id = runstream_conn_id
        self._command: ProjectCommand | None = None

    def command(self, binary: str, lineage: Mapping[str, str]) -> list[str]:
        """The ``runstream run`` command line of this task."""
        argv = [binary, "run", str(self.uri), "-e", str(self.entry_point), "--json"]
        for key, value in self.parameters.items():
            argv += ["-P", f"{key}={value}"]
        for flag, value in (
            ("--version", self.version),
            ("--env-manager", self.env_manager),
            ("--experiment-name", self.experiment_name),
            ("--experiment-id", self.experiment_id),
            ("--run-name", self.run_name),
        ):
            if value:
                argv += [flag, str(value)]
        for key, value in {**self.tags, **lineage}.items():
            argv += ["--tag", f"{key}={value}"]
        return argv

    def execute(self, context: Any) -> dict[str, Any]:
        """Steps 1-4 of the class docstring."""
        hook = RunstreamHook(self.runstream_conn_id)
        settings = hook.connection_settings()
        # 1. the project
        argv = self.command(settings.runstream_bin, lineage_tags(context))
        self.log.info("running %s", " ".join(argv))
        self._command = ProjectCommand(argv, {**os.environ, **settings.command_env()})
        self._command.start()
        lines = []
        for line in self._command.lines():
            self.log.info("%s", line.rstrip())
            lines.append(line)
        code = self._command.wait()
        result = api.result_line(lines)
        if result is None:
            tail = "".join(lines[-20:])
            raise AirflowException(
                f"runstream run failed before a run existed (exit {code}):\n{tail}"
            )
        # 2. the run as the lake shows it
        run_id = str(result["run_id"])
        run = hook.wait_run_ended(run_id)
        metrics = api.metrics_of(run)
        status = str(run["info"]["status"])
        # 3. XCom
        context["ti"].xcom_push(key="run_id", value=run_id)
        context["ti"].xcom_push(key="metrics", value=metrics)
        # 4. the task's outcome is the run's
        if status != "FINISHED" or result["exit_code"] != 0:
            tail = "".join(lines[-30:])
            raise AirflowException(
                f"run {run_id} ended {status} (the command exited {result['exit_code']}):\n{tail}"
            )
        return {"run_id": run_id, "status": status, "metrics": metrics}

    def on_kill(self) -> None:
        """Stops ``runstream run``: it stops the project's process group, ends the run KILLED."""
        if self._command is not None and not self._command.stop():
            self.log.warning("runstream run did not stop in time; killed it")


__all__ = ["RunstreamProjectOperator", "lineage_tags"]
