"""``RunstreamModelVersionTrigger``: the deferred half of the model version sensor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from runstream.airflow import api


class RunstreamModelVersionTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires once a version above ``above`` holds ``stage`` (or ``alias``) of ``model_name``.

    Polls the query service every ``poll_interval`` seconds from the triggerer; the
    connection (and so the token) is read there, never stored with the trigger.
    """

    def __init__(
        self,
        *,
        runstream_conn_id: str,
        model_name: str,
        stage: str | None,
        alias: str | None,
        above: int,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.runstream_conn_id = runstream_conn_id
        self.model_name = model_name
        self.stage = stage
        self.alias = alias
        self.above = above
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and arguments that rebuild this trigger in the triggerer."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "runstream_conn_id": self.runstream_conn_id,
                "model_name": self.model_name,
                "stage": self.stage,
                "alias": self.alias,
                "above": self.above,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Polls until a new version is there, then yields one event."""
        conn = await BaseHook.aget_connection(self.runstream_conn_id)
        settings = api.settings_from(conn.host, conn.port, conn.password, conn.extra)
        path, params = api.version_request(self.model_name, self.stage, self.alias)
        async with httpx.AsyncClient(
            base_url=settings.tracking_uri, headers=settings.headers(), timeout=30.0
        ) as http:
            while True:
                try:
                    response = await http.get(path, params=params)
                    body = response.json() if response.content else None
                    version = api.parse_version(response.status_code, body, self.stage)
                except (httpx.HTTPError, ValueError) as exc:
                    self.log.warning("reading %s failed (%s); retrying", path, exc)
                    version = None
                if version is not None and version > self.above:
                    yield TriggerEvent({"status": "success", "version": version})
                    return
                await asyncio.sleep(self.poll_interval)


__all__ = ["RunstreamModelVersionTrigger"]
