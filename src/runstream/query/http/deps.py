"""Typed FastAPI dependencies: the app's state, settings, object store and a lake session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from runstream.config import Settings
from runstream.objectstore.client import ObjectStore
from runstream.query.http.prometheus import RequestMetrics
from runstream.query.live.port import LogTail
from runstream.query.read.port import ReadSession
from runstream.query.read.session import LakeAccess

if TYPE_CHECKING:
    from runstream.query.http.access import AuthEdge

SESSION_KEY = "runstream_session"


@dataclass
class AppState:
    """What one app instance holds; built by the app factory, stored on ``app.state``.

    Attributes:
        settings: the process's settings.
        lake: lazily opened lake reader.
        store: the artifacts object store (opens connections on first use).
        metrics: request counters for ``/metrics``.
        auth: authentication at the edge, when ``RUNSTREAM_AUTH`` is on.
        live: the log reader of the live tail (None: the endpoint answers 503).
    """

    settings: Settings
    lake: LakeAccess
    store: ObjectStore
    metrics: RequestMetrics
    auth: AuthEdge | None = None
    live: LogTail | None = None


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


def lake_session(request: Request, state: StateDep) -> Iterator[ReadSession]:
    """A read session for this request; the middleware puts its snapshot in a header."""
    with state.lake.session() as session:
        remember_session(request, session)
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
SessionDep = Annotated[ReadSession, Depends(lake_session)]

__all__ = [
    "SESSION_KEY",
    "AppState",
    "SessionDep",
    "SettingsDep",
    "StateDep",
    "StoreDep",
    "get_settings",
    "get_state",
    "get_store",
    "lake_session",
    "remember_session",
]
