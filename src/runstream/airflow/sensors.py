"""``RunstreamModelVersionSensor``: wait for a new version of a model in a stage or alias."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout

from runstream.airflow.hooks import RunstreamHook
from runstream.airflow.triggers import RunstreamModelVersionTrigger


class RunstreamModelVersionSensor(BaseSensorOperator):  # type: ignore[misc]
    """Waits until ``model_name`` has a new version in ``stage`` (or under ``alias``).

    "New" is a version number of at least ``min_version`` when it is given (templated,
    e.g. the version a register task pushed), else one above the version that held the
    stage or alias when the sensor started. Deferrable by default: the wait runs in
    Airflow's triggerer, not in a worker slot; ``deferrable=False`` pokes every
    ``poll_interval`` seconds instead. The sensor returns the version number (its
    ``return_value`` XCom). After ``timeout`` seconds it fails with
    ``AirflowSensorTimeout``, naming what it waited for.
    """

    template_fields = ("model_name", "stage", "alias", "min_version")

    def __init__(
        self,
        *,
        model_name: str,
        stage: str | None = None,
        alias: str | None = None,
        min_version: int | str | None = None,
        runstream_conn_id: str = RunstreamHook.default_conn_name,
        deferrable: bool = True,
        poll_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        if (stage is None) == (alias is None):
            raise ValueError("RunstreamModelVersionSensor needs exactly one of stage, alias")
        self.model_name = model_name
        self.stage = stage
        self.alias = alias
        self.min_version = min_version
        self.runstream_conn_id = runstream_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self._above: int | None = None

    def _floor(self, hook: RunstreamHook) -> int:
        """Versions above this number count as new."""
        if self._above is None:
            if self.min_version not in (None, ""):
                self._above = int(str(self.min_version)) - 1
            else:
                self._above = hook.model_version(self.model_name, self.stage, self.alias) or 0
            self.log.info("waiting for %s", self._awaited())
        return self._above

    def _where(self) -> str:
        return f"in stage {self.stage}" if self.stage else f"under alias {self.alias}"

    def _awaited(self) -> str:
        above = "a new version" if self._above is None else f"a version above {self._above}"
        return f"{above} of {self.model_name} {self._where()}"

    def _timed_out(self) -> str:
        return (
            f"{self.task_id}: no {self._awaited().removeprefix('a ')} within "
            f"{float(self.timeout):g} s (the sensor's timeout)"
        )

    def _found(self, hook: RunstreamHook) -> int | None:
        floor = self._floor(hook)
        version = hook.model_version(self.model_name, self.stage, self.alias)
        if version is None or version <= floor:
            return None
        self.log.info("%s version %d is %s", self.model_name, version, self._where())
        return version

    def poke(self, context: Any) -> PokeReturnValue:
        """One check (the non-deferrable path)."""
        version = self._found(RunstreamHook(self.runstream_conn_id))
        return PokeReturnValue(is_done=version is not None, xcom_value=version)

    def execute(self, context: Any) -> Any:
        """Checks once; defers to the trigger when the version is not there yet.

        Raises:
            AirflowSensorTimeout: non-deferrable, and nothing came within ``timeout``
                (the message names the model, the stage or alias and the floor).
        """
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                raise AirflowSensorTimeout(self._timed_out()) from exc
        hook = RunstreamHook(self.runstream_conn_id)
        version = self._found(hook)
        if version is not None:
            return version
        self.defer(
            trigger=RunstreamModelVersionTrigger(
                runstream_conn_id=self.runstream_conn_id,
                model_name=self.model_name,
                stage=self.stage,
                alias=self.alias,
                above=self._floor(hook),
                poll_interval=self.poll_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def resume_execution(
        self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any
    ) -> Any:
        """Resumes after the trigger; its timeout fails with the same message as poking."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout as exc:
            raise AirflowSensorTimeout(self._timed_out()) from exc

    def execute_complete(self, context: Any, event: dict[str, Any]) -> int:
        """Resumes after the trigger fired: the version number."""
        if event.get("status") != "success":
            raise AirflowException(f"waiting for {self.model_name} failed: {event}")
        self.log.info("%s version %s is there", self.model_name, event["version"])
        return int(event["version"])


__all__ = ["RunstreamModelVersionSensor"]
