"""``RunstreamClient``: MLflow's ``MlflowClient`` writes, published as events.

Every call validates in the caller's thread (limits from ``core``, param
immutability from ``core.params``, run status rules from ``core.runs``) and then
queues an event; nothing waits for the network except artifact uploads (which
must finish before their event), flushes, and registry calls that wait for a
version number. Reads (``get_run``, ``get_experiment_by_name``) go to the query
service. The registry writes live in :class:`~runstream.sdk.registry.ModelRegistryClient`,
which this class extends.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsFloat, SupportsIndex

from runstream.config import Settings
from runstream.core.params import new_params
from runstream.core.runs import RunStatus, end_run
from runstream.errors import NotFoundError
from runstream.events.codec import make_event
from runstream.events.event_types import EventType
from runstream.events.ids import new_run_id
from runstream.events.limits import (
    LIMITS,
    check_key,
)
from runstream.sdk import validate
from runstream.sdk.artifacts import ArtifactRoot, artifact_dir
from runstream.sdk.entities import (
    Metric,
    Param,
    Run,
    RunInfo,
    RunTag,
    run_from_json,
)
from runstream.sdk.experiment_client import ExperimentClient
from runstream.sdk.experiments import (
    run_artifact_root,
)
from runstream.sdk.run_artifacts import RunArtifacts
from runstream.sdk.runs import KnownRuns, RunState, now_ms, run_started_body
from runstream.sdk.session import Session

if TYPE_CHECKING:
    import httpx

    from runstream.sdk.transport import EventSink

_MAX_CACHED_KEYS = 10_000


class RunstreamClient(ExperimentClient):
    """Logs experiments, runs, metrics, params, tags and artifacts (MLflow's names).

    The constructor opens nothing: endpoints are resolved, and the sender thread and
    connections start, on first use.

    Args:
        tracking_uri: the query service's URL; the broker and bucket are learned from
            it. Defaults to ``RUNSTREAM_TRACKING_URI`` / ``MLFLOW_TRACKING_URI``.
        settings: explicit settings (broker, topics, bucket); no query service needed.
        environ: the environment to read instead of ``os.environ``.
        sink_factory: deliver events somewhere other than Kafka (tests).
        http_transport: an ``httpx`` transport for the query client (tests).
        end_run_timeout_s: how long ending a run waits for delivery before warning.
        exit_timeout_s: how long the flush at interpreter exit keeps trying before it
            reports what it could not deliver.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        environ: Mapping[str, str] | None = None,
        sink_factory: Callable[[], EventSink] | None = None,
        http_transport: httpx.BaseTransport | None = None,
        end_run_timeout_s: float = 30.0,
        exit_timeout_s: float = 30.0,
    ) -> None:
        session = Session(
            tracking_uri,
            settings=settings,
            environ=environ,
            sink_factory=sink_factory,
            http_transport=http_transport,
            end_run_timeout_s=end_run_timeout_s,
            exit_timeout_s=exit_timeout_s,
        )
        super().__init__(session)
        self._runs = KnownRuns(session)
        self._metric_keys: set[str] = set()
        self._add_metric: Callable[[str, str, float, int, int], None] = self._first_metric
        self._artifacts = RunArtifacts(session)

    # -- runs ------------------------------------------------------------------------

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
        location = self._location_of(experiment_id)
        root = run_artifact_root(
            self._session.endpoints.artifacts_bucket, experiment_id, run_id, location
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

    def _location_of(self, experiment_id: str) -> str | None:
        for experiment in self._experiments.values():
            if experiment.experiment_id == experiment_id:
                return experiment.artifact_location
        return None

    def get_run(self, run_id: str) -> Run:
        """The run as the query service shows it; this process's view if not visible yet.

        Raises:
            NotFoundError: neither the service nor this process knows the run.
        """
        answered, body = self._session.optional_query(lambda q: q.run(validate.run_id(run_id)))
        if answered and body is not None:
            return run_from_json(body)
        state = self._runs.get(run_id)
        if state is None:
            raise NotFoundError(f"run {run_id} not found")
        return state.to_run()

    def _state(self, run_id: str) -> RunState:
        return self._runs.state(run_id)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Logs a param (a string after ``str()``); returns ``value``.

        Raises:
            ParamConflictError: the run already has this key with another value.
            ValidationError / LimitExceededError: a bad key or value.
        """
        del synchronous  # always asynchronous: the event is queued
        self._log_params(run_id, [validate.param(key, value)])
        return value

    def _log_params(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        state = self._state(run_id)
        fresh = list(new_params(state.params, pairs, run_id=run_id).items())
        # Chunks of at most LIMITS.params_per_batch, as MLflow's client splits batches.
        for start in range(0, len(fresh), LIMITS.params_per_batch):
            chunk = fresh[start : start + LIMITS.params_per_batch]
            params = [{"key": k, "value": v} for k, v in chunk]
            self._session.publish(
                make_event(EventType.RUN_PARAMS, {"params": params}, run_id=run_id)
            )
        state.params.update(fresh)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: SupportsFloat,
        timestamp: int | None = None,
        step: SupportsIndex | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Queues one metric point (a few microseconds; nothing waits for the network).

        Raises:
            ValidationError: a bad key, a non-numeric value, a bad step or timestamp.
            BufferFullError: the buffer stayed full past its timeout.
        """
        if key not in self._metric_keys:
            self._check_metric_key(key)
        if run_id not in self._runs:
            self._state(run_id)
        self._add_metric(
            run_id,
            key,
            value if type(value) is float else validate.metric_value(value),
            0
            if step is None
            else step
            if type(step) is int and -(2**63) <= step < 2**63
            else validate.metric_step(step),
            now_ms() if timestamp is None else validate.timestamp_ms(timestamp),
        )

    def _check_metric_key(self, key: str) -> None:
        check_key("metric", key)
        if len(self._metric_keys) < _MAX_CACHED_KEYS:
            self._metric_keys.add(key)

    def _first_metric(self, run_id: str, key: str, value: float, step: int, ts: int) -> None:
        transport = self._session.transport
        transport.add_metric(run_id, key, value, step, ts)
        self._add_metric = transport.buffer.add_metric

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Logs metrics, params and tags at once; everything is checked before anything is queued.

        Large batches are split into events of at most 100 params or tags, as
        MLflow's client splits them.

        Raises:
            ParamConflictError, ValidationError: as the single-item calls.
        """
        del synchronous
        pairs = [validate.param(p.key, p.value) for p in params]
        tag_pairs = [validate.tag(t.key, t.value) for t in tags]
        points = [
            (
                check_key("metric", m.key),
                validate.metric_value(m.value),
                validate.metric_step(m.step),
                validate.timestamp_ms(m.timestamp),
            )
            for m in metrics
        ]
        if pairs:
            self._log_params(run_id, pairs)
        if tag_pairs:
            self._set_tags(run_id, tag_pairs)
        for key, value, step, ts in points:
            self._add_metric(run_id, key, value, step, ts)

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Sets a run tag (``str(value)``); the last write wins."""
        del synchronous
        self._set_tags(run_id, [validate.tag(key, value)])

    def _set_tags(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        state = self._state(run_id)
        for start in range(0, len(pairs), LIMITS.tags_per_batch):
            chunk = [
                {"key": k, "value": v} for k, v in pairs[start : start + LIMITS.tags_per_batch]
            ]
            self._session.publish(make_event(EventType.RUN_TAGS, {"tags": chunk}, run_id=run_id))
        state.tags.update(pairs)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Deletes a run tag."""
        state = self._state(run_id)
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
        state = self._state(run_id)
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

    # -- artifacts -------------------------------------------------------------------

    def artifact_root(self, run_id: str) -> ArtifactRoot:
        """Where a run's artifacts live (this process's runs, else the query service).

        Raises:
            NotFoundError: the run is not known here and the query service cannot say.
        """
        root = self._state(run_id).root
        if root is None:
            raise NotFoundError(
                f"cannot tell where run {run_id}'s artifacts live: it was not started by "
                "this process and the query service does not know it"
            )
        return root

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Uploads a local file into the run's artifacts, under ``artifact_path``."""
        self._artifacts.log_file(
            self.artifact_root(run_id), run_id, Path(local_path), artifact_path
        )

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Uploads a folder's files, keeping their relative paths."""
        self._artifacts.log_dir(self.artifact_root(run_id), run_id, Path(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Stores text as an artifact file (e.g. ``reports/summary.md``)."""
        self._artifacts.log_text(self.artifact_root(run_id), run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Stores a dict as a JSON (or ``.yaml``) artifact file."""
        self._artifacts.log_dict(self.artifact_root(run_id), run_id, dictionary, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Stores a matplotlib figure as an image artifact (format from the extension)."""
        self._artifacts.log_figure(
            self.artifact_root(run_id), run_id, figure, artifact_file, save_kwargs
        )

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Downloads a run's artifact folder or file; returns its local path.

        Raises:
            NotFoundError: no such run or artifact.
        """
        dest = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="runstream-"))
        root = self.artifact_root(run_id)
        return str(self._session.uploader.download(root, artifact_dir(path), dest))

    def download_location(self, root: ArtifactRoot, path: str, dest: Path) -> Path:
        """Downloads from an artifact root that is not a run's (a model's ``s3://`` source)."""
        return self._session.uploader.download(root, path, dest)

    def local_run(self, run_id: str) -> Run | None:
        """This process's view of a run it logged to (no look-up), or None."""
        state = self._runs.get(run_id)
        return state.to_run() if state is not None else None

    def log_model_event(self, run_id: str, body: dict[str, Any]) -> None:
        """Publishes ``model.logged`` for a model whose files are already uploaded."""
        self._session.publish(make_event(EventType.MODEL_LOGGED, body, run_id=run_id))


__all__ = ["RunstreamClient"]
