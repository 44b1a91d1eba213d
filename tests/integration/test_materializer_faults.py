"""The object store goes away for 10 s while the materializer runs: it waits and goes on.

This test stops SeaweedFS, which the broker (Tansu) also stores its log in, so it
runs on a private stack rather than the session's shared one.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from materializer_support import LakeProbe, materializer, messages, produce, wait_for
from test_materializer_crash import POINTS_PER_EVENT, _workload

from runstream.config import Ports, Settings, load_settings
from runstream.kafka.admin import ensure_topics
from runstream.stack import LocalStack, free_ports


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("faults-home")
    names = [f.name for f in dataclasses.fields(Ports)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNSTREAM_")}
    ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
    stack = LocalStack(load_settings(env, home=home, ports=ports, partitions=4))
    stack.up()
    try:
        yield stack
    finally:
        stack.down()


def test_an_object_store_outage_delays_but_loses_nothing(
    private_stack: LocalStack, tmp_path: Path
) -> None:
    base = private_stack.settings
    tag = uuid.uuid4().hex[:8]
    settings: Settings = dataclasses.replace(
        base, topic_prefix=f"f{tag}", lake_catalog=str(tmp_path / "catalog.sqlite"),
        lake_data_path=f"s3://{base.lake_bucket}/f{tag}/", home=tmp_path / "home",
    )
    ensure_topics(settings)
    events = _workload(10, 300)
    items = messages(settings, events)
    produce(settings, items)
    lake = LakeProbe(settings)
    try:
        with materializer(settings, max_events=15, retry_max_s=2.0):
            wait_for("a first batch", lambda: lake.count("events"), lambda n: n > 0)
            private_stack.s3().kill()
            time.sleep(10)
            private_stack.start_s3()
            wait_for(
                "every message",
                lambda: lake.scalar("SELECT sum(next_offset) FROM consumer_offsets"),
                lambda n: n == len(items),
                timeout_s=120,
            )
        assert lake.count("events") == len(events)
        assert lake.count("metrics") == 300 * POINTS_PER_EVENT
        assert lake.scalar("SELECT sum(count) FROM latest_metrics") == 300 * POINTS_PER_EVENT
    finally:
        lake.close()
