"""One declaration per response, serialized one way: pydantic-core over the records.

Each response is a plain dataclass in this package whose fields are the domain
records themselves (``RunRow``, ``LatestMetric``, ...) or subclasses of them that
add what a response carries around a row (tags, aliases, ``snapshot_id``). The
same class is the route's ``response_model`` (so OpenAPI is generated from it)
and the input of its :class:`Wire` serializer, which writes JSON with
pydantic-core straight from the record objects: no validation pass and no
Python dict per record (measured, 1,000 runs with 20 params, 20 tags and 10
metrics each, 1.8 MB: 12 ms instead of 20 ms median for dicts built in Python
and dumped with orjson, byte-for-byte the same body;
``benchmarks/response_serialization.py``).

Rules of the wire, kept here once:

1. Floats are written as events carry them: NaN and +-Inf as the strings of
   :data:`runstream.events.floats.NON_FINITE_SPELLINGS` (pydantic-core's
   ``ser_json_inf_nan="strings"`` spells them the same; a unit test checks it), and
   OpenAPI documents every float as :data:`METRIC_VALUE_SCHEMA`.
2. A record's field appears under its own name unless the response class renames
   it (:func:`wire_shape` ``names``) or hides it (``hidden``); renamed fields are
   read back under the same wire name, hidden ones as None.
3. Every field is always sent, defaults or not, so OpenAPI lists each as required.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Annotated, Any, ClassVar, Generic, TypeVar, cast

from pydantic import GetCoreSchemaHandler, GetPydanticSchema, TypeAdapter, WithJsonSchema
from pydantic_core import CoreConfig, CoreSchema, core_schema
from starlette.responses import Response

from runstream.events.floats import NON_FINITE_SPELLINGS

T = TypeVar("T")

METRIC_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "enum": list(NON_FINITE_SPELLINGS)}]
}
"""OpenAPI of a float on the wire: a number, or "NaN", "Infinity", "-Infinity"."""

MetricFloat = Annotated[float, WithJsonSchema(METRIC_VALUE_SCHEMA)]
"""A float field of a response (a metric value): NaN and +-Inf travel as strings."""

def columns(record: Any) -> dict[str, Any]:
    """The fields of a dataclass record by name (to extend it in a response class)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _wire_float(schema: CoreSchema, metric: CoreSchema) -> CoreSchema:
    """``metric`` in place of a float (or an optional float) schema; others unchanged."""
    if schema["type"] == "float":
        return metric
    if schema["type"] == "nullable" and schema["schema"]["type"] == "float":
        return {**schema, "schema": metric}
    return schema


def reshape(
    source: Any,
    handler: GetCoreSchemaHandler,
    names: Mapping[str, str] = {},
    hidden: Collection[str] = (),
) -> CoreSchema:
    """The core schema of the dataclass ``source`` as the wire shows it.

    Args:
        source: a dataclass (a record, or a response class built on records).
        handler: pydantic's schema handler.
        names: record field name -> wire name.
        hidden: record fields the wire never shows.

    Returns:
        Pydantic's dataclass schema (built afresh for each serializer, so changed
        in place) with the fields renamed and hidden and every float a
        :data:`MetricFloat`.
    """
    schema = handler(source)
    found = handler.resolve_ref_schema(schema)
    if found["type"] != "dataclass":
        raise TypeError(f"{source!r} is not a dataclass")
    resolved = cast(core_schema.DataclassSchema, found)
    metric = handler.generate_schema(MetricFloat)
    for field in resolved["schema"]["fields"]:
        name = field["name"]
        inner = field["schema"]
        if inner["type"] == "default":  # always sent, so OpenAPI says required
            inner = inner["schema"]
        field["schema"] = _wire_float(inner, metric)
        if name in names:
            field["serialization_alias"] = field["validation_alias"] = names[name]
        if name in hidden:  # not sent, so read back as None
            field["serialization_exclude"] = True
            field["schema"] = core_schema.with_default_schema(
                core_schema.nullable_schema(inner), default=None
            )
    config = CoreConfig(**resolved.get("config", CoreConfig()))
    config["ser_json_inf_nan"] = "strings"
    resolved["config"] = config
    return schema


def wire_shape(names: Mapping[str, str] = {}, hidden: Collection[str] = ()) -> Any:
    """An ``Annotated`` marker that shows a record (a class we do not own) with :func:`reshape`."""
    return GetPydanticSchema(lambda source, handler: reshape(source, handler, names, hidden))


class WireShape:
    """Base of the response dataclasses built on a row: names and hidden fields as class data.

    A subclass sets ``wire_names`` / ``wire_hidden``; pydantic asks the class for
    its schema, which is the dataclass's own passed through :func:`reshape`.
    """

    __slots__ = ()
    wire_names: ClassVar[Mapping[str, str]] = {}
    wire_hidden: ClassVar[Collection[str]] = ()

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Pydantic's hook: the dataclass schema, reshaped for the wire."""
        return reshape(source, handler, cls.wire_names, cls.wire_hidden)


class Wire(Generic[T]):
    """The one serializer of one response class: JSON bytes, a response, a parse.

    Building it compiles the pydantic-core serializer once (at import of the
    schema module); every call after that runs in Rust over the records.
    """

    def __init__(self, shape: type[T]) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(shape)

    def json(self, value: T) -> bytes:
        """The response body of ``value``."""
        return self._adapter.dump_json(value, by_alias=True)

    def response(self, value: T, status_code: int = 200) -> Response:
        """``value`` as an ``application/json`` response."""
        return Response(self.json(value), status_code=status_code, media_type="application/json")

    def parse(self, data: Any) -> T:
        """Read a response body (already decoded JSON) back into the response class."""
        return self._adapter.validate_python(data)


__all__ = [
    "METRIC_VALUE_SCHEMA",
    "MetricFloat",
    "Wire",
    "WireShape",
    "columns",
    "reshape",
    "wire_shape",
]
