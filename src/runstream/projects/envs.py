"""The environment a project's command runs in: local, virtualenv, uv, conda (docker: checked).

Which manager, when ``--env-manager`` is not given, follows MLflow: a ``docker_env``
project needs docker, a ``conda_env`` one conda, a ``python_env`` one a virtualenv.
One difference: a project with no environment file at all runs ``local`` (MLflow
builds an empty virtualenv for it, in which the project's own imports then fail).

virtualenv and uv environments are built once and reused:

1. The environment's name is MLflow's content hash of ``python_env.yaml`` (Python
   version, build dependencies, dependencies and the requirement files they name),
   ``mlflow.utils.virtualenv._get_virtualenv_name``; it lives under ``env_root/<manager>/``.
2. Builders of the same environment take a file lock, so two runs never build it twice.
3. An environment counts as built only once its ready-stamp is written, after the last
   install; a half-built one (an interrupted install) is removed and built again.

Every tool is checked before the run is created (:func:`check_tools`), so a missing
conda, docker, uv or Python version is a clear error and nothing is half started.
MLflow installs a project's Python version with pyenv (which downloads it); here the
interpreter must already exist: this one, ``pythonX.Y`` on ``PATH``, or uv's.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runstream.errors import ProjectEnvError, ProjectError
from runstream.projects.spec import Project

MANAGERS = ("local", "virtualenv", "uv", "conda")
READY = ".runstream-ready"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Environment:
    """A ready environment: how to run a command in it.

    Attributes:
        manager: ``local``, ``virtualenv``, ``uv`` or ``conda``.
        prefix: shell text run before the command (conda's activation).
        env: variables to set for the command (``PATH``, ``VIRTUAL_ENV``).
        location: the environment's folder (None for ``local``).
        built: True when this call built it, False when it was reused.
    """

    manager: str
    prefix: str = ""
    env: dict[str, str] = field(default_factory=dict)
    location: Path | None = None
    built: bool = False


def choose_manager(project: Project, requested: str | None) -> str:
    """The env manager to use (see the module docstring).

    Raises:
        ProjectError: an unknown manager, or conda for a ``python_env`` project.
    """
    if requested is not None and requested not in MANAGERS:
        raise ProjectError(f"--env-manager {requested!r}: choose one of {', '.join(MANAGERS)}")
    if project.docker_image:
        return "docker"
    if requested is not None:
        if requested == "conda" and project.env_type == "python_env" and project.env_file:
            raise ProjectError(
                "a python_env project cannot run with conda: use --env-manager "
                "virtualenv, uv or local"
            )
        return requested
    if project.env_file is None:
        return "local"
    return "conda" if project.env_type == "conda_env" else "virtualenv"


def check_tools(manager: str, project: Project, build_image: bool) -> None:
    """Fails, naming the tool, when what ``manager`` needs is not installed.

    Raises:
        ProjectEnvError: docker (or its daemon), conda, uv or the Python version is missing.
    """
    if manager == "docker" or build_image:
        _check_docker()
    elif manager == "conda":
        _conda_binary()
    elif manager == "uv":
        uv_binary()
    elif manager == "virtualenv":
        _python_for(_python_env(project).python)


def prepare(manager: str, project: Project, env_root: Path) -> Environment:
    """Builds (or reuses) the environment; see the module docstring for the steps.

    Raises:
        ProjectEnvError: creating the environment or installing a dependency failed.
    """
    if manager == "local":
        # "python" in the command is the interpreter Runstream itself runs on.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return Environment("local", env={"PATH": path})
    if manager == "conda":
        return _conda(project)
    python_env = _python_env(project)
    from mlflow.utils.virtualenv import _get_virtualenv_name

    # 1. the name is the content hash
    env_dir = env_root / manager / str(_get_virtualenv_name(python_env, project.work_dir))
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    variables = {
        "VIRTUAL_ENV": str(env_dir),
        "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # 2. one builder at a time
    with open(env_dir.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (env_dir / READY).exists():
            return Environment(manager, env=variables, location=env_dir, built=False)
        # 3. a half-built environment is built again
        shutil.rmtree(env_dir, ignore_errors=True)
        try:
            _build(manager, python_env, env_dir, project.work_dir)
        except BaseException:
            shutil.rmtree(env_dir, ignore_errors=True)
            raise
        (env_dir / READY).write_text(str(python_env))
    return Environment(manager, env=variables, location=env_dir, built=True)


def _build(manager: str, python_env: Any, env_dir: Path, work_dir: Path) -> None:
    python = _python_for(python_env.python)
    print(f"runstream: building the {manager} environment {env_dir} ...", file=sys.stderr)
    if manager == "uv":
        uv = uv_binary()
        _exec([uv, "venv", "--quiet", "--python", python, str(env_dir)], work_dir)
        install = [uv, "pip", "install", "--quiet", "--python", str(env_dir / "bin" / "python")]
    else:
        _exec([python, "-m", "venv", str(env_dir)], work_dir)
        install = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    for requirements in (python_env.build_dependencies, python_env.dependencies):
        if requirements:
            # Lines such as "-r requirements.txt" resolve against the project folder.
            listed = env_dir / "requirements.runstream.txt"
            listed.write_text("\n".join(requirements) + "\n")
            _exec([*install, "-r", str(listed)], work_dir)


def _exec(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        raise ProjectEnvError(f"`{' '.join(argv)}` failed (exit {done.returncode}):\n{tail}")


def _python_env(project: Project) -> Any:
    from mlflow.utils.environment import _PythonEnv

    try:
        if project.env_file is None:
            return _PythonEnv()
        if project.env_type == "conda_env":
            return _PythonEnv.from_conda_yaml(str(project.env_file))
        return _PythonEnv.from_yaml(str(project.env_file))
    except (OSError, TypeError, ValueError, AttributeError) as exc:
        raise ProjectError(f"{project.env_file}: not a valid environment file: {exc}") from exc


def _python_for(version: str) -> str:
    """An interpreter of ``version`` (major.minor must match) already on this machine."""
    wanted = tuple(int(part) for part in str(version).split(".")[:2] if part.isdigit())
    if wanted == sys.version_info[:2]:
        return sys.executable
    found = shutil.which(f"python{'.'.join(map(str, wanted))}")
    if found:
        return found
    raise ProjectEnvError(
        f"the project wants Python {version}, which is not installed here (runstream uses "
        f"an existing interpreter, python{'.'.join(map(str, wanted))} on PATH; MLflow "
        "would install it with pyenv). Install it, or run with --env-manager local"
    )


def uv_binary() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,import-untyped,unused-ignore]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise ProjectEnvError(
            "--env-manager uv needs uv, which is not installed: pip install 'runstream[projects]' "
            "(or uv), or choose --env-manager virtualenv"
        ) from None


def _conda_binary() -> str:
    from mlflow.utils.conda import get_conda_bin_executable

    conda = str(get_conda_bin_executable("conda"))
    found = shutil.which(conda)
    if not found:
        raise ProjectEnvError(
            f"this project needs conda ({conda!r} not found; set MLFLOW_CONDA_HOME to its "
            "installation), or run it with --env-manager virtualenv, uv or local"
        )
    return found


def _conda(project: Project) -> Environment:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.conda import get_or_create_conda_env

    _conda_binary()
    try:
        conda_env = get_or_create_conda_env(str(project.env_file))
    except MlflowException as exc:
        raise ProjectEnvError(f"conda environment: {exc.message}") from exc
    return Environment("conda", prefix=" && ".join(conda_env.get_activate_command()) + " && ")


DOCKER_INFO_TIMEOUT_S = 20.0


def _check_docker() -> None:
    if shutil.which("docker") is None:
        raise ProjectEnvError(
            "this project has a docker_env (or --build-image was given): docker is not "
            "installed; install it, or drop docker_env from the MLproject file"
        )
    try:
        done = subprocess.run(
            ["docker", "info"],
            capture_output=True,
            text=True,
            check=False,
            timeout=DOCKER_INFO_TIMEOUT_S,
        )
        said = f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}"
        reachable = done.returncode == 0
    except subprocess.TimeoutExpired:
        said = f"no answer in {DOCKER_INFO_TIMEOUT_S:.0f} s"
        reachable = False
    if not reachable:
        raise ProjectEnvError(
            "this project has a docker_env (or --build-image was given): docker is "
            f"installed, but the docker engine is not reachable (`docker info` {said}); "
            "start it or set DOCKER_HOST"
        )
    raise ProjectEnvError(
        "docker projects are not run by `runstream run` yet (docker is installed); "
        "run the image yourself with MLFLOW_RUN_ID / MLFLOW_TRACKING_URI set"
    )


__all__ = ["MANAGERS", "Environment", "check_tools", "choose_manager", "prepare", "uv_binary"]
