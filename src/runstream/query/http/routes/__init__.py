"""The native API: one router per resource, each route calling one reader."""

from __future__ import annotations

from fastapi import APIRouter


def native_routers() -> list[APIRouter]:
    """Every router of the native API, health and metrics included."""
    from runstream.query.http.routes import (
        artifacts,
        auth,
        compare,
        experiments,
        health,
        ingest,
        live,
        metrics,
        registry,
        runs,
        session,
        sql,
    )

    return [
        health.router,
        ingest.router,
        experiments.router,
        runs.router,
        metrics.router,
        compare.router,
        artifacts.router,
        registry.router,
        sql.router,
        live.router,
        auth.router,
        session.router,
    ]


__all__ = ["native_routers"]
