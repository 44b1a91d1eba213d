"""``--env-manager``: what a model's venv holds, its name, and that it is built once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runstream.config import load_settings
from runstream.errors import ProjectEnvError
from runstream.serving import envs
from runstream.serving.packaging import serving_requirements


def test_mlflow_in_a_models_requirements_is_installed_as_mlflow_skinny(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "mlflow==3.17.2\nscikit-learn==1.9.1  # a comment\n-c constraints.txt\n"
        "mlflow-skinny>=3\nmlflowx\n"
    )
    assert serving_requirements(tmp_path) == [
        "mlflow-skinny==3.17.2",
        "scikit-learn==1.9.1",
        "mlflow-skinny>=3",
        "mlflowx",
    ]


def test_the_command_runs_again_with_the_local_manager() -> None:
    argv = ["models", "serve", "-m", "m", "--env-manager", "uv", "-p", "1"]
    assert envs.local_argv(argv) == [
        "models", "serve", "-m", "m", "--env-manager", "local", "-p", "1",
    ]
    assert envs.local_argv(["models", "serve", "--env-manager=virtualenv"]) == [
        "models", "serve", "--env-manager", "local",
    ]


def test_the_venv_is_named_by_its_content(tmp_path: Path) -> None:
    settings = load_settings({}, home=tmp_path)
    one = envs.env_folder(settings, "uv", ["scikit-learn==1.9.1"])
    assert one == envs.env_folder(settings, "uv", ["scikit-learn==1.9.1"])
    assert one.parent == tmp_path / "envs"
    assert one != envs.env_folder(settings, "uv", ["scikit-learn==1.9.0"])
    assert one != envs.env_folder(settings, "virtualenv", ["scikit-learn==1.9.1"])


def test_a_venv_is_built_once_and_a_failed_build_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[Path] = []

    def commands(manager: str, env: Path, requirements: list[str]) -> list[list[str]]:
        built.append(env)
        make = f"import pathlib; pathlib.Path({str(env)!r}, 'bin').mkdir(parents=True)"
        return [[sys.executable, "-c", make], [sys.executable, "-c", requirements[0]]]

    monkeypatch.setattr(envs, "install_commands", commands)
    env = tmp_path / "envs" / "abc"
    assert envs.prepare_env("uv", env, ["pass"]) is True
    assert envs.prepare_env("uv", env, ["pass"]) is False
    assert built == [env]
    said = capsys.readouterr().err
    assert f"building the uv environment {env} (pass)" in said
    assert f"reusing the uv environment {env}" in said

    broken = tmp_path / "envs" / "def"
    with pytest.raises(ProjectEnvError, match="exit 3"):
        envs.prepare_env("uv", broken, ["raise SystemExit(3)"])
    assert not broken.exists()
