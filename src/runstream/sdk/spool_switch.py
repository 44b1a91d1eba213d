"""When the transport goes to the offline spool, and when it comes back to the broker.

The rules (step 6 of the transport's delivery contract, and its way back):

1. Switch to the spool once the broker never answered this process for
   ``fallback_after`` attempts in a row, or an outage of a broker that did answer
   lasted ``fallback_after_s`` (a broker restart is ridden out in the buffer).
2. While on the spool, every ``recover_every_s`` the transport tries the way back:
   ``recover`` uploads the artifacts kept on disk and publishes every spooled event
   to the broker (``runstream.sdk.sync``'s contract: exactly once, in order per key).
   Only when it succeeded do later events go to the broker again, so each key's
   events reach the log in the order they were logged.
3. A failed try changes nothing: events keep going to the spool, the next try comes
   ``recover_every_s`` later, and ``runstream sync`` can always finish the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from runstream.sdk.delivery import loud

logger = logging.getLogger("runstream.sdk")

Recover = Callable[[], Awaitable[int]]


@dataclass
class SpoolSwitch:
    """The state of rules 1-3 for one transport.

    Attributes:
        destination: the broker, for messages.
        fallback_after: rule 1's attempts for a broker that never answered.
        fallback_after_s: rule 1's outage length for a broker that did.
        recover: rule 2's way back; None: stay on the spool (``runstream sync`` later).
        recover_every_s: rule 2's pause between tries.
        on_spool: events go to the spool now.
    """

    destination: str
    fallback_after: int
    fallback_after_s: float
    recover: Recover | None = None
    recover_every_s: float = 30.0
    on_spool: bool = False
    _next_try: float = 0.0

    def should_switch(self, reached: bool, outage_since: float | None, failures: int) -> bool:
        """Rule 1; says so loudly when it switches."""
        if self.on_spool:
            return False
        if reached:
            if outage_since is None or time.monotonic() - outage_since < self.fallback_after_s:
                return False
        elif failures < self.fallback_after:
            return False
        self.on_spool = True
        self._next_try = time.monotonic() + self.recover_every_s
        return True

    def recovery_due(self) -> bool:
        """Rule 2's clock: on the spool, with a way back, and its pause is over."""
        return self.on_spool and self.recover is not None and time.monotonic() >= self._next_try

    async def try_recover(self) -> bool:
        """Rules 2 and 3: True when the spool is published and the broker is back."""
        assert self.recover is not None
        self._next_try = time.monotonic() + self.recover_every_s
        try:
            sent = await self.recover()
        except Exception as exc:  # broker or S3 still away: rule 3
            logger.info("runstream: %s is still unreachable (%s)", self.destination, exc)
            return False
        self.on_spool = False
        loud(
            f"runstream: {self.destination} is back; {sent} spooled events were published "
            "and new events go to it again"
        )
        return True


__all__ = ["Recover", "SpoolSwitch"]
