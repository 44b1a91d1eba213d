"""The wire spelling of non-finite floats: ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

JSON has no literal for NaN or ±Inf (orjson would write ``null``), so every JSON
that Runstream writes, events and API responses alike, spells them as these three
strings, and every reader turns exactly these three back into floats. This module
is the one place that knows the spelling; the event codec, the metrics body, the
API responses, the CLI and the SDK all call it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "NON_FINITE_SPELLINGS",
    "float_from_wire",
    "float_to_wire",
    "floats_from_wire",
    "floats_to_wire",
]

NON_FINITE_SPELLINGS: Final[dict[str, float]] = {
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
}


def float_to_wire(value: float) -> float | str:
    """A finite value as is; NaN and ±Inf as their wire strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def float_from_wire(raw: float | int | str) -> float:
    """A wire value (a number, or one of the three spellings) as a float.

    Raises:
        ValueError: a string other than the three spellings.
    """
    if isinstance(raw, str):
        try:
            return NON_FINITE_SPELLINGS[raw]
        except KeyError:
            raise ValueError(f"metric value {raw!r} is not a number") from None
    return float(raw)


def floats_to_wire(values: Sequence[float]) -> list[float] | list[float | str]:
    """A column of floats ready for JSON.

    A finite sum proves every value finite (NaN and ±Inf all make the sum
    non-finite), and ``sum`` runs in C, so the common all-finite column costs one
    pass without a Python-level loop. An overflowing sum only takes the slow path.
    """
    if math.isfinite(sum(values)):
        return list(values)
    return [float_to_wire(v) for v in values]


def floats_from_wire(values: Any) -> Any:
    """A JSON column with the three spellings turned into floats; anything else unchanged.

    Other strings stay strings, so the caller's validation reports them.
    """
    # ``set(map(type, ...))`` runs in C; the rewrite runs only if a string is there.
    if isinstance(values, list | tuple) and str in set(map(type, values)):
        get = NON_FINITE_SPELLINGS.get
        return [get(v, v) if type(v) is str else v for v in values]
    return values
