"""``RunstreamClient``: MLflow's ``MlflowClient``, composed of small clients.

The parts, each a small class over one shared :class:`~runstream.sdk.session.Session`:

- ``experiments`` (:class:`~runstream.sdk.experiment_client.ExperimentClient`);
- ``runs`` (:class:`~runstream.sdk.run_client.RunClient`): start, params, tags, end;
- ``metrics`` (:class:`~runstream.sdk.metric_path.MetricPath`): the metric fast path;
- ``artifacts`` (:class:`~runstream.sdk.run_artifacts.RunArtifacts`): upload, then publish;
- ``registry`` (:class:`~runstream.sdk.registry.ModelRegistryClient`);
- ``reads`` (:class:`~runstream.sdk.read_client.ReadClient`): searches, histories,
  artifact lists, through the query service's MLflow read endpoints;
- ``tables`` (:class:`~runstream.sdk.tables.TableClient`): ``log_table``, ``load_table``.

Methods that only pass a call on are declared with :func:`~runstream.sdk.forward.forward`
(one line naming the part and its method); methods that combine parts are written out.
Writes validate in the caller's thread and queue events; nothing waits for the network
except artifact uploads (which must finish before their event), flushes, ending a run
(bounded), and registry calls that wait for a version number. Reads go to the query
service.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsFloat, SupportsIndex

from runstream.config import Settings
from runstream.errors import ValidationError
from runstream.events.limits import check_key
from runstream.sdk import images, validate
from runstream.sdk.artifacts import ArtifactRoot, artifact_dir
from runstream.sdk.datasets import as_dataset_input, inputs_wire
from runstream.sdk.entities import Metric, Param, RunTag
from runstream.sdk.experiment_client import ExperimentClient
from runstream.sdk.forward import forward
from runstream.sdk.metric_path import MetricPath
from runstream.sdk.read_client import ReadClient
from runstream.sdk.registry import ModelRegistryClient
from runstream.sdk.run_artifacts import RunArtifacts
from runstream.sdk.run_client import RunClient
from runstream.sdk.runs import KnownRuns
from runstream.sdk.session import Session
from runstream.sdk.tables import TableClient

if TYPE_CHECKING:
    import httpx

    from runstream.sdk.transport import EventSink


class RunstreamClient:
    """Logs and reads experiments, runs, metrics, params, tags, artifacts and models.

    The constructor opens nothing: endpoints are resolved, and the sender thread and
    connections start, on first use.

    Args:
        tracking_uri: the query service's URL; the broker and bucket are learned from
            it. Defaults to the one given to ``set_tracking_uri``, else
            ``RUNSTREAM_TRACKING_URI`` / ``MLFLOW_TRACKING_URI``.
        settings: explicit settings (broker, topics, bucket); no query service needed.
        environ: the environment to read instead of ``os.environ``.
        sink_factory: deliver events somewhere other than Kafka (tests).
        http_transport: an ``httpx`` transport for the query client (tests).
        end_run_timeout_s: how long ending a run waits for delivery before warning.
        exit_timeout_s: how long the flush at interpreter exit keeps trying before it
            reports what it could not deliver.
        read_after_timeout_s: how long a read of this process's own runs waits for the
            query service to hold what was logged.
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
        read_after_timeout_s: float = 5.0,
    ) -> None:
        if tracking_uri is None and settings is None:
            # As MLflow's MlflowClient(): the URI given to set_tracking_uri, if any.
            from runstream.sdk.active import STATE

            tracking_uri = STATE.tracking_uri
        self.session = Session(
            tracking_uri,
            settings=settings,
            environ=environ,
            sink_factory=sink_factory,
            http_transport=http_transport,
            end_run_timeout_s=end_run_timeout_s,
            exit_timeout_s=exit_timeout_s,
            read_after_timeout_s=read_after_timeout_s,
        )
        known = KnownRuns(self.session)
        self.experiments = ExperimentClient(self.session)
        self.runs = RunClient(self.session, known, self.experiments.location_of)
        self.metrics = MetricPath(self.session, known)
        self.artifacts = RunArtifacts(self.session)
        self.registry = ModelRegistryClient(self.session)
        self.reads = ReadClient(self.session)
        self.tables = TableClient(self.session, self.runs, self.artifacts, self.reads)

    # -- delivery ------------------------------------------------------------------

    @property
    def tracking_uri(self) -> str:
        """The query service's URL this client reads from."""
        return self.session.endpoints.tracking_uri

    def flush(self, timeout_s: float = 60.0) -> None:
        """Waits until every event logged so far is delivered to the broker.

        Raises:
            DeliveryError: not delivered within ``timeout_s`` (still queued and
                retried), or some events had to be given up.
        """
        self.session.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        """Flushes, stops the sender thread, and reports anything undelivered."""
        self.session.close(timeout_s)

    # -- experiments ---------------------------------------------------------------

    create_experiment = forward("experiments", ExperimentClient.create_experiment)
    get_experiment_by_name = forward("experiments", ExperimentClient.get_experiment_by_name)
    resolve_experiment = forward("experiments", ExperimentClient.resolve_experiment)
    set_experiment_tag = forward("experiments", ExperimentClient.set_experiment_tag)
    delete_experiment_tag = forward("experiments", ExperimentClient.delete_experiment_tag)
    rename_experiment = forward("experiments", ExperimentClient.rename_experiment)
    delete_experiment = forward("experiments", ExperimentClient.delete_experiment)
    restore_experiment = forward("experiments", ExperimentClient.restore_experiment)
    get_experiment = forward("reads", ReadClient.get_experiment)
    search_experiments = forward("reads", ReadClient.search_experiments)

    # -- runs ----------------------------------------------------------------------

    create_run = forward("runs", RunClient.create_run)
    get_run = forward("runs", RunClient.get_run)
    local_run = forward("runs", RunClient.local_run)
    set_terminated = forward("runs", RunClient.set_terminated)
    delete_run = forward("runs", RunClient.delete_run)
    restore_run = forward("runs", RunClient.restore_run)
    delete_tag = forward("runs", RunClient.delete_tag)
    artifact_root = forward("runs", RunClient.artifact_root)
    log_model_event = forward("runs", RunClient.log_model_event)
    search_runs = forward("reads", ReadClient.search_runs)
    get_parent_run = forward("reads", ReadClient.get_parent_run)
    get_metric_history = forward("reads", ReadClient.get_metric_history)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: SupportsFloat,
        timestamp: int | None = None,
        step: SupportsIndex | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Queues one metric point (the fast path: a few microseconds, no network).

        Raises:
            ValidationError: a bad key, a non-numeric value, a bad step or timestamp.
            BufferFullError: the buffer stayed full past its timeout.
        """
        self.metrics.log(run_id, key, value, timestamp, step)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Logs a param (a string after ``str()``); returns ``value``.

        Raises:
            ParamConflictError: the run already has this key with another value.
            ValidationError / LimitExceededError: a bad key or value.
        """
        self.runs.log_params(run_id, [validate.param(key, value)])
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Sets a run tag (``str(value)``); the last write wins."""
        self.runs.set_tags(run_id, [validate.tag(key, value)])

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
            self.runs.log_params(run_id, pairs)
        if tag_pairs:
            self.runs.set_tags(run_id, tag_pairs)
        if points:
            self.metrics.add_checked(run_id, points)

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[Any] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        """Records datasets the run used (MLflow's ``DatasetInput``s, or bare datasets).

        Raises:
            ValidationError: an item is not a dataset input, or ``models`` is given
                (logged-model inputs are not stored by the SDK).
        """
        if models:
            raise ValidationError(
                "log_inputs(models=...) is not supported: Runstream's SDK records datasets only"
            )
        found = [as_dataset_input(d) for d in datasets or ()]
        if found:
            self.runs.log_inputs(run_id, inputs_wire(found))

    # -- artifacts -----------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Uploads a local file into the run's artifacts, under ``artifact_path``."""
        root = self.runs.artifact_root(run_id)
        self.artifacts.log_file(root, run_id, Path(local_path), artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Uploads a folder's files, keeping their relative paths."""
        root = self.runs.artifact_root(run_id)
        self.artifacts.log_dir(root, run_id, Path(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Stores text as an artifact file (e.g. ``reports/summary.md``)."""
        self.artifacts.log_text(self.runs.artifact_root(run_id), run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Stores a dict as a JSON (or ``.yaml``) artifact file."""
        root = self.runs.artifact_root(run_id)
        self.artifacts.log_dict(root, run_id, dictionary, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Stores a matplotlib figure as an image artifact (format from the extension)."""
        root = self.runs.artifact_root(run_id)
        self.artifacts.log_figure(root, run_id, figure, artifact_file, save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Stores an image (numpy array or PIL image) as ``artifact_file``, or per key and step.

        Raises:
            ValidationError: both or neither of ``artifact_file`` and ``key``; a bad image.
            ConfigError: Pillow is not installed.
        """
        files = images.image_files(image, artifact_file, key, step, timestamp)
        root = self.runs.artifact_root(run_id)
        for path, data in files:
            self.artifacts.log_bytes(root, run_id, data, path)
        if key is not None:
            self.runs.set_tags(run_id, [(images.LOGGED_IMAGES_TAG, "True")])

    log_table = forward("tables", TableClient.log_table)
    load_table = forward("tables", TableClient.load_table)
    list_artifacts = forward("reads", ReadClient.list_artifacts)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Downloads a run's artifact folder or file; returns its local path.

        Raises:
            NotFoundError: no such run or artifact.
        """
        dest = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="runstream-"))
        root = self.runs.artifact_root(run_id)
        return str(self.session.uploader.download(root, artifact_dir(path), dest))

    def download_location(self, root: ArtifactRoot, path: str, dest: Path) -> Path:
        """Downloads from an artifact root that is not a run's (a model's ``s3://`` source)."""
        return self.session.uploader.download(root, path, dest)

    # -- model registry ------------------------------------------------------------

    create_registered_model = forward("registry", ModelRegistryClient.create_registered_model)
    create_model_version = forward("registry", ModelRegistryClient.create_model_version)
    transition_model_version_stage = forward(
        "registry", ModelRegistryClient.transition_model_version_stage
    )
    set_registered_model_alias = forward("registry", ModelRegistryClient.set_registered_model_alias)
    delete_registered_model_alias = forward(
        "registry", ModelRegistryClient.delete_registered_model_alias
    )
    set_registered_model_tag = forward("registry", ModelRegistryClient.set_registered_model_tag)
    delete_registered_model_tag = forward(
        "registry", ModelRegistryClient.delete_registered_model_tag
    )
    set_model_version_tag = forward("registry", ModelRegistryClient.set_model_version_tag)
    delete_model_version_tag = forward("registry", ModelRegistryClient.delete_model_version_tag)
    update_registered_model = forward("registry", ModelRegistryClient.update_registered_model)
    rename_registered_model = forward("registry", ModelRegistryClient.rename_registered_model)
    update_model_version = forward("registry", ModelRegistryClient.update_model_version)
    delete_model_version = forward("registry", ModelRegistryClient.delete_model_version)
    delete_registered_model = forward("registry", ModelRegistryClient.delete_registered_model)
    get_model_version_by_alias = forward("registry", ModelRegistryClient.get_model_version_by_alias)
    registered_model_exists = forward("registry", ModelRegistryClient.registered_model_exists)
    resolve_model_uri = forward("registry", ModelRegistryClient.resolve_model_uri)


__all__ = ["RunstreamClient"]
