"""The JSON body of one MLflow write request, with MLflow's messages for bad fields.

MLflow's client sends every write as a JSON object (protobuf's JSON mapping:
64-bit integers may arrive as strings, doubles as ``"NaN"``/``"Infinity"``).
Missing or badly typed fields raise :class:`~runstream.errors.ValidationError`,
answered as MLflow's ``INVALID_PARAMETER_VALUE``.
"""

from __future__ import annotations

import math
from typing import Any, Final

import orjson
from starlette.requests import Request

from runstream.errors import ValidationError

MAX_BODY_BYTES: Final = 16 * 1024 * 1024
_FLOATS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "inf": math.inf}


def _missing(name: str) -> ValidationError:
    return ValidationError(f"Missing value for required parameter '{name}'.")


class Body:
    """Typed access to a request's fields (query string and JSON body, body wins).

    Attributes:
        data: the fields.
        actor: who sent the request, as audited changes name them (the
            authenticated caller; None with auth off).
    """

    def __init__(self, data: dict[str, Any], actor: str | None = None) -> None:
        self.data = data
        self.actor = actor

    def has(self, name: str) -> bool:
        """Whether the field is present and not null."""
        return self.data.get(name) is not None

    def text(self, name: str, *, aliases: tuple[str, ...] = ()) -> str | None:
        """An optional string field."""
        for key in (name, *aliases):
            value = self.data.get(key)
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValidationError(
                    f"Invalid value {value!r} for parameter '{name}' supplied: expected a string"
                )
            return str(value)
        return None

    def required(self, name: str, *, aliases: tuple[str, ...] = ()) -> str:
        """A string field that must be there."""
        value = self.text(name, aliases=aliases)
        if value is None:
            raise _missing(name)
        return value

    def raw_text(self, name: str) -> str | None:
        """A string field that may be empty (param and tag values)."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError(f"Invalid value {value!r} for parameter '{name}' supplied")
        return str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An optional 64-bit integer field (a number or a numeric string)."""
        return to_int(self.data.get(name), name, default)

    def items(self, name: str) -> list[dict[str, Any]]:
        """A list of objects (``tags``, ``metrics``, ``params``); empty when absent."""
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValidationError(f"Invalid value for parameter '{name}': expected a list")
        return value


def to_int(value: Any, name: str, default: int | None = None) -> int | None:
    """An integer from JSON (protobuf sends int64 as strings); bools and fractions refused."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValidationError(f"Invalid value {value!r} for parameter '{name}' supplied")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = int(value) if isinstance(value, int | str) else None
    except ValueError:
        number = None
    if number is None or not -(2**63) <= number < 2**63:
        raise ValidationError(f"Invalid value {value!r} for parameter '{name}' supplied")
    return number


def to_float(value: Any, name: str) -> float:
    """A double from JSON: a number, or protobuf's ``"NaN"``/``"Infinity"``/``"-Infinity"``."""
    if isinstance(value, str) and value in _FLOATS:
        return _FLOATS[value]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"Invalid value {value!r} for parameter '{name}' supplied")
    try:
        return float(value)
    except ValueError as exc:
        raise ValidationError(f"Invalid value {value!r} for parameter '{name}' supplied") from exc


async def read_body(request: Request, actor: str | None = None) -> Body:
    """The request's fields: the query string, overlaid by the JSON body, then the path's.

    Path parameters (``logged-models/{model_id}``) win: the resource the URL names
    is the one written.

    Raises:
        ValidationError: the body is not a JSON object or is too large.
    """
    data: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError(f"request body larger than {MAX_BODY_BYTES} bytes")
    if raw.strip():
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"Malformed request: the body is not JSON ({exc})") from exc
        if not isinstance(parsed, dict):
            raise ValidationError("Malformed request: the body must be a JSON object")
        data.update(parsed)
    data.update(request.path_params)
    return Body(data, actor)


__all__ = ["MAX_BODY_BYTES", "Body", "read_body", "to_float", "to_int"]
