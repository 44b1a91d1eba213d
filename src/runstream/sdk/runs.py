"""The runs one client logs to: their state in this process, and what starts them.

A run started by this process is known from its ``run.started`` event: its
experiment, artifact root, params (for the immutability rule) and tags. A run
started elsewhere (``log_metric(run_id=...)`` from another process, a resumed
run) is looked up once through the query service to learn its artifact root;
without a query service it can still log params, metrics and tags, but not
artifacts (their location is unknown).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runstream.core.limits import check_description, check_name
from runstream.core.runs import RunStatus
from runstream.sdk import validate
from runstream.sdk.artifacts import ArtifactRoot
from runstream.sdk.context import git_commit, random_run_name, source_name, user_id
from runstream.sdk.entities import Run, RunData, RunInfo, run_from_json
from runstream.sdk.session import Session

_SOURCE_TYPES = frozenset({"NOTEBOOK", "JOB", "PROJECT", "LOCAL", "RECIPE", "UNKNOWN"})


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass
class RunState:
    """What this process knows about one run."""

    info: RunInfo
    root: ArtifactRoot | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_run(self) -> Run:
        """A snapshot as an MLflow-style :class:`Run`."""
        return Run(self.info, RunData(params=dict(self.params), tags=dict(self.tags)))


def run_started_body(
    run_name: str | None,
    start_time: int | None,
    tags: Mapping[str, Any] | None,
    parent_run_id: str | None,
    description: str | None,
) -> dict[str, Any]:
    """The checked body of a ``run.started`` event, with MLflow's system tags.

    MLflow keeps who, where from and which commit as ``mlflow.*`` tags; they are
    set here too (user tags win), so MLflow clients reading Runstream find them.

    Raises:
        ValidationError: a bad name, start time, tag, parent id or description.
        LimitExceededError: a value over its limit.
    """
    name = check_name("run", run_name) if run_name else random_run_name()
    start = now_ms() if start_time is None else validate.timestamp_ms(start_time, "start time")
    if parent_run_id is not None:
        validate.run_id(parent_run_id)
    if description is not None:
        check_description(description)
    given = dict(validate.tag(k, v) for k, v in (tags or {}).items())
    # A launcher (``runstream run``) knows the run's source better than this process.
    user = user_id()
    source = given.get("mlflow.source.name") or source_name()
    kind = given.get("mlflow.source.type", "LOCAL")
    kind = kind if kind in _SOURCE_TYPES else "LOCAL"
    commit = given.get("mlflow.source.git.commit") or (None if kind == "PROJECT" else git_commit())
    system = {"mlflow.user": user, "mlflow.source.name": source, "mlflow.source.type": kind}
    if commit:
        system["mlflow.source.git.commit"] = commit
    if parent_run_id:
        system["mlflow.parentRunId"] = parent_run_id
    return {
        "run_name": name,
        "user_id": user,
        "source_name": source,
        "source_type": kind,
        "start_time": start,
        "git_commit": commit,
        "parent_run_id": parent_run_id,
        "description": description,
        "tags": {**system, **given},
    }


class KnownRuns:
    """Run states by id, learning foreign runs from the query service on first use."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._runs: dict[str, RunState] = {}

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    def get(self, run_id: str) -> RunState | None:
        """The state of a run this process knows, else None (no look-up)."""
        return self._runs.get(run_id)

    def add(self, state: RunState) -> RunState:
        """Records a run started by this process."""
        self._runs[state.info.run_id] = state
        return state

    def state(self, run_id: str) -> RunState:
        """The state of a run; a foreign one is looked up once (root None if unknown).

        Raises:
            ValidationError: not a run id.
        """
        state = self._runs.get(run_id)
        if state is None:
            validate.run_id(run_id)
            info = RunInfo(run_id, "", "", "", RunStatus.RUNNING.value, 0, None, "")
            answered, body = self._session.optional_query(lambda q: q.run(run_id))
            root = None
            if answered and body is not None:
                info = run_from_json(body).info
                root = ArtifactRoot.from_uri(info.artifact_uri) if info.artifact_uri else None
            state = self._runs[run_id] = RunState(info, root)
        return state


__all__ = ["KnownRuns", "RunState", "now_ms", "run_started_body"]
