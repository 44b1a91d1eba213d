"""Event ids derived from a request, so that a retried request never duplicates data.

MLflow's client retries a request on 429 and 5xx with the same body. Events whose
repeat would change the lake (metric points append to a history) get an id derived
from what they carry: the same request gives the same id, and the materializer drops
the second copy by event id. The id is a valid UUIDv7 whose time is taken from the
request itself (the newest metric timestamp), so it stays close to the ids around
it and the materializer's duplicate check answers it from memory.

Params, tags, deletions and status changes are idempotent in the projection, so
their events keep fresh ids.
"""

from __future__ import annotations

import hashlib
from typing import Final

_TIME_MAX: Final = (1 << 48) - 1


def derived_event_id(millis: int, *parts: str | bytes) -> str:
    """A UUIDv7 (canonical text) with time ``millis`` and 74 bits of a hash of ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    rand = int.from_bytes(digest.digest()[:10], "big") >> 6  # 74 bits
    value = (
        (max(0, min(millis, _TIME_MAX)) << 80)
        | 0x7 << 76
        | (rand >> 62) << 64
        | 0b10 << 62
        | (rand & ((1 << 62) - 1))
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


__all__ = ["derived_event_id"]
