"""Reducing the prediction log: one ``predictions`` row per answered request.

``predictions.logged`` events carry no routing field and touch no entity, so
nothing can reject them once decoded; a replayed event is dropped by event id
before it gets here, so each request lands once.
"""

from __future__ import annotations

from runstream.core.working import Working
from runstream.events import Envelope, EventType, PredictionsLoggedBody


def predictions_logged(w: Working, env: Envelope[PredictionsLoggedBody]) -> None:
    """``predictions.logged``: appends every record to ``predictions``."""
    rows = w.appends["predictions"]
    for r in env.body.records:
        rows.append((
            r.served_at, r.request_id, r.model_uri, r.model_name, r.model_version, r.arm,
            r.status, r.latency_ms, r.request, r.response, r.truncated, env.event_id,
        ))  # fmt: skip


HANDLERS = {EventType.PREDICTIONS_LOGGED: predictions_logged}

__all__ = ["HANDLERS", "predictions_logged"]
