"""Where a project's files come from: a folder, a git repository at a version, a zip.

URIs, as ``mlflow run`` takes them:

- a local folder (``.``, ``/path/to/project``, ``file:///path``), run in place; its git
  commit (if it is inside a repository) is the one checked out;
- a local git repository with ``--version <commit|branch|tag>``: cloned at that version
  into a scratch folder (MLflow checks the version out in the user's own working copy;
  we leave it untouched);
- a git URL: ``https://...``, ``ssh://...``, ``git@host:org/repo.git``, ``file://``, and
  the same with a ``git+`` prefix (``git+file:///path/repo``), fetched with MLflow's code
  (shallow, submodules included) into a scratch folder;
- a local ``.zip`` file;
- any of these followed by ``#sub/dir``: the project inside that folder.

MLflow's ``mlflow.projects.utils`` parses the subdirectory, fetches git repositories and
unzips; its ``mlflow.utils.git_utils`` reads the commit and repository URL.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from runstream.errors import ProjectError

_GIT_URL = re.compile(r"^(git\+)?(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class Fetched:
    """A project's files on disk and where they came from.

    Attributes:
        work_dir: the project folder (inside the repository when ``#sub/dir`` was given).
        source_name: what ``mlflow.source.name`` records (MLflow's rule).
        commit: the git commit of the files, when they come from git.
        repo_url: the repository's URL, when known.
        branch: ``--version`` when it names a branch.
    """

    work_dir: Path
    source_name: str
    commit: str | None
    repo_url: str | None
    branch: str | None


def is_git_url(uri: str) -> bool:
    """True for URIs that name a git repository rather than a folder."""
    return bool(_GIT_URL.match(uri)) and not uri.startswith("file://")


def fetch(uri: str, version: str | None, scratch: Path) -> Fetched:
    """Makes the project's files available on disk.

    Args:
        uri: the project URI (see the module docstring).
        version: a commit, branch or tag of a git repository.
        scratch: an empty folder for clones and unzipped files.

    Raises:
        ProjectError: no such folder, not a git repository, a version that does not
            exist, a repository that cannot be fetched, a missing subdirectory.
    """
    # Without the git command GitPython refuses to import unless told to stay quiet; a
    # local folder needs no git, and a git URI then fails below saying git is missing.
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    import git
    from mlflow.exceptions import MlflowException
    from mlflow.projects import utils

    try:
        location, subdir = utils._parse_subdirectory(uri)
    except MlflowException as exc:
        raise ProjectError(f"{uri}: {exc.message}") from exc
    git_url = location[len("git+") :] if location.startswith("git+") else location
    try:
        if utils._is_zip_uri(location):
            root = _unzip(location, scratch)
        elif not is_git_url(location) and utils._is_local_uri(location):
            root = Path(utils._parse_file_uri(location)).resolve()
            if version is not None:
                if not utils._is_git_repo(str(root)):
                    raise ProjectError(
                        f"{uri}: --version needs a git repository, and {root} is not one"
                    )
                utils._fetch_git_repo(root.as_uri(), version, str(scratch))
                root = scratch
        elif is_git_url(location):
            utils._fetch_git_repo(git_url, version, str(scratch))
            root = scratch
        else:
            raise ProjectError(
                f"{uri}: no such folder, and not a git URL (https://, ssh://, git@host:path, "
                "git+file://)"
            )
    except MlflowException as exc:
        raise ProjectError(f"cannot fetch {uri}: {exc.message}") from exc
    except git.exc.GitCommandNotFound as exc:
        raise ProjectError(
            f"cannot fetch {uri}: the git command is not installed (git repositories and "
            "--version need it; a local folder does not)"
        ) from exc
    except (git.exc.GitError, OSError) as exc:
        raise ProjectError(f"cannot fetch {uri}: {exc}") from exc
    work_dir = (root / subdir).resolve() if subdir else root
    if not work_dir.is_dir():
        raise ProjectError(f"{uri}: no subdirectory {subdir!r} in the project")
    return _describe(uri, location, work_dir, version, local=root != scratch)


def _unzip(location: str, scratch: Path) -> Path:
    from mlflow.projects import utils as mlflow_utils

    path = mlflow_utils._parse_file_uri(location)
    if not os.path.isfile(path):
        raise ProjectError(f"{location}: no such zip file (remote zip files are not fetched)")
    mlflow_utils._unzip_repo(zip_file=path, dst_dir=str(scratch))
    return scratch


def _describe(
    uri: str, location: str, work_dir: Path, version: str | None, *, local: bool
) -> Fetched:
    from mlflow.projects.utils import _is_valid_branch_name
    from mlflow.tracking._tracking_service.utils import _get_git_url_if_present
    from mlflow.utils.git_utils import get_git_commit, get_git_repo_url

    commit = get_git_commit(str(work_dir))
    repo_url = get_git_repo_url(str(work_dir))
    if local:
        source = str(_get_git_url_if_present(str(work_dir)))
    else:
        source = location if "#" not in uri else uri
        repo_url = location[len("git+") :] if location.startswith("git+") else location
    is_branch = bool(version and commit and _is_valid_branch_name(str(work_dir), version))
    branch = version if is_branch else None
    return Fetched(work_dir, source, commit, repo_url, branch)


__all__ = ["Fetched", "fetch", "is_git_url"]
