"""Planning a project run: every bad invocation fails before a run exists (no services)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from runstream.errors import ProjectEnvError, ProjectError
from runstream.projects.runner import RunRequest, plan

MLPROJECT = """
    name: typed
    entry_points:
      main:
        parameters:
          alpha: {type: float, default: 0.5}
          n: {type: int, default: 3}
          label: {type: string, default: "it's here"}
          data: path
          where: {type: uri, default: "s3://bucket/key"}
        command: "python echo.py {alpha} {n} {label} {data} {where}"
      odd:
        parameters:
          x: {type: complex, default: 1}
        command: "echo {x}"
      bad_default:
        parameters:
          rate: {type: float, default: fast}
        command: "echo {rate}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "MLproject").write_text(textwrap.dedent(MLPROJECT))
    (folder / "data.csv").write_text("a\n")
    (folder / "train.py").write_text("print('hi')\n")
    return folder


def _plan(project: Path, tmp_path: Path, entry: str = "main", **params: str):  # type: ignore[no-untyped-def]
    return plan(RunRequest(str(project), entry, params), tmp_path / "scratch")


def test_defaults_overrides_extras_and_quoting(project: Path, tmp_path: Path) -> None:
    planned = _plan(project, tmp_path, data=str(project / "data.csv"), n="5", extra="a b")
    assert planned.invocation.command == (
        f"python echo.py 0.5 5 'it'\"'\"'s here' {project / 'data.csv'} s3://bucket/key "
        "--extra 'a b'"
    )
    assert planned.invocation.params == {
        "alpha": "0.5", "n": "5", "label": "it's here", "data": str(project / "data.csv"),
        "where": "s3://bucket/key", "extra": "a b",
    }
    assert planned.manager == "local"


def test_a_script_runs_as_an_entry_point(project: Path, tmp_path: Path) -> None:
    assert _plan(project, tmp_path, "train.py").invocation.command == "python train.py"


@pytest.mark.parametrize(
    ("entry", "params", "message"),
    [
        ("main", {"data": "data.csv", "alpha": "abc"}, "'alpha' is a float, but got 'abc'"),
        ("main", {"data": "data.csv", "n": "1.5"}, "parameter 'n' is an int, but got '1.5'"),
        ("main", {}, "No value given for missing parameters: 'data'"),
        ("nope", {}, "unknown entry point 'nope' (entry points of the project: main, odd"),
        ("main", {"data": "missing.csv"}, "no such file or directory"),
        ("main", {"data": "data.csv", "where": "not a uri"}, "Expected URI for parameter where"),
        ("odd", {}, "has type 'complex'; MLproject types are float, int, string, path, uri"),
        ("bad_default", {}, "parameter 'rate' is a float, but its default is 'fast'"),
    ],
)
def test_bad_invocations(
    project: Path, tmp_path: Path, entry: str, params: dict[str, str], message: str
) -> None:
    with pytest.raises(ProjectError) as caught:
        _plan(project, tmp_path, entry, **{k: str(project / v) if v.endswith(".csv") else v
                                          for k, v in params.items()})
    assert message in str(caught.value)


def test_uris_that_are_not_projects(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no such folder"):
        plan(RunRequest(str(tmp_path / "absent")), tmp_path / "s1")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError, match="--version needs a git repository"):
        plan(RunRequest(str(tmp_path / "plain"), version="main"), tmp_path / "s2")
    with pytest.raises(ProjectError, match="no subdirectory"):
        plan(RunRequest(f"{tmp_path / 'plain'}#sub"), tmp_path / "s3")
    with pytest.raises(ProjectError, match="cannot fetch"):
        plan(RunRequest("git+file:///nonexistent/repo.git"), tmp_path / "s4")


def test_missing_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docker = shutil.which("docker")  # the machine's docker CLI (its engine is not used)
    assert docker is not None, "these checks run the real docker CLI"
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("MLFLOW_CONDA_HOME", raising=False)
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "MLproject").write_text("name: c\nconda_env: conda.yaml\nentry_points:\n"
                                      "  main:\n    command: python -V\n")
    (folder / "conda.yaml").write_text("name: c\ndependencies: [python=3.11]\n")
    with pytest.raises(ProjectEnvError, match="needs conda"):
        plan(RunRequest(str(folder)), tmp_path / "s")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "MLproject").write_text("name: p\nentry_points:\n  main:\n    command: python -V\n")
    with pytest.raises(ProjectEnvError, match="needs conda"):
        plan(RunRequest(str(plain), env_manager="conda"), tmp_path / "s1")
    with pytest.raises(ProjectError, match="choose one of local, virtualenv, uv, conda"):
        plan(RunRequest(str(folder), env_manager="pip"), tmp_path / "s2")

    boxed = tmp_path / "boxed"
    boxed.mkdir()
    (boxed / "MLproject").write_text("name: b\ndocker_env:\n  image: python:3.11\n"
                                     "entry_points:\n  main:\n    command: python -V\n")
    with pytest.raises(ProjectEnvError, match="docker is not installed"):
        plan(RunRequest(str(boxed)), tmp_path / "s3")
    with pytest.raises(ProjectEnvError, match="docker is not installed"):
        plan(RunRequest(str(plain), build_image=True), tmp_path / "s4")
    (empty / "docker").symlink_to(docker)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    with pytest.raises(ProjectEnvError, match="the docker engine is not reachable") as refused:
        plan(RunRequest(str(boxed)), tmp_path / "s5")
    assert "no-engine.sock" in str(refused.value)
