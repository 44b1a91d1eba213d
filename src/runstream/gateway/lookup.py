"""What the gateway needs to know before it writes, and where it learns it.

The gateway never reads the lake. MLflow's answers that depend on earlier writes
(a name already taken, a run that does not exist or is deleted, a param logged
with another value, the number the materializer gave a new model version) come
through the :class:`Lookup` protocol, which the composition root fills with the
query service's readers behind the read-your-writes wait, so a lookup sees every
write acknowledged before it. :class:`KnownRuns` keeps what the gateway learned
or wrote itself, so that logging to a run costs no lookup after the first.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from runstream.core.rows import LoggedModelMetricRow


@dataclass(frozen=True)
class KnownExperiment:
    """An experiment as the lake holds it."""

    experiment_id: str
    name: str
    lifecycle_stage: str
    artifact_location: str | None


@dataclass
class KnownRun:
    """A run as the gateway knows it (from the lake, then from its own writes)."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    start_time: int
    artifact_uri: str
    status: str = "RUNNING"
    end_time: int | None = None
    lifecycle_stage: str = "active"
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KnownVersion:
    """A model version as the lake holds it."""

    name: str
    version: int
    current_stage: str
    source: str | None
    run_id: str | None
    status: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None
    tags: dict[str, str]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class KnownLoggedModel:
    """An MLflow 3 logged model as the lake holds it."""

    model_id: str
    experiment_id: str
    name: str
    source_run_id: str | None
    model_type: str | None
    artifact_location: str
    status: str
    lifecycle_stage: str
    creation_time: int
    last_updated_time: int
    params: dict[str, str]
    tags: dict[str, str]
    metrics: tuple[LoggedModelMetricRow, ...] = ()


@dataclass(frozen=True)
class LoggedModelQuery:
    """A ``logged-models/search`` request, checked.

    Attributes:
        experiment_ids: experiments searched (at least one).
        filter_string: MLflow's filter, or None.
        order_by: ``(field name, ascending)`` pairs, MLflow's order when empty.
        max_results: page size.
        page_token: the token of the page asked for, or None.
    """

    experiment_ids: tuple[str, ...]
    filter_string: str | None
    order_by: tuple[tuple[str, bool], ...]
    max_results: int
    page_token: str | None


class Lookup(Protocol):
    """Reads the gateway needs; each sees every write acknowledged before it."""

    async def experiment(self, experiment_id: str) -> KnownExperiment | None:
        """The experiment with this id, or None."""
        ...

    async def experiment_by_name(self, name: str) -> KnownExperiment | None:
        """The experiment with this name (active or deleted), or None."""
        ...

    async def run(self, run_id: str) -> KnownRun | None:
        """The run with its params and tags, or None."""
        ...

    async def model_exists(self, name: str) -> bool:
        """Whether a registered model of this name exists."""
        ...

    async def version(self, name: str, version: int) -> KnownVersion | None:
        """One model version, or None."""
        ...

    async def version_by_request(self, request_id: str) -> KnownVersion | None:
        """The version a ``registry.version_requested`` event created, once materialized."""
        ...


    async def logged_model(
        self, model_id: str, *, experiment_id: str | None = None, allow_deleted: bool = False
    ) -> KnownLoggedModel | None:
        """One logged model (waits for its experiment's partition when known), or None."""
        ...

    async def metric_points(
        self, run_id: str, keys: list[str], steps: list[int]
    ) -> set[tuple[str, float, int, int]]:
        """The run's metric points ``(key, value, step, timestamp)`` of some keys and steps."""
        ...

    async def search_logged_models(
        self, query: LoggedModelQuery
    ) -> tuple[list[KnownLoggedModel], str | None]:
        """One page of logged models and the next page's token.

        Raises:
            FilterParseError: a bad filter or order.
            PageTokenError: a token of another query.
        """
        ...


class KnownLoggedModels:
    """Logged models this gateway wrote or read, by id (bounded, oldest dropped).

    Like :class:`KnownRuns`, it spares a lookup (and its read-your-writes wait) for
    every change after the first: finalizing the model ``log_model`` just created
    costs no wait for the materializer.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._models: OrderedDict[str, KnownLoggedModel] = OrderedDict()

    def get(self, model_id: str) -> KnownLoggedModel | None:
        """The model, if known."""
        model = self._models.get(model_id)
        if model is not None:
            self._models.move_to_end(model_id)
        return model

    def put(self, model: KnownLoggedModel) -> KnownLoggedModel:
        """Remember a model (its latest known state)."""
        self._models[model.model_id] = model
        self._models.move_to_end(model.model_id)
        while len(self._models) > self._capacity:
            self._models.popitem(last=False)
        return model


class KnownRuns:
    """Runs by id, most recently used last; the oldest are forgotten past ``capacity``."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._runs: OrderedDict[str, KnownRun] = OrderedDict()

    def get(self, run_id: str) -> KnownRun | None:
        """The run, if known."""
        run = self._runs.get(run_id)
        if run is not None:
            self._runs.move_to_end(run_id)
        return run

    def put(self, run: KnownRun) -> KnownRun:
        """Remember a run."""
        self._runs[run.run_id] = run
        self._runs.move_to_end(run.run_id)
        while len(self._runs) > self._capacity:
            self._runs.popitem(last=False)
        return run


__all__ = [
    "KnownExperiment",
    "KnownLoggedModel",
    "KnownLoggedModels",
    "KnownRun",
    "KnownRuns",
    "KnownVersion",
    "LoggedModelQuery",
    "Lookup",
]
