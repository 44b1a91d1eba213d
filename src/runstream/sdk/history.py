"""Metric histories from the query service's columnar endpoint, as Arrow, pandas or polars.

One call reads many runs and keys, in full or downsampled, as one Arrow IPC stream
(``POST /api/v1/metrics/columns`` with ``Accept: application/vnd.apache.arrow.stream``):
no JSON and no Python object per point on the way (a 1,000,000-point history is
about 25 MB of columns).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Literal

import httpx
import pyarrow as pa  # type: ignore[import-untyped]

from runstream.errors import ServiceError, ValidationError
from runstream.sdk.entities import Metric

ARROW_STREAM = "application/vnd.apache.arrow.stream"
COLUMNS_PATH = "/api/v1/metrics/columns"
Output = Literal["pyarrow", "pandas", "polars"]


def _names(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def read_history(
    tracking_uri: str,
    run_ids: str | Sequence[str],
    keys: str | Sequence[str],
    *,
    max_points: int | None = None,
    token: str = "",
    timeout_s: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> Any:
    """Read histories as a ``pyarrow.Table`` (``run_id, key, step, timestamp, value``).

    Args:
        tracking_uri: the query service's URL.
        run_ids: one run id or several.
        keys: one metric key or several (every run x key pair is one series).
        max_points: downsample each series to at most this many points (None: all).
        token: bearer token for an API that requires one.
        timeout_s: the request's timeout.
        transport: an ``httpx`` transport instead of the network (tests).

    Raises:
        ValidationError: the service refused the request (the message says why).
        ServiceError: the service could not be reached or failed.
    """
    body: dict[str, Any] = {"run_ids": _names(run_ids), "keys": _names(keys)}
    if max_points is not None:
        body["max_points"] = max_points
    headers = {"Accept": ARROW_STREAM}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = tracking_uri.rstrip("/")
    try:
        with httpx.Client(base_url=url, timeout=timeout_s, transport=transport) as http:
            response = http.post(COLUMNS_PATH, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot read histories from {url}: {exc}") from exc
    if response.status_code == 400:
        raise ValidationError(f"histories refused by {url}: {response.text[:500]}")
    if response.status_code >= 300:
        raise ServiceError(f"histories from {url}: HTTP {response.status_code}")
    return pa.ipc.open_stream(response.content).read_all()


def history(
    run_ids: str | Sequence[str],
    keys: str | Sequence[str],
    *,
    max_points: int | None = None,
    output: Output = "pyarrow",
    tracking_uri: str | None = None,
    token: str = "",
) -> Any:
    """Histories of runs x keys as a ``pyarrow.Table``, a pandas or a polars DataFrame.

    ``runstream.history(run_id, "loss")`` reads every point; ``max_points`` thins
    each series in the service (first, last and extremes kept). pandas and polars are
    optional: asking for one that is not installed says so.
    """
    if output not in ("pyarrow", "pandas", "polars"):
        raise ValidationError(f"output must be pyarrow, pandas or polars, not {output!r}")
    if tracking_uri is None:
        from runstream.sdk.fluent import get_tracking_uri

        tracking_uri = get_tracking_uri()
    table = read_history(tracking_uri, run_ids, keys, max_points=max_points, token=token)
    if output == "pyarrow":
        return table
    try:
        module = importlib.import_module(output)
    except ImportError as exc:
        raise ValidationError(f"output={output!r} needs {output} installed") from exc
    if output == "pandas":
        return table.to_pandas()
    return module.from_arrow(table)


def metric_history(
    tracking_uri: str, run_id: str, key: str, *, token: str = "",
    transport: httpx.BaseTransport | None = None,
) -> list[Metric]:
    """Every point of one metric as MLflow's ``Metric`` entities, in step order.

    Like MLflow's ``get_metric_history``, a key the run never logged gives ``[]``.
    """
    table = read_history(tracking_uri, run_id, key, token=token, transport=transport)
    return [
        Metric(key, value, timestamp, step)
        for step, timestamp, value in zip(
            table.column("step").to_pylist(),
            table.column("timestamp").to_pylist(),
            table.column("value").to_pylist(),
            strict=True,
        )
    ]


__all__ = ["history", "metric_history", "read_history"]
