"""The ``runstream`` command: parse, call, render; errors become one message and exit code."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from runstream.cli.render import render_json, render_table
from runstream.config import Settings, load_settings
from runstream.errors import ConfigError, RunstreamError, ValidationError

Handler = Callable[[argparse.Namespace, Settings], int]


def _human_bytes(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Start the local stack, print its URLs; with --foreground, stop it on Ctrl-C."""
    from runstream.stack import LocalStack

    stack = LocalStack(settings, with_apps=not args.no_apps)
    print(f"starting the local stack in {settings.home.resolve()} ...", flush=True)
    stack.up()
    s = settings
    print("Runstream is up (detached; stop it with `make down` or `runstream down`):")
    print(f"  S3 (SeaweedFS)    {s.s3_url}   buckets: {', '.join(s.buckets)}")
    print(f"  Kafka (Tansu)     {s.bootstrap}   topics: {s.topic_events}, "
          f"{s.topic_registry}, {s.topic_dlq}")
    if not args.no_apps:
        print(f"  Query API         {s.api_url}/api/v1   (OpenAPI: {s.api_url}/docs)")
        print(f"  MLflow REST       {s.api_url}/api/2.0/mlflow/")
        print(f"  Web UI            {s.api_url}/")
        print(f"  Lake catalog      {s.catalog}   data: {s.data_path}")
    print(f"  Logs              {(s.home / 'logs').resolve()}")
    if args.foreground:
        print("running in the foreground: Ctrl-C stops everything", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stopped = stack.down()
            print(f"stopped: {', '.join(stopped) or 'nothing'}")
    return 0


def cmd_down(_args: argparse.Namespace, settings: Settings) -> int:
    """Stop every service of this state folder."""
    from runstream.stack import LocalStack

    stopped = LocalStack(settings, with_apps=True).down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Show each service, its address, state and data size."""
    from runstream.stack import LocalStack

    rows = LocalStack(settings, with_apps=True).status()
    if args.json:
        print(render_json([
            {"service": r.name, "address": r.address, "state": r.state, "pid": r.pid,
             "data_bytes": r.data_bytes, "log": str(r.log_file)} for r in rows
        ]))
    else:
        print(render_table(
            ["service", "address", "state", "pid", "data", "log"],
            [[r.name, r.address, r.state, r.pid or "-", _human_bytes(r.data_bytes),
              str(r.log_file)] for r in rows],
        ))
    core = [r for r in rows if r.name in ("s3", "broker")]
    return 0 if all(r.state == "running" for r in core) else 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="runstream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the local stack (detached unless --foreground)")
    up.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops all")
    up.add_argument("--no-apps", action="store_true", help="only the S3 store and the broker")
    up.set_defaults(handler=cmd_up)
    sub.add_parser("down", help="stop the local stack").set_defaults(handler=cmd_down)
    status = sub.add_parser("status", help="show the local services")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)
    from runstream.cli import apps, auth_commands, project_commands, sync_commands

    apps.add_commands(sub)
    auth_commands.add_commands(sub)
    sync_commands.add_commands(sub)
    project_commands.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, build settings at the edge, run, turn errors into exit codes."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("RUNSTREAM_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Readiness probes expect refused connections while services start.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    try:
        settings = load_settings(os.environ)
        handler: Handler = args.handler
        return handler(args, settings)
    except ConfigError as exc:
        print(f"runstream: configuration error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"runstream: {exc}", file=sys.stderr)
        return 2
    except RunstreamError as exc:
        print(f"runstream: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
