"""Model-registry rules: version numbers, stages, aliases.

MLflow semantics: version numbers start at 1 and grow by one per model, in the
order of the registry topic (one partition orders one model, so every replay
assigns the same numbers). Stages are ``None``, ``Staging``, ``Production`` and
``Archived``; moving a version to Staging or Production with
``archive_existing_versions`` archives the other versions in that same stage. An
alias names one version of one model; setting it again moves it. Deleted versions
keep their number (it is never reused) and lose their aliases. Alias names are
checked by ``events.limits.check_alias`` when the event is decoded.
"""

from __future__ import annotations

from collections.abc import Iterable

from runstream.errors import InvalidTransitionError
from runstream.events import ModelStage

# One spelling of the stages: the event contract's.
Stage = ModelStage

ARCHIVING_STAGES = frozenset({Stage.STAGING, Stage.PRODUCTION})
VERSION_STATUS_READY = "READY"
REASON_REQUESTED = "requested"


def next_version(existing: Iterable[int]) -> int:
    """Return the number of the next version of a model (deleted versions included)."""
    return max(existing, default=0) + 1


def versions_to_archive(
    target: Stage, archive_existing: bool, version: int, stages: dict[int, str]
) -> list[int]:
    """Return the other versions that a stage change archives, in ascending order.

    Args:
        target: the stage the version moves to.
        archive_existing: the event's ``archive_existing_versions`` flag.
        version: the version that moves.
        stages: current stage of every live (not deleted) version of the model.

    Raises:
        InvalidTransitionError: ``archive_existing`` with a target other than
            Staging or Production (MLflow rejects it too).
    """
    if not archive_existing:
        return []
    if target not in ARCHIVING_STAGES:
        raise InvalidTransitionError(
            f"archive_existing_versions is only valid with Staging or Production, not {target}"
        )
    return sorted(v for v, s in stages.items() if v != version and s == target)


def archived_by_reason(version: int) -> str:
    """The ``stage_transitions.reason`` of a version archived because ``version`` moved."""
    return f"archived_by_version_{version}"


__all__ = [
    "ARCHIVING_STAGES",
    "REASON_REQUESTED",
    "VERSION_STATUS_READY",
    "Stage",
    "archived_by_reason",
    "next_version",
    "versions_to_archive",
]
