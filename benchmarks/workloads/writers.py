"""How each system is written to, the way its users write: one interface, two clients.

- :class:`MlflowWriter` (MLflow and FastTrackML): ``MlflowClient`` as a user logging bulk
  metrics uses it: points gathered per run and sent with ``log_batch`` 1,000 at a time (MLflow's
  limit per call), and at the end of every training step (:meth:`step_done`); params, metrics
  and tags of a run in one ``log_batch``; ``set_terminated`` at the end. A synchronous client.
- :class:`RunstreamWriter`: Runstream's SDK, its fluent API (``runstream.start_run``,
  ``runstream.log_metric`` per point, ...). The SDK batches and sends in the background; its
  active run is per thread, like MLflow's, so the same number of threads drives it (each
  ``end_run`` waits until that run's events are delivered).

Both get the same number of writer threads: they stand for concurrent training processes.

Imports of ``mlflow`` and ``runstream`` happen in :meth:`open`: each writer only ever runs in
its own system's client interpreter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log_batch call

LogMetric = Callable[[str, float, int], None]


class Writer(Protocol):
    """What a workload needs to write: experiments, runs, points, run data."""

    threads: int

    def open(self) -> None:
        """Import the client and point it at the server."""

    def close(self) -> None:
        """Flush and release the client."""

    def create_experiment(self, name: str) -> str:
        """Create an experiment; its id ("" when the client cannot tell yet)."""

    def start_run(self, experiment_id: str, name: str) -> str:
        """Start a run in the experiment; its id."""

    def logger(self, run_id: str) -> LogMetric:
        """The per-point call for this run: ``log(key, value, step)``."""

    def step_done(self, run_id: str) -> None:
        """A training step is over (an MLflow user sends the step's batch now)."""

    def log_run_data(self, run_id: str, params: dict[str, str], metrics: dict[str, float],
                     tags: dict[str, str]) -> None:
        """Params, one value per metric and tags of a run, as one user call each client has."""

    def end_run(self, run_id: str) -> None:
        """End the run as FINISHED."""

    def flush(self) -> None:
        """Return once everything written so far has left the client."""


class MlflowWriter:
    """MLflow's client against MLflow's or FastTrackML's server."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.threads = threads
        self._client: Any = None
        self._metric: Any = None
        self._param: Any = None
        self._tag: Any = None
        self._buffers: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def open(self) -> None:
        """Import MLflow's client."""
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param, RunTag

        self._client = MlflowClient(tracking_uri=self.url)
        self._metric, self._param, self._tag = Metric, Param, RunTag

    def close(self) -> None:
        """Send whatever is still buffered."""
        self.flush()

    def create_experiment(self, name: str) -> str:
        """``MlflowClient.create_experiment``."""
        return str(self._client.create_experiment(name))

    def start_run(self, experiment_id: str, name: str) -> str:
        """``MlflowClient.create_run``."""
        run = self._client.create_run(experiment_id, run_name=name)
        with self._lock:
            self._buffers[run.info.run_id] = []
        return str(run.info.run_id)

    def logger(self, run_id: str) -> LogMetric:
        """Append a ``Metric`` to the run's batch; send the batch when it holds 1,000."""
        buffer = self._buffers[run_id]
        metric = self._metric
        send = self._send

        def log(key: str, value: float, step: int) -> None:
            buffer.append(metric(key, value, int(time.time() * 1000), step))
            if len(buffer) >= MLFLOW_BATCH:
                send(run_id)

        return log

    def _send(self, run_id: str) -> None:
        buffer = self._buffers[run_id]
        if buffer:
            batch = buffer[:]
            buffer.clear()
            self._client.log_batch(run_id, metrics=batch)

    def step_done(self, run_id: str) -> None:
        """Send the step's points now (a user calls ``log_batch`` once per step)."""
        self._send(run_id)

    def log_run_data(self, run_id: str, params: dict[str, str], metrics: dict[str, float],
                     tags: dict[str, str]) -> None:
        """One ``log_batch`` with params, metrics and tags."""
        now = int(time.time() * 1000)
        self._client.log_batch(
            run_id,
            metrics=[self._metric(k, v, now, 0) for k, v in metrics.items()],
            params=[self._param(k, v) for k, v in params.items()],
            tags=[self._tag(k, v) for k, v in tags.items()],
        )

    def end_run(self, run_id: str) -> None:
        """Send the rest of the run's points, then ``set_terminated``."""
        self._send(run_id)
        self._client.set_terminated(run_id)
        with self._lock:
            del self._buffers[run_id]

    def flush(self) -> None:
        """Send every buffered point (log_batch is synchronous: then it is stored)."""
        with self._lock:
            run_ids = list(self._buffers)
        for run_id in run_ids:
            self._send(run_id)


class RunstreamWriter:
    """Runstream's SDK, fluent API."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.threads = threads
        self._rs: Any = None

    def open(self) -> None:
        """Import the SDK and point it at the query service (it learns the rest there)."""
        import runstream

        runstream.set_tracking_uri(self.url)
        self._rs = runstream

    def close(self) -> None:
        """Deliver everything logged."""
        self._rs.flush()

    def create_experiment(self, name: str) -> str:
        """``runstream.set_experiment`` (creates it)."""
        experiment = self._rs.set_experiment(name)
        return str(getattr(experiment, "experiment_id", "") or "")

    def start_run(self, experiment_id: str, name: str) -> str:
        """``runstream.start_run`` (the run becomes this thread's active run)."""
        return str(self._rs.start_run(experiment_id=experiment_id, run_name=name).info.run_id)

    def logger(self, run_id: str) -> LogMetric:
        """``runstream.log_metric`` itself: the call a training loop makes per point."""
        del run_id  # the active run
        log: LogMetric = self._rs.log_metric
        return log

    def step_done(self, run_id: str) -> None:
        """Nothing: the SDK sends on its own, without blocking the loop."""

    def log_run_data(self, run_id: str, params: dict[str, str], metrics: dict[str, float],
                     tags: dict[str, str]) -> None:
        """``log_params``, ``log_metrics`` and ``set_tags`` on the active run."""
        self._rs.log_params(params)
        self._rs.log_metrics(metrics)
        self._rs.set_tags(tags)

    def end_run(self, run_id: str) -> None:
        """``runstream.end_run()`` (FINISHED)."""
        self._rs.end_run()

    def flush(self) -> None:
        """``runstream.flush()``: returns once the broker has every event."""
        self._rs.flush()


def make_writer(system: str, url: str, threads: int) -> Writer:
    """The writer of a system: the SDK for Runstream, MLflow's client for the peers."""
    if system == "runstream":
        return RunstreamWriter(url, threads)
    return MlflowWriter(url, threads)
