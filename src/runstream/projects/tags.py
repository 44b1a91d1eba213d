"""The ``mlflow.*`` tags a project run carries, with MLflow's names and values.

MLflow's ``mlflow.projects.utils._create_run`` sets user, source name and type
(``PROJECT``), entry point, git commit, repository URL and branch; its local backend
adds the env manager and the backend. Those are the names used here, from
``mlflow.utils.mlflow_tags``. MLflow records no project name; Runstream adds
``mlflow.project.name`` beside them.
"""

from __future__ import annotations

from collections.abc import Mapping

from runstream.projects.fetch import Fetched
from runstream.projects.spec import Invocation, Project

PROJECT_NAME_TAG = "mlflow.project.name"


def run_tags(
    fetched: Fetched,
    project: Project,
    invocation: Invocation,
    manager: str,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """The tags of a new project run; ``extra`` (e.g. Airflow lineage) wins on a clash."""
    from mlflow.utils import mlflow_tags as names

    tags = {
        names.MLFLOW_SOURCE_NAME: fetched.source_name,
        names.MLFLOW_SOURCE_TYPE: "PROJECT",
        names.MLFLOW_PROJECT_ENTRY_POINT: invocation.entry_point,
        names.MLFLOW_PROJECT_ENV: manager,
        names.MLFLOW_PROJECT_BACKEND: "local",
    }
    if fetched.commit:
        tags[names.MLFLOW_GIT_COMMIT] = fetched.commit
    if fetched.repo_url:
        tags[names.MLFLOW_GIT_REPO_URL] = fetched.repo_url
    if fetched.branch:
        tags[names.MLFLOW_GIT_BRANCH] = fetched.branch
    if project.name:
        tags[PROJECT_NAME_TAG] = project.name
    tags.update(extra)
    return tags


__all__ = ["PROJECT_NAME_TAG", "run_tags"]
