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
# package -> runstream packages it must never import
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
            # core.limits is a leaf of pure constants: the decoder enforces the same
            # limits as the SDK, so events may read them (and nothing else of core).
            if name == "runstream.core.limits" and package == "events":
                continue
            if len(parts) > 1:
                banned = FORBIDDEN[package]
                assert parts[1] not in banned, f"{package} may not import runstream.{parts[1]}"


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 10
