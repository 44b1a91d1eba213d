"""Reads with MLflow's ``MlflowClient`` names: searches, experiments, histories, artifact lists.

Every answer comes from the query service's MLflow REST read endpoints
(``/api/2.0/mlflow/...``), which run the same readers as its own API: the filter
grammar, ordering, paging and limits are the service's, never re-implemented here.
Results are MLflow's entities (:mod:`runstream.sdk.entities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runstream.errors import NotFoundError, ValidationError
from runstream.sdk import validate
from runstream.sdk.entities import (
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Run,
    ViewType,
    run_from_json,
)
from runstream.sdk.experiments import experiment_from_json
from runstream.sdk.session import Session

SEARCH_MAX_RESULTS_DEFAULT = 1000
# MLflow's server pages metric histories by at most this many points.
_HISTORY_PAGE = 25_000


def view_name(view: int | str | ViewType) -> str:
    """MLflow's view type (``ViewType.ALL``, 3 or ``"ALL"``) as the name the REST API takes.

    Raises:
        ValidationError: not a view type.
    """
    if isinstance(view, str):
        name = view.upper()
        if name in ViewType.__members__:
            return name
    elif isinstance(view, int) and not isinstance(view, bool):
        try:
            return ViewType(view).name
        except ValueError:
            pass
    raise ValidationError(f"view type must be ACTIVE_ONLY, DELETED_ONLY or ALL, not {view!r}")


class ReadClient:
    """Reads through the query service.

    Args:
        session: the client's connections (the query client is built on first use).
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def _call(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return self._session.query().mlflow(endpoint, body)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id.

        Raises:
            NotFoundError: no such experiment.
        """
        found = self._call("experiments/get", {"experiment_id": str(experiment_id)})
        if found is None:
            raise NotFoundError(f"No Experiment with id={experiment_id} exists")
        return experiment_from_json(found["experiment"])

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page of experiments matching MLflow's experiment filter grammar.

        Raises:
            ValidationError: a bad filter, order_by, view type or limit.
        """
        body: dict[str, Any] = {
            "view_type": view_name(view_type),
            "max_results": max_results or SEARCH_MAX_RESULTS_DEFAULT,
            "filter": filter_string or "",
            "order_by": list(order_by or ()),
        }
        if page_token:
            body["page_token"] = page_token
        found = self._call("experiments/search", body) or {}
        experiments = [experiment_from_json(e) for e in found.get("experiments", ())]
        return PagedList(experiments, found.get("next_page_token"))

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs of these experiments, with MLflow's filter and order_by grammar.

        Raises:
            ValidationError: a bad filter, order_by, view type, limit or page token.
        """
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        body: dict[str, Any] = {
            "experiment_ids": [str(i) for i in ids],
            "filter": filter_string or "",
            "run_view_type": view_name(run_view_type),
            "max_results": max_results,
            "order_by": list(order_by or ()),
        }
        if page_token:
            body["page_token"] = page_token
        found = self._call("runs/search", body) or {}
        runs = [run_from_json(r) for r in found.get("runs", ())]
        return PagedList(runs, found.get("next_page_token"))

    def run(self, run_id: str) -> Run | None:
        """The run as MLflow's ``runs/get`` shows it (None if the lake does not hold it)."""
        found = self._call("runs/get", {"run_id": validate.run_id(run_id)})
        return None if found is None else run_from_json(found["run"])

    def get_parent_run(self, run_id: str) -> Run | None:
        """The parent of a nested run (its ``mlflow.parentRunId`` tag), or None.

        Raises:
            NotFoundError: no such run.
        """
        child = self.run(run_id)
        if child is None:
            raise NotFoundError(f"Run with id={run_id!r} not found")
        parent_id = child.data.tags.get("mlflow.parentRunId")
        return self.run(parent_id) if parent_id else None

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, in step order (pages read until the end).

        Raises:
            NotFoundError: no such run.
        """
        points: list[Metric] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "run_id": validate.run_id(run_id),
                "metric_key": key,
                "max_results": _HISTORY_PAGE,
            }
            if token:
                body["page_token"] = token
            found = self._call("metrics/get-history", body)
            if found is None:
                raise NotFoundError(f"Run with id={run_id!r} not found")
            points.extend(
                Metric(str(m["key"]), float(m["value"]), int(m["timestamp"]), int(m["step"]))
                for m in found.get("metrics", ())
            )
            token = found.get("next_page_token")
            if not token:
                return points

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """One folder level of a run's artifacts (MLflow's ``list_artifacts``).

        Raises:
            NotFoundError: no such run.
        """
        files: list[FileInfo] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {"run_id": validate.run_id(run_id), "path": path or ""}
            if token:
                body["page_token"] = token
            found = self._call("artifacts/list", body)
            if found is None:
                raise NotFoundError(f"Run with id={run_id!r} not found")
            files.extend(
                FileInfo(str(f["path"]), bool(f.get("is_dir", False)), f.get("file_size"))
                for f in found.get("files", ())
            )
            token = found.get("next_page_token")
            if not token:
                return files


__all__ = ["SEARCH_MAX_RESULTS_DEFAULT", "ReadClient", "view_name"]
