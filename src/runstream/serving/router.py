"""A/B routing: each request goes to one target, by weight, or by a sticky key.

With a key (a request header), the arm is a pure function of the key and the
weights (a stable hash into the cumulative weights), so one caller always hits
the same arm while the weights stay the same. Without one, a weighted draw.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Router(Generic[T]):
    """Picks among weighted choices."""

    def __init__(self, choices: Sequence[T], weights: Sequence[float]) -> None:
        if not choices or len(choices) != len(weights) or min(weights) < 0 or sum(weights) <= 0:
            from runstream.errors import ValidationError

            raise ValidationError("A/B weights must be >= 0, one per target, with a sum > 0")
        self._choices = list(choices)
        total = float(sum(weights))
        running, edges = 0.0, []
        for weight in weights:
            running += weight / total
            edges.append(running)
        edges[-1] = 1.0
        self._edges = edges
        self._random = random.Random()

    def _at(self, point: float) -> T:
        return self._choices[min(bisect.bisect_right(self._edges, point), len(self._edges) - 1)]

    def pick(self, key: str | None = None) -> T:
        """The choice for a sticky key, or a weighted random one."""
        if len(self._choices) == 1:
            return self._choices[0]
        if key:
            digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
            return self._at(int.from_bytes(digest, "big") / 2**64)
        return self._at(self._random.random())


__all__ = ["Router"]
