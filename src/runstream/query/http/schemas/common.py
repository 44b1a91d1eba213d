"""Pieces shared by the response models: metric values and the JSON response class."""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi.responses import Response

from runstream.core.metrics import encode_metric_value

MetricValue = float | str
"""A metric value in JSON: a number, or "NaN", "Infinity", "-Infinity" (JSON has none)."""


def metric_json(value: float | None) -> MetricValue | None:
    """Encode a double for JSON the way events carry it (non-finite values as strings)."""
    if value is None:
        return None
    return value if math.isfinite(value) else encode_metric_value(value)


class JsonResponse(Response):
    """A JSON response serialised with orjson (fast; non-finite floats must be pre-encoded)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content``; NaN/Inf that slipped through become null, never a 500."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(content: Any, status_code: int = 200) -> JsonResponse:
    """Wrap ready-built JSON data in a response."""
    return JsonResponse(content, status_code=status_code)


__all__ = ["JsonResponse", "MetricValue", "json_response", "metric_json"]
