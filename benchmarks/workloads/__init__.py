"""The benchmark workloads, one module each, in the order they run.

Every workload module has the same shape, so the harness needs nothing else to know:

- ``TITLE``: the heading of its table;
- ``QUICK`` and ``FULL``: its parameters at the smoke-test size and at the issue's size;
- ``describe(params) -> str``: one line saying what that size does;
- optionally ``FULL_REPEAT``: repeats at full size when ``--repeat`` is not given (default 3);
- ``measure(writer, reader, params) -> list[Measurement]``: the whole workload against one
  system, run in that system's client process (:mod:`benchmarks.workloads.child`): writes
  through the :class:`~benchmarks.workloads.writers.Writer` (Runstream's SDK, or MLflow's
  client for MLflow and FastTrackML), reads through the same
  :class:`~benchmarks.workloads.rest.Reader` for every system.

This package imports only the standard library at module level: it is loaded by the peers'
interpreters, where Runstream is not installed.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("ingest", "freshness", "runs_at_scale", "long_history", "read_load")


def load(name: str) -> ModuleType:
    """The workload module called ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise ValueError(f"unknown workload {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"benchmarks.workloads.{name}")


__all__ = ["NAMES", "load"]
