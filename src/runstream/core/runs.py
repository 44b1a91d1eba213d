"""Run and experiment rules: statuses, lifecycle stages, what an event may change.

MLflow's vocabulary: a run is ``RUNNING`` until a ``run.ended`` sets one of the
terminal statuses. Ending a run twice with the same status is a harmless retry;
ending it with another status is rejected (the first end wins, so replays and
retries give one answer). Runs and experiments are soft-deleted: ``lifecycle_stage``
goes ``active`` -> ``deleted`` and back on restore. A deleted run accepts no new data.
"""

from __future__ import annotations

from enum import StrEnum

from runstream.errors import InvalidTransitionError


class RunStatus(StrEnum):
    """Run statuses (MLflow's names)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


TERMINAL_STATUSES = frozenset({RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED})


class Lifecycle(StrEnum):
    """Soft-delete state of runs and experiments."""

    ACTIVE = "active"
    DELETED = "deleted"


def end_run(current: str, new: str) -> bool:
    """Decide what ``run.ended`` with status ``new`` does to a run in status ``current``.

    Returns:
        True if the run changes, False if the event is a harmless repeat.

    Raises:
        InvalidTransitionError: ``new`` is not terminal, or the run already ended
            with another status.
    """
    if new not in TERMINAL_STATUSES:
        raise InvalidTransitionError(f"run.ended needs FINISHED, FAILED or KILLED, got {new!r}")
    if current == new:
        return False
    if current in TERMINAL_STATUSES:
        raise InvalidTransitionError(f"run already ended as {current}; cannot end it as {new}")
    return True


def default_artifact_location(artifact_root: str, experiment_id: str) -> str:
    """Artifact location of an experiment created without one."""
    return f"{artifact_root.rstrip('/')}/{experiment_id}"


def run_artifact_uri(experiment_location: str, run_id: str) -> str:
    """Artifact URI of a run, under its experiment's location (MLflow's layout)."""
    return f"{experiment_location.rstrip('/')}/{run_id}/artifacts"


__all__ = [
    "TERMINAL_STATUSES",
    "Lifecycle",
    "RunStatus",
    "default_artifact_location",
    "end_run",
    "run_artifact_uri",
]
