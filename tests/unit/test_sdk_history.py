"""``runstream.history``: Arrow IPC from the columnar endpoint, in the frame asked for."""

from __future__ import annotations

import math

import httpx
import pyarrow as pa
import pytest

import runstream
from runstream.errors import ValidationError
from runstream.sdk.history import ARROW_STREAM, COLUMNS_PATH, read_history


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def test_histories_are_asked_for_as_arrow_and_read_back_as_a_table() -> None:
    seen: list[httpx.Request] = []
    table = pa.table({"run_id": ["r"] * 3, "key": ["loss"] * 3, "step": [0, 1, 2],
                      "timestamp": [5, 6, 7], "value": [1.0, float("nan"), 0.5]})

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_stream(table), headers={"content-type": ARROW_STREAM})

    got = read_history("http://svc", "r", ["loss"], max_points=100,
                       transport=httpx.MockTransport(answer))
    assert got.schema == table.schema and got.num_rows == 3
    assert got.column("step").to_pylist() == [0, 1, 2]
    assert math.isnan(got.column("value")[1].as_py())
    (request,) = seen
    assert request.url.path == COLUMNS_PATH and request.headers["accept"] == ARROW_STREAM
    assert request.read() == b'{"run_ids":["r"],"keys":["loss"],"max_points":100}'


def test_a_refused_request_says_why() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "too many points"}})

    with pytest.raises(ValidationError, match="too many points"):
        read_history("http://svc", "r", "loss", transport=httpx.MockTransport(refuse))


def test_an_unknown_output_is_refused_before_any_request() -> None:
    with pytest.raises(ValidationError, match="pyarrow, pandas or polars"):
        runstream.history("r", "loss", output="excel", tracking_uri="http://nowhere")  # type: ignore[arg-type]
