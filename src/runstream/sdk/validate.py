"""Caller-side checks of logged values, raising in the caller's thread.

The limits themselves live in ``runstream.events.limits``; this module only adapts
what MLflow users pass (numpy scalars, ints as param values, ...) before calling
them, the way MLflow does: metric values may be any real number (``numbers.Real``,
so numpy floats and ints pass, bools and strings do not); param and tag values are
turned into text with ``str()``; steps and timestamps must be integers.
"""

from __future__ import annotations

import numbers
import operator
import re
from typing import Final

from runstream.errors import ValidationError
from runstream.events.limits import (
    check_key,
    check_metric_value,
    check_param_value,
    check_tag_value,
)

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
_RUN_ID_RE: Final = re.compile(r"^[0-9a-f]{32}$(?!\n)")


def metric_value(value: object) -> float:
    """A metric value as a float; NaN and ±Inf pass unchanged.

    Raises:
        ValidationError: a bool, a string, None or anything that is not a real number.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return check_metric_value(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return check_metric_value(value)


def _integer(what: str, value: object, low: int) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{what} must be an integer, not bool")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValidationError(f"{what} must be an integer, not {type(value).__name__}") from None
    if not low <= number <= INT64_MAX:
        raise ValidationError(f"{what} {number} is out of range [{low}, {INT64_MAX}]")
    return number


def metric_step(step: object) -> int:
    """A metric step: a 64-bit integer (numpy integers accepted).

    Raises:
        ValidationError: not an integer, or out of the 64-bit range.
    """
    return _integer("metric step", step, INT64_MIN)


def timestamp_ms(value: object, what: str = "timestamp") -> int:
    """A time in milliseconds since the epoch: a non-negative 64-bit integer.

    Raises:
        ValidationError: not an integer, or negative.
    """
    return _integer(f"{what} (ms since the epoch)", value, 0)


def param(key: object, value: object) -> tuple[str, str]:
    """A checked param ``(key, str(value))``.

    Raises:
        ValidationError: a bad key.
        LimitExceededError: a key or value over its limit.
    """
    return check_key("param", key), check_param_value(str(value))


def tag(key: object, value: object) -> tuple[str, str]:
    """A checked run tag ``(key, str(value))``.

    Raises:
        ValidationError: a bad key.
        LimitExceededError: a key or value over its limit.
    """
    return check_key("tag", key), check_tag_value(str(value), scope="run")


def run_id(value: object) -> str:
    """A run id: 32 lowercase hex digits.

    Raises:
        ValidationError: anything else.
    """
    if not isinstance(value, str) or not _RUN_ID_RE.search(value):
        raise ValidationError(f"{value!r} is not a run id (32 lowercase hex digits)")
    return value


__all__ = ["metric_step", "metric_value", "param", "run_id", "tag", "timestamp_ms"]
