"""What every write handler shares: the publisher, the lookups and what they learned."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runstream.auth.directory import Grant
from runstream.core.artifact_uris import to_proxy_uri
from runstream.core.identity import DEFAULT_EXPERIMENT_ID
from runstream.core.positions import Position
from runstream.core.rows import ExperimentRow
from runstream.core.run_mirror import RunMirrors
from runstream.errors import NotFoundError
from runstream.events import Envelope
from runstream.gateway.errors import InvalidStateError
from runstream.gateway.lookup import (
    KnownExperiment,
    KnownLoggedModels,
    KnownRun,
    KnownRuns,
    Lookup,
)
from runstream.gateway.publisher import Publisher

_ADJECTIVES = ("bold", "calm", "bright", "keen", "quick", "sly", "wise", "able", "brave", "fair")
_NOUNS = ("owl", "fox", "lynx", "hawk", "wren", "crab", "moth", "deer", "finch", "toad")


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def random_run_name() -> str:
    """A readable run name, as MLflow's server gives runs created without one."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


@dataclass
class GatewayContext:
    """The gateway's shared state (one per app).

    Attributes:
        publisher: puts events on the log.
        lookup: reads what earlier writes left in the lake.
        artifacts_bucket: the artifacts bucket (``s3://`` locations inside it are
            shown to MLflow's client as ``mlflow-artifacts:/``).
        runs: runs this gateway created or looked up.
        experiments: experiments this gateway created or looked up, by id.
        logged_models: logged models this gateway created or looked up.
        mirrors: the runs this gateway started, as the lake will hold them
            (``runstream.core.run_mirror``): reads answer from them until the lake
            holds their last write.
        expect_grant: announces a creator grant it published to the server's
            directory, so it counts at once (``runstream.gateway.guard``, rule 1).
    """

    publisher: Publisher
    lookup: Lookup
    artifacts_bucket: str
    runs: KnownRuns = field(default_factory=KnownRuns)
    experiments: dict[str, KnownExperiment] = field(default_factory=dict)
    logged_models: KnownLoggedModels = field(default_factory=KnownLoggedModels)
    expect_grant: Callable[[Grant], None] | None = None
    mirrors: RunMirrors = field(init=False)

    def __post_init__(self) -> None:
        self.mirrors = RunMirrors(f"s3://{self.artifacts_bucket}")

    async def publish(self, events: list[Envelope[Any]]) -> list[Position]:
        """Publish and wait for the broker's acknowledgement (BrokerError: 503)."""
        positions = await self.publisher.publish(events)
        self.mirrors.written(zip(events, positions, strict=True), self._experiment_row)
        return positions

    def _experiment_row(self, experiment_id: str) -> ExperimentRow | None:
        known = self.experiments.get(experiment_id)
        if known is None:
            return None
        return ExperimentRow(
            known.experiment_id, known.name, known.artifact_location, known.lifecycle_stage, 0, 0
        )

    def shown(self, uri: str | None) -> str:
        """An artifact location as MLflow's client sees it."""
        return to_proxy_uri(uri, self.artifacts_bucket) or ""

    def default_location(self, experiment_id: str) -> str:
        """The artifact location of an experiment created without one."""
        return f"s3://{self.artifacts_bucket}/{experiment_id}"

    async def experiment(self, experiment_id: str, *, active: bool = False) -> KnownExperiment:
        """The experiment, from memory or the lake.

        Raises:
            NotFoundError: no such experiment.
            InvalidStateError: ``active`` and the experiment is deleted.
        """
        known = self.experiments.get(experiment_id)
        if known is None:
            known = await self.lookup.experiment(experiment_id)
            if known is None and experiment_id == DEFAULT_EXPERIMENT_ID:
                known = KnownExperiment(DEFAULT_EXPERIMENT_ID, "Default", "active", None)
            if known is None:
                raise NotFoundError(f"No Experiment with id={experiment_id} exists")
            self.experiments[experiment_id] = known
        if active and known.lifecycle_stage != "active":
            raise InvalidStateError(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {known.lifecycle_stage}."
            )
        return known

    async def run(self, run_id: str, *, active: bool = True) -> KnownRun:
        """The run, from memory or the lake.

        Raises:
            NotFoundError: no such run.
            InvalidStateError: ``active`` and the run is deleted (MLflow's rule).
        """
        known = self.runs.get(run_id)
        if known is None:
            looked_up = await self.lookup.run(run_id)
            if looked_up is None:
                raise NotFoundError(f"Run with id={run_id} not found")
            known = self.runs.put(looked_up)
        if active and known.lifecycle_stage != "active":
            raise InvalidStateError(
                f"The run {run_id} must be in the 'active' state. "
                f"Current state is {known.lifecycle_stage}."
            )
        return known

    def run_info(self, run: KnownRun) -> dict[str, Any]:
        """MLflow's ``RunInfo`` JSON."""
        info: dict[str, Any] = {
            "run_id": run.run_id,
            "run_uuid": run.run_id,
            "run_name": run.run_name,
            "experiment_id": run.experiment_id,
            "user_id": run.user_id,
            "status": run.status,
            "start_time": run.start_time,
            "artifact_uri": self.shown(run.artifact_uri),
            "lifecycle_stage": run.lifecycle_stage,
        }
        if run.end_time is not None:
            info["end_time"] = run.end_time
        return info


__all__ = ["GatewayContext", "now_ms", "random_run_name"]
