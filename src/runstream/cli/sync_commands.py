"""``runstream sync [PATH]`` and ``runstream sync --status``: the offline spool."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from runstream.cli.render import render_json, render_table
from runstream.config import Settings


def cmd_sync(args: argparse.Namespace, _settings: Settings) -> int:
    """Publish a spool exactly once (or, with --status, list what is pending)."""
    from runstream.sdk.offline import offline_mode
    from runstream.sdk.sync import spool_status

    root = Path(args.path) if args.path else offline_mode(os.environ).root
    if args.status:
        return _print_status(root, args.json)
    from runstream.kafka.producer import KafkaEventProducer
    from runstream.sdk.artifacts import store_factory
    from runstream.sdk.endpoints import resolve_endpoints
    from runstream.sdk.sync import sync_spool

    ep = resolve_endpoints(os.environ)
    store = store_factory(ep.s3_endpoint, ep.s3_access_key, ep.s3_secret_key, ep.s3_region)()
    stop_after = int(args.stop_after) if args.stop_after else None
    uploaded, sent = sync_spool(
        root,
        store,
        lambda: KafkaEventProducer(ep.bootstrap),
        lambda registry: ep.topic_registry if registry else ep.topic_events,
        stop_after,
    )
    print(f"synced {root}: {uploaded} artifact files uploaded, {sent} events published")
    for key in spool_status(root).keys:
        if key.torn_bytes:
            print(
                f"  {key.folder}: the last {key.torn_bytes} bytes are a torn record (a crash "
                f"mid-write) and were not published; its {key.complete} complete events were"
            )
    return 0


def _print_status(root: Path, as_json: bool) -> int:
    from runstream.sdk.sync import spool_status

    status = spool_status(root)
    if as_json:
        print(
            render_json(
                {
                    "spool": str(root),
                    "artifacts_pending": status.artifacts_pending,
                    "keys": [
                        {
                            "key": k.folder.name,
                            "complete": k.complete,
                            "synced": k.synced,
                            "pending": k.pending,
                            "torn_bytes": k.torn_bytes,
                        }
                        for k in status.keys
                    ],
                }
            )
        )
        return 0
    print(f"spool {root}: {status.artifacts_pending} artifact files waiting for upload")
    rows = [[k.folder.name, k.complete, k.synced, k.pending, k.torn_bytes] for k in status.keys]
    print(render_table(["key", "events", "synced", "pending", "torn bytes"], rows))
    return 0


def add_commands(sub: Any) -> None:
    """Register ``sync`` on the top-level parser."""
    sync = sub.add_parser("sync", help="publish the offline spool (events and artifacts)")
    sync.add_argument("path", nargs="?", help="the spool folder (default: .runstream/spool)")
    sync.add_argument("--status", action="store_true", help="list what is pending; send nothing")
    sync.add_argument("--json", action="store_true", help="--status as JSON")
    sync.add_argument("--stop-after", help=argparse.SUPPRESS)  # chunks; interrupted-sync tests
    sync.set_defaults(handler=cmd_sync)


__all__ = ["add_commands", "cmd_sync"]
