"""Experiment responses: the ``experiments`` row with its tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from runstream.core.rows import ExperimentRow
from runstream.query.http.schemas.wire import Wire, WireShape, columns
from runstream.query.records import Experiment, Page


@dataclass(slots=True)
class ExperimentOut(ExperimentRow, WireShape):
    """An experiment: every column of its row, and its tags."""

    tags: dict[str, str]

    @classmethod
    def of(cls, exp: Experiment) -> ExperimentOut:
        """The response shape of ``exp``."""
        return ExperimentOut(**columns(exp.row), tags=exp.tags)


@dataclass(slots=True)
class ExperimentResponse(ExperimentOut):
    """One experiment and the lake snapshot it was read from."""

    snapshot_id: int

    @classmethod
    def read(cls, exp: Experiment, snapshot_id: int) -> Self:
        """The response of ``exp`` read at ``snapshot_id``."""
        return cls(**columns(exp.row), tags=exp.tags, snapshot_id=snapshot_id)


@dataclass(slots=True)
class ExperimentsPage(WireShape):
    """A page of experiments."""

    experiments: list[ExperimentOut]
    next_page_token: str | None
    snapshot_id: int

    @classmethod
    def read(cls, page: Page[Experiment], snapshot_id: int) -> Self:
        """The response of ``page`` read at ``snapshot_id``."""
        return cls([ExperimentOut.of(e) for e in page.items], page.next_page_token, snapshot_id)


EXPERIMENT = Wire(ExperimentResponse)
EXPERIMENTS_PAGE = Wire(ExperimentsPage)

__all__ = [
    "EXPERIMENT",
    "EXPERIMENTS_PAGE",
    "ExperimentOut",
    "ExperimentResponse",
    "ExperimentsPage",
]
