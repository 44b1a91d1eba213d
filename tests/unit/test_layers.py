"""The import rules of CONTRIBUTING.md, checked on every module under src/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "runstream"

# third-party SDK -> the one package allowed to import it
ADAPTER_OF = {"aiokafka": "kafka", "minio": "objectstore", "duckdb": "lake"}
IO_LIBRARIES = {
    "aiokafka",
    "minio",
    "duckdb",
    "httpx",
    "urllib3",
    "fastapi",
    "uvicorn",
    "pyarrow",
    "socket",
    "subprocess",
    "sqlite3",
    "requests",
}
# package -> runstream packages it must never import (``events`` imports no other one)
FORBIDDEN = {
    "events": {
        "core",
        "kafka",
        "objectstore",
        "lake",
        "stack",
        "sdk",
        "materializer",
        "query",
        "cli",
    },
    "core": {"kafka", "objectstore", "lake", "stack", "sdk", "materializer", "query", "cli"},
    "query": {"kafka", "materializer", "sdk", "gateway", "server"},
    # The write gateway never touches the lake; what it must know comes through a protocol.
    "gateway": {"lake", "query", "materializer", "sdk", "server"},
    "sdk": {"lake", "materializer", "query", "gateway", "server"},
    "materializer": {"query", "sdk"},
    "projects": {"lake", "materializer", "query", "kafka", "objectstore"},
    "serving": {"lake", "materializer", "query"},
    # auth decides; the query service and the gateway enforce. It reads rows and
    # publishes events through small protocols.
    "auth": {"kafka", "objectstore", "lake", "stack", "sdk", "materializer", "query", "cli"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


# Rooms of the query service, lowest first: each may import only the rooms below it.
QUERY_ROOMS = ("records", "search", "read", "live", "ui", "http")
# Rooms that hold no HTTP: the readers and the search engine know nothing of a web framework.
HTTP_LIBRARIES = {"fastapi", "starlette", "uvicorn"}
QUERY_ROOMS_WITHOUT_HTTP = {"records", "search", "read", "live"}


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_layers(path: Path) -> None:
    package = path.relative_to(SRC).parts[0] if len(path.relative_to(SRC).parts) > 1 else ""
    for name in _imports(path):
        top = name.split(".")[0]
        if top in ADAPTER_OF:
            home = ADAPTER_OF[top]
            assert package == home, f"{top} may only be imported in runstream.{home}"
        if package in ("events", "core"):
            assert top not in IO_LIBRARIES, f"{package} is pure: it may not import {top}"
        if top == "runstream" and package in FORBIDDEN:
            parts = name.split(".")
            if len(parts) > 1:
                banned = FORBIDDEN[package]
                assert parts[1] not in banned, f"{package} may not import runstream.{parts[1]}"
        if package == "query":
            _check_query_room(path, name, top)


def _room(parts: tuple[str, ...] | list[str]) -> str | None:
    """The query room of ``runstream.query.<room>...`` parts after ``query`` (None: the root)."""
    if not parts:
        return None
    room = parts[0].removesuffix(".py")
    return room if room in QUERY_ROOMS else None


def _check_query_room(path: Path, name: str, top: str) -> None:
    room = _room(path.relative_to(SRC).parts[1:])
    if room is None:
        return  # the package root (create_app's lazy export) may see every room
    if room in QUERY_ROOMS_WITHOUT_HTTP:
        assert top not in HTTP_LIBRARIES, f"query.{room} holds no HTTP: it may not import {top}"
    parts = name.split(".")
    if parts[:2] != ["runstream", "query"]:
        return
    target = _room(parts[2:])
    assert target is not None or len(parts) == 2, (
        f"runstream.{'.'.join(parts[1:])} is in no room of the query service"
    )
    if target is not None and target != room:
        allowed = QUERY_ROOMS[: QUERY_ROOMS.index(room)]
        assert target in allowed, f"query.{room} may not import query.{target} (rooms point down)"


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 10
    for room in QUERY_ROOMS:
        assert (SRC / "query" / room).exists() or (SRC / "query" / f"{room}.py").exists()
