"""Which log partitions a read request reads, from its path and arguments.

Events are keyed by run id (run events), experiment id (experiment events) and
model name (registry events), so a read of one run, experiment or model needs only
that key's partition; a search reads whole topics. Rules, first match wins:

1. Health, readiness, metrics, the UI and OpenAPI read no log: nothing to wait for.
2. Searches, listings without a key, SQL and ``models:/`` resolution read whole
   topics: the registry topic for registry paths, the events topic otherwise (SQL:
   both).
3. Otherwise the request's keys: ``run_id``/``run_uuid``/``run_ids`` (events topic),
   ``experiment_id`` (events topic), ``name`` on registry paths (registry topic).
   A read by experiment *name* has no key and reads the whole events topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runstream.query.read.read_after import ReadScope

_NO_LOG_PREFIXES = ("/healthz", "/readyz", "/metrics", "/ui", "/docs", "/openapi", "/favicon")
_REGISTRY_MARKERS = ("registered-models", "model-versions", "/registry")
_WHOLE_MARKERS = ("search", "/sql", "resolve", "get-latest-versions")
_RUN_KEYS = ("run_id", "run_uuid")


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str | int) and not isinstance(v, bool) and v]


def read_scope(
    path: str, args: Mapping[str, Any], *, events_topic: str, registry_topic: str
) -> ReadScope:
    """The partitions a request at ``path`` with ``args`` reads (see the module rules)."""
    if path == "/" or path.startswith(_NO_LOG_PREFIXES) or path.endswith("/ingest-config"):
        return ReadScope()
    registry = any(m in path for m in _REGISTRY_MARKERS)
    topic = registry_topic if registry else events_topic
    if path.endswith("/sql"):
        return ReadScope(topics=(events_topic, registry_topic))
    if any(m in path for m in _WHOLE_MARKERS):
        return ReadScope(topics=(topic,))
    keys: list[tuple[str, str]] = []
    if registry:
        keys += [(registry_topic, n) for n in _strings(args.get("name"))]
    else:
        for name in (*_RUN_KEYS, "run_ids"):
            keys += [(events_topic, r) for r in _strings(args.get(name))]
        keys += [(events_topic, e) for e in _strings(args.get("experiment_id"))]
    if not keys:
        return ReadScope(topics=(topic,))
    return ReadScope(keys=tuple(dict.fromkeys(keys)))


__all__ = ["read_scope"]
