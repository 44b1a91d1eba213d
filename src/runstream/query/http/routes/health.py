"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (lake reachable, lag), ``/metrics``."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from runstream.errors import RunstreamError
from runstream.query.http.deps import StateDep
from runstream.query.http.schemas.ops import HEALTH, READINESS, Health, Readiness
from runstream.query.read.health import LakeHealth, age_s, lake_health

router = APIRouter(tags=["health"])
_PROBE_TIMEOUT_S = 2.0


def _probe(state: StateDep) -> tuple[LakeHealth | None, str | None]:
    try:
        with state.lake.session(_PROBE_TIMEOUT_S) as session:
            return lake_health(session), None
    except RunstreamError as exc:
        return None, str(exc)


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Response:
    """The process is up (it does not touch the lake)."""
    return HEALTH.response(Health("ok"))


@router.get("/readyz", response_model=Readiness, summary="Readiness")
def readyz(state: StateDep) -> Response:
    """Ready when the lake answers; reports snapshot age and materializer lag.

    503 while the lake is unreachable (for example before the materializer has
    created it), so load balancers keep traffic away.
    """
    health, error = _probe(state)
    if health is None:
        return READINESS.response(Readiness.unreachable(error), 503)
    return READINESS.response(Readiness.of(health, time.time()))


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def metrics(state: StateDep) -> Response:
    """Request counts and latencies, and the lake's freshness, in Prometheus text format."""
    health, _ = _probe(state)
    now = time.time()
    gauges: list[tuple[str, str, float | None]] = [
        (
            "runstream_lake_up",
            "1 when the lake answered this scrape.",
            0.0 if health is None else 1.0,
        )
    ]
    if health is not None:
        gauges += [
            ("runstream_lake_snapshot_id", "Newest lake snapshot id.", float(health.snapshot_id)),
            (
                "runstream_lake_snapshot_age_seconds",
                "Seconds since the newest lake snapshot was committed.",
                age_s(health.snapshot_time_ms, now),
            ),
            (
                "runstream_materializer_lag_events",
                "Events in the log not yet in the lake, as last reported.",
                None if health.lag_total is None else float(health.lag_total),
            ),
        ]
    index = state.lake.run_index
    if index is not None:
        stats = index.stats()
        gauges += [
            (
                "runstream_run_index_runs",
                "Runs in the query service's in-memory search index.",
                None if stats.runs is None else float(stats.runs),
            ),
            (
                "runstream_run_index_snapshot_id",
                "Lake snapshot the search index holds.",
                None if stats.snapshot_id is None else float(stats.snapshot_id),
            ),
            (
                "runstream_run_index_builds_total",
                "Search indexes built since the service started.",
                float(stats.builds),
            ),
            (
                "runstream_run_index_last_build_seconds",
                "How long the newest search index took to read and build.",
                stats.last_build_s,
            ),
        ]
    return PlainTextResponse(
        state.metrics.render(gauges), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


__all__ = ["router"]
