"""``python -m runstream.materializer``: one materializer, settings from the environment.

Stops cleanly (after the current batch) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from runstream.config import load_settings
from runstream.materializer.loop import run_materializer


def main() -> None:
    """Build the settings at this process's edge and run until a signal arrives."""
    logging.basicConfig(
        level=os.environ.get("RUNSTREAM_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    settings = load_settings(os.environ)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_materializer(settings, stop)


if __name__ == "__main__":
    main()
