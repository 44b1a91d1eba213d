"""The client is composed of small parts behind MLflow's names; nothing is rebound at run time."""

from __future__ import annotations

import inspect

from test_sdk_unit_support import MemorySink, memory_client

from runstream.sdk.client import RunstreamClient
from runstream.sdk.forward import Forward
from runstream.sdk.registry import ModelRegistryClient
from runstream.sdk.run_client import RunClient


def test_the_client_inherits_from_nothing_but_object() -> None:
    assert RunstreamClient.__mro__ == (RunstreamClient, object)
    for part in (RunClient, ModelRegistryClient):
        assert part.__mro__ == (part, object)


def test_forwarded_names_keep_the_parts_signature_and_docstring() -> None:
    route = RunstreamClient.__dict__["create_model_version"]
    assert isinstance(route, Forward)
    assert route.part == "registry"
    assert route.__doc__ == ModelRegistryClient.create_model_version.__doc__
    client = memory_client(MemorySink())
    try:
        bound = client.create_model_version
        assert bound.__self__ is client.registry  # type: ignore[attr-defined]
        assert "await_creation_for" in inspect.signature(bound).parameters
    finally:
        client.close(1.0)


def test_logging_metrics_rebinds_no_method() -> None:
    sink = MemorySink()
    client = memory_client(sink)
    try:
        experiment_id = client.create_experiment("composition")
        run = client.create_run(experiment_id)
        before = {name: type(v) for name, v in vars(client).items()}
        for step in range(3):
            client.log_metric(run.info.run_id, "loss", 0.5, step=step)
        client.flush(5.0)
        assert {name: type(v) for name, v in vars(client).items()} == before
        assert not any(callable(v) for v in vars(client.metrics).values())
        assert "add_metric" not in vars(client.session.transport)
    finally:
        client.close(1.0)
    points = [e for e in sink.events() if e.type.value == "run.metrics"]
    assert sum(len(e.body.keys) for e in points) == 3
