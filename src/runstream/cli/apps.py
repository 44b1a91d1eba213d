"""CLI commands that run the applications: materializer, rebuild, query service, SQL, search."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from runstream.config import Settings


def cmd_materialize(_args: argparse.Namespace, settings: Settings) -> int:
    """Run one materializer until SIGTERM or Ctrl-C (it finishes the current batch)."""
    from runstream.materializer.loop import run_materializer

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_materializer(settings, stop)
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the lake's raw events into fresh tables and compare them with the live ones."""
    from runstream.materializer.rebuild import format_report, rebuild

    workdir = Path(args.workdir) if args.workdir else None
    report = rebuild(settings, workdir=workdir, keep=args.keep)
    print(format_report(report))
    return 0 if report.ok else 4


def add_commands(sub: Any) -> None:
    """Register the application subcommands on the top-level parser."""
    materialize = sub.add_parser("materialize", help="project the event topics into the lake")
    materialize.set_defaults(handler=cmd_materialize)
    rebuild = sub.add_parser(
        "rebuild", help="replay the raw events archive into fresh tables and compare"
    )
    rebuild.add_argument("--workdir", help="build the new lake here (default: a temp folder)")
    rebuild.add_argument("--keep", action="store_true", help="keep the rebuilt lake")
    rebuild.set_defaults(handler=cmd_rebuild)

    from runstream.cli.query_commands import add_commands as add_query_commands

    add_query_commands(sub)

    from runstream.cli.models import add_commands as add_model_commands

    add_model_commands(sub)
