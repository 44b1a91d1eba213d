"""A materializer in a child process, configured by the test through the environment."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading

from materializer_support import options, settings_from_json

from runstream.materializer.loop import run_materializer


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_from_json(os.environ["RUNSTREAM_TEST_SETTINGS"])
    overrides = json.loads(os.environ.get("RUNSTREAM_TEST_OPTIONS", "{}"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_materializer(settings, stop, options(settings, **overrides))


if __name__ == "__main__":
    main()
