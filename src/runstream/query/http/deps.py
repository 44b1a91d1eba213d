"""Typed FastAPI dependencies: the app's state, settings, object store and a lake session.

Every lake session of a request first waits, bounded, until the lake holds what
was written before the request (:mod:`runstream.query.read.read_after`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import Depends, Request

from runstream.config import Settings
from runstream.core.positions import READ_AFTER_HEADER
from runstream.core.run_mirror import RunMirror
from runstream.objectstore.client import ObjectStore
from runstream.query.http.prometheus import RequestMetrics
from runstream.query.http.read_scope import read_scope
from runstream.query.live.port import LogTail
from runstream.query.read.read_after import Freshness, ReadAfter, ReadScope
from runstream.query.read.session import LakeAccess, ReadSession

if TYPE_CHECKING:
    from runstream.query.http.access import AuthEdge

SESSION_KEY = "runstream_session"
FRESHNESS_KEY = "runstream_freshness"
# Reads under these paths wait for the broker's end offsets when they carry no
# X-Runstream-Read-After header (MLflow's client, which expects to read its writes);
# native API reads without the header answer from the newest snapshot.
WAITS_WITHOUT_HEADER = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
# Bodies larger than this are not looked into for keys (the read then waits per topic).
_SCOPE_BODY_BYTES = 64 * 1024


@dataclass
class AppState:
    """What one app instance holds; built by the app factory, stored on ``app.state``.

    Attributes:
        settings: the process's settings.
        lake: lazily opened lake reader.
        store: the artifacts object store (opens connections on first use).
        metrics: request counters for ``/metrics``.
        read_after: the read-your-writes wait.
        auth: authentication at the edge, when ``RUNSTREAM_AUTH`` is on.
        live: the log reader of the live tail (None: the endpoint answers 503).
        run_mirror: runs this server's write gateway started, as the lake will hold
            them (``runstream.core.run_mirror``); None without a gateway.
    """

    settings: Settings
    lake: LakeAccess
    store: ObjectStore
    metrics: RequestMetrics
    read_after: ReadAfter
    auth: AuthEdge | None = None
    live: LogTail | None = None
    run_mirror: Callable[[str], RunMirror | None] | None = None


def get_state(request: Request) -> AppState:
    """The app's state."""
    state: AppState = request.app.state.runstream
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    """The process's settings."""
    return state.settings


def get_store(state: StateDep) -> ObjectStore:
    """The artifacts object store."""
    return state.store


def remember_session(request: Request, session: ReadSession) -> None:
    """Let the middleware put this session's snapshot in the response header."""
    request.scope.setdefault("state", {})[SESSION_KEY] = session


async def _request_args(request: Request) -> dict[str, Any]:
    """Path, query and (small JSON) body arguments, to find the keys a read reads."""
    args: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        args[key] = values if len(values) > 1 else values[0]
    if request.method == "POST":
        raw = await request.body()
        if 0 < len(raw) <= _SCOPE_BODY_BYTES:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None  # the route answers the bad body itself
            if isinstance(body, dict):
                args.update(body)
    args.update(request.path_params)
    return args


async def wait_for_writes(request: Request, state: StateDep) -> Freshness:
    """Wait until the lake holds what was written before this read (bounded).

    Raises:
        ValidationError: a malformed ``X-Runstream-Read-After`` header.
    """
    settings = state.settings
    header = request.headers.get(READ_AFTER_HEADER)
    if header is None and not request.url.path.startswith(WAITS_WITHOUT_HEADER):
        # Dashboards and the UI poll the native API and want the newest snapshot at
        # once; under ingest a wait for every partition's end offset made each native
        # search wait for a batch (measured: concurrent searches 77 -> 9 req/s).
        scope = ReadScope()
    else:
        scope = read_scope(
            request.url.path,
            await _request_args(request),
            events_topic=settings.topic_events,
            registry_topic=settings.topic_registry,
        )
    freshness = await state.read_after.wait(header, scope)
    request.scope.setdefault("state", {})[FRESHNESS_KEY] = freshness
    return freshness


FreshnessDep = Annotated[Freshness, Depends(wait_for_writes)]


def own_run(
    request: Request, state: AppState, run_id: str
) -> tuple[Freshness, RunMirror | None] | None:
    """How to read a run this server's gateway started, without waiting for the lake.

    Returns:
        None when the run is not one of them (or the read names its own positions:
        the SDK's writes are not in the mirror); the read then waits as any other.
        Otherwise ``(freshness, mirror)``: the mirror when the lake does not hold
        its last write yet (answer from it: it is what the lake will hold), or None
        with the snapshot that holds it (read that one, no wait).
    """
    if state.run_mirror is None or request.headers.get(READ_AFTER_HEADER):
        return None
    mirror = state.run_mirror(run_id)
    if mirror is None or mirror.position is None:
        return None
    position = mirror.position
    observation = state.read_after.holding({position.tp: position.offset})
    if observation is not None:
        freshness = Freshness("held", observation.snapshot_id)
        found: tuple[Freshness, RunMirror | None] = (freshness, None)
    else:
        found = (Freshness("mirrored"), mirror)
    request.scope.setdefault("state", {})[FRESHNESS_KEY] = found[0]
    return found


def lake_session(
    request: Request, state: StateDep, freshness: FreshnessDep
) -> Iterator[ReadSession]:
    """A read session for this request, after the read-your-writes wait.

    The middleware puts its snapshot and the wait's outcome in headers.
    """
    with state.lake.session(min_snapshot=freshness.snapshot_id) as session:
        remember_session(request, session)
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
SessionDep = Annotated[ReadSession, Depends(lake_session)]

__all__ = [
    "FRESHNESS_KEY",
    "SESSION_KEY",
    "AppState",
    "FreshnessDep",
    "SessionDep",
    "SettingsDep",
    "StateDep",
    "StoreDep",
    "get_settings",
    "get_state",
    "get_store",
    "lake_session",
    "own_run",
    "remember_session",
    "wait_for_writes",
]
