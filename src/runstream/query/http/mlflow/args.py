"""Request arguments of the MLflow API: query string for GET, JSON body for POST.

MLflow's clients send GET arguments as a query string (lists as repeated keys)
and POST arguments as a JSON object; both arrive here as one :class:`Args`.
Bad or missing values raise :class:`~runstream.errors.ValidationError`, which
the error table turns into MLflow's ``INVALID_PARAMETER_VALUE``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from runstream.errors import ValidationError

MAX_BODY_BYTES = 4 * 1024 * 1024


class Args:
    """Typed access to one request's arguments."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def _raw(self, name: str, aliases: tuple[str, ...] = ()) -> Any:
        for key in (name, *aliases):
            if key in self._data and self._data[key] not in (None, ""):
                return self._data[key]
        return None

    def text(
        self, name: str, *, required: bool = False, aliases: tuple[str, ...] = ()
    ) -> str | None:
        """A string argument."""
        value = self._raw(name, aliases)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value is None:
            if required:
                raise ValidationError(f"Missing value for required parameter '{name}'.")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValidationError(
                f"Invalid value {value!r} for parameter '{name}': expected a string"
            )
        return str(value)

    def required(self, name: str, aliases: tuple[str, ...] = ()) -> str:
        """A string argument that must be there."""
        value = self.text(name, required=True, aliases=aliases)
        assert value is not None
        return value

    def integer(self, name: str, *, default: int | None = None, low: int, high: int) -> int | None:
        """An integer argument within ``[low, high]``."""
        value = self._raw(name)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value is None:
            return default
        try:
            number = int(value) if not isinstance(value, bool | float) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise ValidationError(
                f"Invalid value {value!r} for parameter '{name}': expected an integer"
            )
        if not low <= number <= high:
            raise ValidationError(
                f"Invalid value {number} for parameter '{name}' supplied: it must be between "
                f"{low} and {high}"
            )
        return number

    def strings(self, name: str, *, limit: int = 10_000) -> list[str]:
        """A list of strings (one value or repeated keys in a query string)."""
        value = self._raw(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if len(items) > limit:
            raise ValidationError(
                f"Parameter '{name}' has {len(items)} values; the limit is {limit}"
            )
        out = []
        for item in items:
            if not isinstance(item, str | int) or isinstance(item, bool):
                raise ValidationError(f"Invalid value {item!r} in parameter '{name}'")
            out.append(str(item))
        return out


async def read_args(request: Request) -> Args:
    """Merge the query string and (for POST/PATCH) the JSON body; the body wins."""
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    if request.method in ("POST", "PATCH", "PUT"):
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise ValidationError(f"request body larger than {MAX_BODY_BYTES} bytes")
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise ValidationError(f"request body is not valid JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise ValidationError("request body must be a JSON object")
            data.update(body)
    return Args(data)


__all__ = ["MAX_BODY_BYTES", "Args", "read_args"]
