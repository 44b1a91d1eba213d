"""The JSON Schema files of the v1 contract (``schemas/v1/``), loaded and applied.

These files are the contract as other languages and tools see it; the SDK's tests
and the materializer validate with the very same files. :func:`validate_with_schema`
classifies failures with the reasons of :func:`runstream.events.decode`, so the
two can be compared; ``decode`` is the fast path, this one the independent check
(it is far slower on large metric batches).

The folder is ``schemas/v1`` at the root of the source tree, or the folder named by
``RUNSTREAM_SCHEMAS_DIR`` (either the ``v1`` folder itself or its parent). The
variable is read at each call, so tests can point it elsewhere.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from runstream.errors import ConfigError, EventDecodeError
from runstream.events.event_types import EventType

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = ["SCHEMAS_DIR_ENV", "load_schema", "schemas_dir", "validate_with_schema"]

SCHEMAS_DIR_ENV: Final = "RUNSTREAM_SCHEMAS_DIR"
_ENVELOPE: Final = "envelope"
# Keywords whose failure is a size or count limit rather than a shape problem.
_LIMIT_KEYWORDS: Final = frozenset({"maxLength", "maxItems", "maxProperties"})


def schemas_dir() -> Path:
    """Returns the folder holding ``envelope.json`` and the per-type files.

    Raises:
        ConfigError: the folder has no ``envelope.json``; the message names
            ``RUNSTREAM_SCHEMAS_DIR``.
    """
    configured = os.environ.get(SCHEMAS_DIR_ENV)
    base = Path(configured) if configured else Path(__file__).parents[3] / "schemas" / "v1"
    for candidate in (base, base / "v1"):
        if (candidate / "envelope.json").is_file():
            return candidate
    raise ConfigError(
        f"no v1 JSON Schema files in {base}: set {SCHEMAS_DIR_ENV} to the folder "
        "holding envelope.json (schemas/v1 in the Runstream source tree)"
    )


def load_schema(name: EventType | str) -> dict[str, Any]:
    """Returns one schema file as a dict (a copy; change it freely).

    Args:
        name: an event type (``"run.metrics"``) or ``"envelope"``.

    Raises:
        ConfigError: the folder or the file is missing or not JSON.
    """
    if name != _ENVELOPE:
        name = EventType(name).value
    return copy.deepcopy(_load_all(str(schemas_dir()))[str(name)])


@lru_cache(maxsize=4)
def _load_all(folder: str) -> dict[str, dict[str, Any]]:
    """Reads every schema file of ``folder``, keyed by ``envelope`` or event type."""
    schemas: dict[str, dict[str, Any]] = {}
    for name in (_ENVELOPE, *(t.value for t in EventType)):
        path = Path(folder) / f"{name}.json"
        try:
            schemas[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read JSON Schema file {path}: {exc}") from exc
    return schemas


@lru_cache(maxsize=4)
def _validators(folder: str) -> dict[str, Validator]:
    """Builds one draft 2020-12 validator per file, resolving ``$ref`` between files."""
    # Imported here: jsonschema costs ~70 ms to import, and most processes never need it.
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = _load_all(folder)
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {
        name: Draft202012Validator(schema, registry=registry) for name, schema in schemas.items()
    }


def validate_with_schema(obj: object) -> None:
    """Validates a decoded JSON value (e.g. ``orjson.loads(message)``) with the schema files.

    Checks in the order :func:`runstream.events.decode` does and raises the same
    reasons: ``not_object``, ``schema_version``, ``unknown_type``, then ``limit``
    (a ``maxLength``, ``maxItems`` or ``maxProperties`` failure) or ``schema``.
    Two rules are beyond JSON Schema and only ``decode`` checks them: the message
    size in bytes and the equal lengths of the ``run.metrics`` columns.

    Raises:
        EventDecodeError: ``obj`` is not a valid v1 event.
        ConfigError: the schema files cannot be found or read.
    """
    validators = _validators(str(schemas_dir()))
    if not isinstance(obj, dict):
        raise EventDecodeError("event must be a JSON object", reason="not_object")
    envelope = validators[_ENVELOPE]
    version_schema = envelope.schema["properties"]["schema_version"]
    if "schema_version" not in obj or not envelope.evolve(schema=version_schema).is_valid(
        obj["schema_version"]
    ):
        raise EventDecodeError(
            "schema_version is missing or not 1", reason="schema_version", path="schema_version"
        )
    if "type" not in obj:
        raise EventDecodeError("event has no type", reason="schema", path="type")
    event_type = obj["type"]
    if not isinstance(event_type, str) or event_type not in validators or event_type == _ENVELOPE:
        raise EventDecodeError(
            f"unknown event type {str(event_type)[:80]!r}", reason="unknown_type", path="type"
        )
    _raise_first(validators[event_type].iter_errors(obj), event_type)


def _raise_first(errors: Iterable[Any], event_type: str) -> None:
    """Raises EventDecodeError for the most relevant of ``errors``, if there are any."""
    from jsonschema.exceptions import best_match

    best = best_match(errors)
    if best is None:
        return
    parts = list(best.absolute_path)
    if best.validator == "required" and isinstance(best.instance, dict):
        # jsonschema reports a missing property at its parent; point at the property.
        parts += [p for p in best.validator_value if p not in best.instance][:1]
    path = _format_path(parts)
    reason = "limit" if best.validator in _LIMIT_KEYWORDS else "schema"
    where = f" at {path}" if path else ""
    raise EventDecodeError(
        f"invalid {event_type} event{where}: {best.message[:300]}", reason=reason, path=path
    )


def _format_path(parts: Iterable[str | int]) -> str:
    """Formats a jsonschema error path as ``body.params[3].key``."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}" if path else part
        else:
            path += f"[{part!r}]"
    return path
