"""Wire formats of a columnar history: Arrow IPC stream, or compact columnar JSON.

JSON has the shape of :class:`~runstream.query.http.schemas.metrics.HistoriesResponse`
(one object per series, parallel arrays of steps, timestamps and values; NaN and
+-Inf as the strings events carry), written from the Arrow columns without a
Python object per point unless a series holds non-finite values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from runstream.query.http.schemas.common import metric_json
from runstream.query.read.columnar import ColumnarHistory, SeriesInfo

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _info(s: SeriesInfo) -> dict[str, Any]:
    return {"run_id": s.run_id, "key": s.key, "total_points": s.total_points,
            "downsampled": s.downsampled}


def arrow_stream_bytes(history: ColumnarHistory, snapshot_id: int) -> bytes:
    """The history as one Arrow IPC stream; series and snapshot in the schema metadata."""
    table = history.table.replace_schema_metadata({
        "runstream.snapshot_id": str(snapshot_id),
        "runstream.series": orjson.dumps([_info(s) for s in history.series]).decode(),
    })
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _values(values: np.ndarray[Any, Any]) -> Any:
    if bool(np.isfinite(values).all()):
        return values
    return [metric_json(v) for v in values.tolist()]


def columnar_json_bytes(history: ColumnarHistory, snapshot_id: int) -> bytes:
    """The history as JSON (the shape of ``HistoriesResponse``), already serialized."""
    table = history.table
    steps = table.column("step").to_numpy()
    stamps = table.column("timestamp").to_numpy()
    values = table.column("value").to_numpy()
    series = []
    for s in history.series:
        end = s.start + s.length
        series.append({
            **_info(s),
            "steps": steps[s.start:end],
            "timestamps": stamps[s.start:end],
            "values": _values(values[s.start:end]),
        })
    return orjson.dumps(
        {"series": series, "snapshot_id": snapshot_id}, option=orjson.OPT_SERIALIZE_NUMPY
    )


__all__ = ["ARROW_STREAM", "arrow_stream_bytes", "columnar_json_bytes"]
