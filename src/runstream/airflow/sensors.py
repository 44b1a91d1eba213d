"""``RunstreamModelVersionSensor``: wait until a registered model has a new version in a stage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException

from runstream.airflow.hooks import RunstreamHook
from runstream.airflow.triggers import RunstreamModelVersionTrigger


class RunstreamModelVersionSensor(BaseSensorOperator):  # type: ignore[misc]
    """Waits until ``model_name`` has a new version in ``stage`` (or under ``alias``).

    "New" is a version number of at least ``min_version`` when it is given (templated,
    e.g. the version a register task pushed), else one above the version that held the
    stage or alias when the sensor started. Deferrable by default: the wait runs in
    Airflow's triggerer, not in a worker slot. The sensor returns the version number
    (its ``return_value`` XCom).
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
        return self._above

    def _found(self, hook: RunstreamHook) -> int | None:
        version = hook.model_version(self.model_name, self.stage, self.alias)
        return version if version is not None and version > self._floor(hook) else None

    def poke(self, context: Any) -> PokeReturnValue:
        """One check (the non-deferrable path)."""
        version = self._found(RunstreamHook(self.runstream_conn_id))
        return PokeReturnValue(is_done=version is not None, xcom_value=version)

    def execute(self, context: Any) -> Any:
        """Checks once; defers to the trigger when the version is not there yet."""
        if not self.deferrable:
            return super().execute(context)
        hook = RunstreamHook(self.runstream_conn_id)
        version = self._found(hook)
        if version is not None:
            return version
        where = f"stage {self.stage}" if self.stage else f"alias {self.alias}"
        self.log.info("waiting for a version of %s above %d in %s",
                      self.model_name, self._floor(hook), where)
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

    def execute_complete(self, context: Any, event: dict[str, Any]) -> int:
        """Resumes after the trigger fired: the version number."""
        if event.get("status") != "success":
            raise AirflowException(f"waiting for {self.model_name} failed: {event}")
        self.log.info("%s version %s is there", self.model_name, event["version"])
        return int(event["version"])


__all__ = ["RunstreamModelVersionSensor"]
