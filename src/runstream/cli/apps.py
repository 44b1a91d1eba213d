"""CLI commands that run the applications: materializer, query service, SQL, search."""

from __future__ import annotations

from typing import Any


def add_commands(sub: Any) -> None:
    """Register the application subcommands on the top-level parser."""
    del sub  # wired as the applications land
