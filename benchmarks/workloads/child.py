"""A client process: one workload against one system, in that system's client interpreter.

Run as ``python -m benchmarks.workloads.child SPEC.json`` where the spec holds ``workload``,
``system``, ``url``, ``params``, ``writer_threads`` and ``out``. The measurements (or the error)
are written as JSON to ``out``; stdout is left to the clients (MLflow's prints run links).
Exit status 0 on success, 1 when the workload failed.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from benchmarks import workloads
from benchmarks.workloads.rest import Reader
from benchmarks.workloads.writers import make_writer


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the workload of ``spec``; its result document."""
    module = workloads.load(spec["workload"])
    writer = make_writer(spec["system"], spec["url"], int(spec.get("writer_threads", 4)))
    reader = Reader(spec["system"], spec["url"])
    start = time.perf_counter()
    writer.open()
    try:
        measurements = module.measure(writer, reader, spec["params"])
    finally:
        reader.close()
        writer.close()
    return {"measurements": [m.to_json() for m in measurements],
            "seconds": time.perf_counter() - start}


def main(argv: list[str]) -> int:
    """Entry point: read the spec, run, write the result file."""
    warnings.simplefilter("ignore")  # library deprecation chatter is not a result
    spec = json.loads(Path(argv[1]).read_text())
    out = Path(spec["out"])
    try:
        result = run(spec)
    except Exception as exc:
        traceback.print_exc()
        out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
