"""Positions in the log as the live stream's event ids (``Last-Event-ID``).

A cursor is the next offset to read in each partition the stream covers, written
``<partition>:<offset>`` comma-separated (``2:1043,3:88``). Every event the stream
sends carries the cursor after it, so a client that reconnects with the last id
it saw gets exactly the events after that one: none missed, none twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from runstream.errors import ValidationError

MAX_CURSOR_CHARS = 4096


def format_cursor(positions: Mapping[int, int]) -> str:
    """The cursor of ``positions`` (partition -> next offset), partitions in order."""
    return ",".join(f"{p}:{o}" for p, o in sorted(positions.items()))


def parse_cursor(text: str) -> dict[int, int]:
    """Positions from a cursor written by :func:`format_cursor`.

    Raises:
        ValidationError: the text is not a cursor.
    """
    if len(text) > MAX_CURSOR_CHARS:
        raise ValidationError(f"Last-Event-ID is longer than {MAX_CURSOR_CHARS} characters")
    out: dict[int, int] = {}
    for part in text.split(","):
        partition, sep, offset = part.strip().partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValidationError(
                f"Last-Event-ID {text!r} is not a live cursor ('<partition>:<offset>,...')"
            )
        out[int(partition)] = int(offset)
    return out


__all__ = ["MAX_CURSOR_CHARS", "format_cursor", "parse_cursor"]
