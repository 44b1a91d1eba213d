"""Run writes with MLflow's ``MlflowClient`` names: start, params, tags, end, delete.

Every call validates in the caller's thread (limits from ``core``, param
immutability from ``core.params``, run status rules from ``core.runs``) and then
queues an event; only ending a run waits (bounded) for delivery. Metric points take
their own route (:class:`~runstream.sdk.metric_path.MetricPath`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runstream.core.params import new_params
from runstream.core.runs import RunStatus, end_run
from runstream.errors import NotFoundError
from runstream.events.codec import make_event
from runstream.events.event_types import EventType
from runstream.events.ids import new_run_id
from runstream.events.limits import LIMITS, check_key
from runstream.sdk import validate
from runstream.sdk.artifacts import ArtifactRoot
from runstream.sdk.entities import Run, RunInfo, run_from_json
from runstream.sdk.experiments import run_artifact_root
from runstream.sdk.runs import KnownRuns, RunState, now_ms, run_started_body
from runstream.sdk.session import Session


class RunClient:
    """Starts, changes and ends runs by publishing run events.

    Args:
        session: the client's connections.
        runs: what this process knows of each run (shared with the metric path).
        location_of: an experiment's artifact location when this client knows it.
    """

    def __init__(
        self,
        session: Session,
        runs: KnownRuns,
        location_of: Callable[[str], str | None],
    ) -> None:
        self._session = session
        self._runs = runs
        self._location_of = location_of

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        *,
        parent_run_id: str | None = None,
        description: str | None = None,
    ) -> Run:
        """Starts a run (publishes ``run.started``) and returns it.

        Raises:
            ValidationError: a bad name, tag, description or parent id.
        """
        run_id = new_run_id()
        experiment_id = str(experiment_id)
        body = run_started_body(run_name, start_time, tags, parent_run_id, description)
        envelope = make_event(
            EventType.RUN_STARTED, body, experiment_id=experiment_id, run_id=run_id
        )
        root = run_artifact_root(
            self._session.endpoints.artifacts_bucket,
            experiment_id,
            run_id,
            self._location_of(experiment_id),
        )
        self._session.publish(envelope)
        name, start = body["run_name"], body["start_time"]
        info = RunInfo(
            run_id,
            experiment_id,
            name,
            body["user_id"],
            RunStatus.RUNNING.value,
            start,
            None,
            root.uri,
        )
        state = RunState(info, root, tags={**body["tags"], "mlflow.runName": name})
        return self._runs.add(state).to_run()

    def get_run(self, run_id: str) -> Run:
        """The run as the query service shows it: one consistent point of its log.

        Never this process's own view: that view has no metric values, so it would
        show a run FINISHED without the metrics it logged before ending. For a run
        this process logged, the read first flushes and then waits (bounded by
        ``read_after_timeout_s``) until the service holds the run.

        Raises:
            NotFoundError: the service does not hold the run (after the wait, for
                this process's own runs).
            ServiceError: the query service does not answer.
        """
        validate.run_id(run_id)
        query = self._session.query()
        if run_id in self._runs:
            self._session.flush_quietly(f"reading run {run_id}")
        deadline = time.monotonic() + self._session.read_after_timeout_s
        delay = 0.02
        while True:
            body = query.run(run_id)
            if body is not None:
                return run_from_json(body)
            if run_id not in self._runs or time.monotonic() + delay > deadline:
                raise NotFoundError(f"run {run_id} not found")
            time.sleep(delay)
            delay = min(0.25, delay * 2)

    def local_run(self, run_id: str) -> Run | None:
        """This process's view of a run it logged to (no look-up), or None."""
        state = self._runs.get(run_id)
        return state.to_run() if state is not None else None

    def artifact_root(self, run_id: str) -> ArtifactRoot:
        """Where a run's artifacts live (this process's runs, else the query service).

        Raises:
            NotFoundError: the run is not known here and the query service cannot say.
        """
        root = self._runs.state(run_id).root
        if root is None:
            raise NotFoundError(
                f"cannot tell where run {run_id}'s artifacts live: it was not started by "
                "this process and the query service does not know it"
            )
        return root

    def log_params(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Publishes checked params, in chunks of at most ``LIMITS.params_per_batch``.

        Raises:
            ParamConflictError: the run already has a key with another value.
        """
        state = self._runs.state(run_id)
        fresh = list(new_params(state.params, pairs, run_id=run_id).items())
        # Chunks of at most LIMITS.params_per_batch, as MLflow's client splits batches.
        for start in range(0, len(fresh), LIMITS.params_per_batch):
            chunk = fresh[start : start + LIMITS.params_per_batch]
            params = [{"key": k, "value": v} for k, v in chunk]
            self._session.publish(
                make_event(EventType.RUN_PARAMS, {"params": params}, run_id=run_id)
            )
        state.params.update(fresh)

    def set_tags(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Publishes checked tags, in chunks of at most ``LIMITS.tags_per_batch``."""
        state = self._runs.state(run_id)
        for start in range(0, len(pairs), LIMITS.tags_per_batch):
            chunk = [
                {"key": k, "value": v} for k, v in pairs[start : start + LIMITS.tags_per_batch]
            ]
            self._session.publish(make_event(EventType.RUN_TAGS, {"tags": chunk}, run_id=run_id))
        state.tags.update(pairs)

    def log_inputs(self, run_id: str, datasets: list[dict[str, Any]]) -> None:
        """Publishes ``run.inputs``, one event per dataset (a schema can be large).

        Raises:
            ValidationError / LimitExceededError: a dataset breaks the contract;
                nothing of the call is published then.
        """
        self._runs.state(run_id)
        events = [
            make_event(EventType.RUN_INPUTS, {"datasets": [d]}, run_id=run_id) for d in datasets
        ]
        for event in events:
            self._session.publish(event)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Deletes a run tag."""
        state = self._runs.state(run_id)
        body = {"key": check_key("tag", key)}
        self._session.publish(make_event(EventType.RUN_TAG_DELETED, body, run_id=run_id))
        state.tags.pop(key, None)

    def set_terminated(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        *,
        wait: bool = True,
    ) -> None:
        """Ends a run (FINISHED by default) and waits a bounded time for its delivery.

        If the events are not delivered within ``end_run_timeout_s`` a loud warning
        says how many wait; they stay queued and the SDK keeps retrying. With
        ``wait=False`` (used at interpreter exit, which flushes once for all runs)
        the event is only queued.

        Raises:
            InvalidTransitionError: not a terminal status, or already ended otherwise.
        """
        state = self._runs.state(run_id)
        new = (status or RunStatus.FINISHED.value).upper()
        if not end_run(state.info.status, new):
            return
        end = now_ms() if end_time is None else validate.timestamp_ms(end_time, "end time")
        body = {"status": new, "end_time": end}
        self._session.publish(make_event(EventType.RUN_ENDED, body, run_id=run_id))
        state.info.status, state.info.end_time = new, end
        if wait:
            self._session.flush_quietly(f"run {run_id} ended")

    def delete_run(self, run_id: str) -> None:
        """Moves a run to the deleted stage."""
        self._session.publish(make_event(EventType.RUN_DELETED, {}, run_id=validate.run_id(run_id)))

    def restore_run(self, run_id: str) -> None:
        """Restores a deleted run."""
        self._session.publish(
            make_event(EventType.RUN_RESTORED, {}, run_id=validate.run_id(run_id))
        )

    def log_model_event(self, run_id: str, body: dict[str, Any]) -> None:
        """Publishes ``model.logged`` for a model whose files are already uploaded."""
        self._session.publish(make_event(EventType.MODEL_LOGGED, body, run_id=run_id))


__all__ = ["RunClient"]
