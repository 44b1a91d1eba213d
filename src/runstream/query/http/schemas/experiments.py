"""Experiment responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runstream.query.records import Experiment, Page


class ExperimentOut(BaseModel):
    """An experiment."""

    experiment_id: str
    name: str
    artifact_location: str | None
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str]


class ExperimentResponse(ExperimentOut):
    """One experiment and the lake snapshot it was read from."""

    snapshot_id: int


class ExperimentsPage(BaseModel):
    """A page of experiments."""

    experiments: list[ExperimentOut]
    next_page_token: str | None
    snapshot_id: int


def experiment_json(exp: Experiment) -> dict[str, Any]:
    """JSON of :class:`ExperimentOut`."""
    row = exp.row
    return {
        "experiment_id": row.experiment_id,
        "name": row.name,
        "artifact_location": row.artifact_location,
        "lifecycle_stage": row.lifecycle_stage,
        "creation_time": row.creation_time,
        "last_update_time": row.last_update_time,
        "tags": exp.tags,
    }


def experiments_page_json(page: Page[Experiment], snapshot_id: int) -> dict[str, Any]:
    """JSON of :class:`ExperimentsPage`."""
    return {
        "experiments": [experiment_json(e) for e in page.items],
        "next_page_token": page.next_page_token,
        "snapshot_id": snapshot_id,
    }


__all__ = [
    "ExperimentOut",
    "ExperimentResponse",
    "ExperimentsPage",
    "experiment_json",
    "experiments_page_json",
]
