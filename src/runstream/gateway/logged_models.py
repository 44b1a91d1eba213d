"""MLflow 3's logged models, as far as the gateway answers them today.

MLflow's client searches a run's logged models whenever it lists the run's
artifacts through a ``runs:/`` URI. Runstream's v1 contract has no logged-model
events yet, so the search answers that no logged model exists (an empty page),
which is what MLflow's own server answers for a run that logged none.
"""

from __future__ import annotations

from typing import Any

from runstream.gateway.body import Body
from runstream.gateway.context import GatewayContext


async def search_logged_models(_ctx: GatewayContext, _body: Body) -> dict[str, Any]:
    """``logged-models/search``: an empty page (no logged models are stored)."""
    return {"models": []}


__all__ = ["search_logged_models"]
