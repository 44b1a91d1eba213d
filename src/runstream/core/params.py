"""Param immutability: the one statement of MLflow's rule that a param never changes.

A run's param is written once. Logging the same key again with the same value is a
harmless repeat (a retry, a resumed script); logging it with another value is an
error that names the key and both values. The SDK applies this rule in the caller's
thread before anything is queued; the projection applies it to the log, so an event
that slipped past one SDK (two processes logging to one run) is still refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runstream.errors import ParamConflictError

__all__ = ["new_params"]


def new_params(
    known: Mapping[str, str], params: Iterable[tuple[str, str]], *, run_id: str
) -> dict[str, str]:
    """Returns the params that are not logged yet, refusing any changed value.

    Args:
        known: the params the run already has, by key.
        params: ``(key, value)`` pairs to log, in order; a key may repeat inside it,
            with the same rule.
        run_id: the run, for the message.

    Returns:
        The new params by key, in first-seen order (repeats of known values left out).

    Raises:
        ParamConflictError: a key already has another value (in ``known`` or earlier
            in ``params``); nothing is returned, so the batch is taken whole or not at all.
    """
    fresh: dict[str, str] = {}
    for key, value in params:
        before = fresh.get(key, known.get(key))
        if before is None:
            fresh[key] = value
        elif before != value:
            raise ParamConflictError(
                f"param {key!r} of run {run_id} is {before!r}; cannot change it to "
                f"{value!r} (params are immutable: log it under another key, or start "
                "a new run)"
            )
    return fresh
