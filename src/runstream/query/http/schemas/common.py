"""JSON written by hand (MLflow's format, errors, health): orjson, floats pre-encoded."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from runstream.events.floats import float_to_wire


def metric_json(value: float | None) -> float | str | None:
    """Encode a double for JSON the way events carry it (non-finite values as strings)."""
    if value is None:
        return None
    return float_to_wire(value)


class JsonResponse(Response):
    """A JSON response serialised with orjson (fast; non-finite floats must be pre-encoded)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content``; NaN/Inf that slipped through become null, never a 500."""
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(content: Any, status_code: int = 200) -> JsonResponse:
    """Wrap ready-built JSON data in a response."""
    return JsonResponse(content, status_code=status_code)


__all__ = ["JsonResponse", "json_response", "metric_json"]
