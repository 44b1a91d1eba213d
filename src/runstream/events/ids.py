"""Time-ordered identifiers: UUIDv7 event ids and run ids (RFC 9562).

Python 3.11 has no ``uuid.uuid7``, so this module makes them. Layout of the 128 bits::

    48 bits  unix time in milliseconds
     4 bits  version (7)
    12 bits  counter, high part      ("rand_a")
     2 bits  variant (0b10)
    30 bits  counter, low part       \\ "rand_b"
    32 bits  random                  /

The 42-bit counter makes ids strictly increasing within a process (RFC 9562,
section 6.2, method 1):

1. On a new millisecond the counter restarts at a random value below 2**41, which
   leaves room for at least 2**41 increments in that millisecond.
2. In the same millisecond, or if the clock went backwards, the previous
   millisecond is kept and the counter goes up by one.
3. If the counter overflows, the timestamp moves one millisecond ahead of the clock.
4. A forked child starts a fresh sequence, so parent and child never share a state.

Both text forms sort like the ids themselves, so sorting strings sorts by time.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Final

from runstream.errors import ValidationError

__all__ = ["is_uuid7", "new_event_id", "new_run_id", "uuid7_timestamp_ms"]

_COUNTER_BITS: Final = 42
_COUNTER_MAX: Final = (1 << _COUNTER_BITS) - 1
_TIME_MAX: Final = (1 << 48) - 1

_UUID7_TEXT_RE: Final = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$(?!\n)"
)
_UUID7_HEX_RE: Final = re.compile(r"^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$(?!\n)")


class _Uuid7Generator:
    """Makes strictly increasing UUIDv7 integers; safe across threads and forks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def reset(self) -> None:
        """Forgets the last id, so the next one starts a new random sequence."""
        self._last_ms = -1
        self._counter = 0

    def next_int(self) -> int:
        """Returns the next id as a 128-bit integer, greater than every earlier one."""
        now_ms = time.time_ns() // 1_000_000
        with self._lock:
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = _random_bits(_COUNTER_BITS - 1)
            else:
                self._counter += 1
                if self._counter > _COUNTER_MAX:
                    self._last_ms += 1
                    self._counter = _random_bits(_COUNTER_BITS - 1)
            ms, counter = self._last_ms, self._counter
        return (
            (ms & _TIME_MAX) << 80
            | 0x7 << 76
            | (counter >> 30) << 64
            | 0b10 << 62
            | (counter & ((1 << 30) - 1)) << 32
            | _random_bits(32)
        )


def _random_bits(bits: int) -> int:
    """Returns ``bits`` random bits from the OS's CSPRNG (unguessable ids, not just unique)."""
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)


_GENERATOR: Final = _Uuid7Generator()
if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only on Windows
    os.register_at_fork(after_in_child=_GENERATOR.reset)


def new_event_id() -> str:
    """Returns a new UUIDv7 as canonical lowercase text (``xxxxxxxx-xxxx-7xxx-...``).

    Ids made by one process are strictly increasing, also within one millisecond.
    """
    h = f"{_GENERATOR.next_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_run_id() -> str:
    """Returns a new run id: a UUIDv7 as 32 lowercase hex digits, like MLflow's run ids."""
    return f"{_GENERATOR.next_int():032x}"


def is_uuid7(value: object) -> bool:
    """Tells whether ``value`` is a UUIDv7 in canonical lowercase text form.

    The version nibble must be 7 and the variant bits ``10``; the 32-hex run id
    form is not accepted here (see :func:`uuid7_timestamp_ms`).
    """
    return isinstance(value, str) and _UUID7_TEXT_RE.search(value) is not None


def uuid7_timestamp_ms(value: str) -> int:
    """Returns the unix time in milliseconds stored in a UUIDv7 (text or 32-hex form).

    Raises:
        ValidationError: ``value`` is not a UUIDv7 in either lowercase form.
    """
    if _UUID7_TEXT_RE.search(value):
        return int(value[:8] + value[9:13], 16)
    if _UUID7_HEX_RE.search(value):
        return int(value[:12], 16)
    raise ValidationError(f"not a UUIDv7: {value!r}")
