"""The gateway's lookups answered by the query service's readers, after the read-your-writes wait.

Each lookup first waits (bounded) until the lake holds the end offset the broker
reports for the key's partition, so it sees every write acknowledged before it
(the gateway's own included); then it reads one lake session no older than that.
Reads run off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from runstream.config import Settings
from runstream.errors import NotFoundError
from runstream.gateway.lookup import (
    KnownExperiment,
    KnownLoggedModel,
    KnownRun,
    KnownVersion,
    LoggedModelQuery,
)
from runstream.query.read import experiments as experiment_reader
from runstream.query.read import logged_models as logged_model_reader
from runstream.query.read import metrics as metric_reader
from runstream.query.read import registry as registry_reader
from runstream.query.read import runs as run_reader
from runstream.query.read.read_after import ReadAfter, ReadScope
from runstream.query.read.session import LakeAccess, ReadSession
from runstream.query.records import Experiment, LoggedModel, ModelVersion

T = TypeVar("T")


def _experiment(found: Experiment) -> KnownExperiment:
    row = found.row
    return KnownExperiment(row.experiment_id, row.name, row.lifecycle_stage, row.artifact_location)


def _version(found: ModelVersion) -> KnownVersion:
    row = found.row
    return KnownVersion(
        row.name, row.version, row.current_stage, row.source, row.run_id, row.status,
        row.creation_time, row.last_updated_time, row.description, dict(found.tags),
        tuple(found.aliases),
    )


def _logged_model(found: LoggedModel) -> KnownLoggedModel:
    r = found.row
    return KnownLoggedModel(
        r.model_id, r.experiment_id, r.name, r.source_run_id, r.model_type,
        r.artifact_location, r.status, r.lifecycle_stage, r.creation_time,
        r.last_updated_time, dict(found.params), dict(found.tags), tuple(found.metrics),
    )


class LakeLookup:
    """:class:`runstream.gateway.lookup.Lookup` over the lake.

    Args:
        settings: topics (to find a key's partition).
        lake: the process's lake access.
        read_after: the read-your-writes wait.
    """

    def __init__(self, settings: Settings, lake: LakeAccess, read_after: ReadAfter) -> None:
        self._events = settings.topic_events
        self._registry = settings.topic_registry
        self._lake = lake
        self._read_after = read_after

    async def _read(
        self, scope: ReadScope, read: Callable[[ReadSession], T | None]
    ) -> T | None:
        freshness = await self._read_after.wait(None, scope)

        def go() -> T | None:
            with self._lake.session(min_snapshot=freshness.snapshot_id) as session:
                try:
                    return read(session)
                except NotFoundError:
                    return None

        return await asyncio.to_thread(go)

    async def experiment(self, experiment_id: str) -> KnownExperiment | None:
        """The experiment with this id, or None."""
        scope = ReadScope(keys=((self._events, experiment_id),))
        return await self._read(
            scope, lambda s: _experiment(experiment_reader.get_experiment(s, experiment_id))
        )

    async def experiment_by_name(self, name: str) -> KnownExperiment | None:
        """The experiment with this name, or None (waits for the whole events topic)."""
        scope = ReadScope(topics=(self._events,))
        return await self._read(
            scope, lambda s: _experiment(experiment_reader.get_experiment_by_name(s, name))
        )

    async def run(self, run_id: str) -> KnownRun | None:
        """The run with its params and tags, or None."""

        def read(session: ReadSession) -> KnownRun:
            found = run_reader.get_run(
                session, run_id, run_reader.Columns(params=None, metrics=[], tags=None)
            )
            row = found.info
            return KnownRun(
                row.run_id, row.experiment_id, row.run_name or "", row.user_id or "",
                row.start_time, row.artifact_uri or "", row.status, row.end_time,
                row.lifecycle_stage, dict(found.params), dict(found.tags),
            )

        return await self._read(ReadScope(keys=((self._events, run_id),)), read)

    async def model_exists(self, name: str) -> bool:
        """Whether a registered model of this name exists (not deleted)."""
        scope = ReadScope(keys=((self._registry, name),))
        found = await self._read(scope, lambda s: registry_reader.get_model(s, name))
        return found is not None

    async def version(self, name: str, version: int) -> KnownVersion | None:
        """One model version, or None."""
        scope = ReadScope(keys=((self._registry, name),))
        return await self._read(
            scope, lambda s: _version(registry_reader.get_version(s, name, version))
        )

    async def logged_model(
        self, model_id: str, *, experiment_id: str | None = None, allow_deleted: bool = False
    ) -> KnownLoggedModel | None:
        """One logged model; waits for its experiment's partition, or the topic's."""
        if experiment_id is not None:
            scope = ReadScope(keys=((self._events, experiment_id),))
        else:
            scope = ReadScope(topics=(self._events,))
        return await self._read(scope, lambda s: _logged_model(
            logged_model_reader.get_logged_model(s, model_id, allow_deleted=allow_deleted)
        ))

    async def metric_points(
        self, run_id: str, keys: list[str], steps: list[int]
    ) -> set[tuple[str, float, int, int]]:
        """The run's points of some keys at some steps (waits for the run's partition)."""
        scope = ReadScope(keys=((self._events, run_id),))
        found = await self._read(
            scope, lambda s: metric_reader.points_at_steps(s, run_id, keys, steps)
        )
        return found or set()

    async def search_logged_models(
        self, query: LoggedModelQuery
    ) -> tuple[list[KnownLoggedModel], str | None]:
        """One page of logged models; waits for the searched experiments' partitions."""
        scope = ReadScope(keys=tuple((self._events, e) for e in query.experiment_ids))

        def read(session: ReadSession) -> tuple[list[KnownLoggedModel], str | None]:
            page = logged_model_reader.search_logged_models(
                session, query.experiment_ids, filter_string=query.filter_string,
                order_by=[logged_model_reader.OrderBy(f, a) for f, a in query.order_by],
                max_results=query.max_results, page_token=query.page_token,
            )
            return [_logged_model(m) for m in page.items], page.next_page_token

        found = await self._read(scope, read)
        return found if found is not None else ([], None)

    async def version_by_request(self, request_id: str) -> KnownVersion | None:
        """The version made by a request, once materialized (no wait: the caller polls)."""

        def go() -> KnownVersion | None:
            with self._lake.session() as session:
                try:
                    return _version(registry_reader.version_by_request(session, request_id))
                except NotFoundError:
                    return None

        return await asyncio.to_thread(go)


__all__ = ["LakeLookup"]
