"""``runstream run`` of git repositories at a version, and virtualenv / uv environments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_support import git, run_cli, run_id_of, wait_run, write_project

from runstream.config import Settings


@pytest.fixture(autouse=True)
def _mlflow_fails_fast() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        yield


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    repo = write_project(tmp_path / "repo", {
        "sub/MLproject": """
            name: versioned
            entry_points:
              main:
                command: "cat version.txt"
        """,
        "sub/version.txt": "one\n",
    })
    git(repo, "init", "-q", "-b", "trunk")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "sub" / "version.txt").write_text("two\n")
    git(repo, "commit", "-q", "-am", "two")
    return repo, first, git(repo, "rev-parse", "HEAD")


def test_a_local_repository_at_a_commit_and_a_git_url_at_a_branch(
    running_apps: Settings, tmp_path: Path
) -> None:
    repo, first, second = _repo(tmp_path)
    done = run_cli(running_apps, f"{repo}#sub", "--version", first)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "one" in done.stdout.splitlines()
    run = wait_run(running_apps, run_id_of(done))
    assert run.data.tags["mlflow.source.git.commit"] == first
    assert run.data.tags["mlflow.project.name"] == "versioned"
    assert (repo / "sub" / "version.txt").read_text() == "two\n"  # the working copy is untouched

    done = run_cli(running_apps, f"git+file://{repo}#sub", "--version", "trunk")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "two" in done.stdout.splitlines()
    tags = wait_run(running_apps, run_id_of(done)).data.tags
    assert tags["mlflow.source.git.commit"] == second
    assert tags["mlflow.source.git.branch"] == "trunk"
    assert tags["mlflow.source.git.repoURL"] == f"file://{repo}"

    # In place, without --version: the commit checked out.
    done = run_cli(running_apps, f"{repo}#sub")
    assert done.returncode == 0, done.stderr[-3000:]
    assert wait_run(running_apps, run_id_of(done)).data.tags["mlflow.source.git.commit"] == second


def test_an_unknown_version_fails_clearly(settings: Settings, tmp_path: Path) -> None:
    repo, _, _ = _repo(tmp_path)
    done = run_cli(settings, f"{repo}#sub", "--version", "0" * 40)
    assert done.returncode == 2
    assert "Unable to checkout version" in done.stderr


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_python_env_is_built_once_and_reused(
    running_apps: Settings, tmp_path: Path, manager: str
) -> None:
    project = write_project(tmp_path / "envd", {
        "MLproject": """
            name: envd
            python_env: python_env.yaml
            entry_points:
              main:
                command: "python -c 'import json, six, sys; print(json.dumps([sys.prefix]))'"
        """,
        "python_env.yaml": """
            python: "3.11"
            build_dependencies: []
            dependencies:
              - six==1.17.0
        """,
    })
    prefixes = []
    for attempt in range(2):
        done = run_cli(running_apps, str(project), "--env-manager", manager, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        built = f"building the {manager} environment" in done.stderr
        assert built == (attempt == 0), done.stderr[-2000:]
        prefixes.append(json.loads(done.stdout.splitlines()[0])[0])
        run = wait_run(running_apps, run_id_of(done))
        assert run.data.tags["mlflow.project.env"] == manager
    assert prefixes[0] == prefixes[1]
    assert Path(prefixes[0]).is_relative_to(running_apps.home.resolve() / "envs" / manager)
