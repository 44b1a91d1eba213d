"""``--env-manager virtualenv|uv``: serve from a venv holding the model's own requirements.

1. The models are downloaded once here, and their ``requirements.txt`` (MLflow's) read,
   ``mlflow`` taken as ``mlflow-skinny`` (:func:`.packaging.serving_requirements`).
2. The venv's name is a content hash of the manager, the Python version, Runstream's
   install spec and those requirements; it lives under ``<home>/envs/``.
3. Builders of the same venv take a file lock, so two servers starting together
   never build it twice; a venv counts as built only once its ready-stamp is written,
   after the last install, and a half-built one is removed and built again.
4. The venv is made with ``python -m venv`` or ``uv venv``, and the requirements and
   Runstream with ``[models]`` installed into it; a built one is reused as it is.
5. This process is replaced by the same ``runstream models serve`` command in that
   venv, with ``--env-manager local``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from runstream.config import Settings
from runstream.errors import ProjectEnvError
from runstream.serving.packaging import runstream_spec, serving_requirements

READY = ".runstream-installed"


def _requirements(options: Any, settings: Settings) -> list[str]:
    from runstream.sdk.client import RunstreamClient
    from runstream.sdk.models import download_model

    client = RunstreamClient(settings=settings)
    found: list[str] = []
    try:
        for uri, _ in options.targets:
            with tempfile.TemporaryDirectory(prefix="runstream-env-") as tmp:
                for line in serving_requirements(download_model(client, uri, Path(tmp))):
                    if line not in found:
                        found.append(line)
    finally:
        client.close(5.0)
    return found


def install_commands(manager: str, env: Path, requirements: list[str]) -> list[list[str]]:
    """The commands that create ``env`` and install into it (step 4 of the contract)."""
    python = str(env / "bin" / "python")
    spec = runstream_spec()
    if manager == "uv":
        from runstream.projects.envs import uv_binary

        uv = uv_binary()
        return [
            [uv, "venv", "--quiet", "--python", sys.executable, str(env)],
            [uv, "pip", "install", "--quiet", "--python", python, *requirements, spec],
        ]
    return [
        [sys.executable, "-m", "venv", str(env)],
        [python, "-m", "pip", "install", "--quiet", *requirements, spec],
    ]


def env_folder(settings: Settings, manager: str, requirements: list[str]) -> Path:
    """Where the venv for these requirements lives (step 2 of the contract)."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256("\n".join([manager, python, runstream_spec(), *requirements]).encode())
    return settings.home / "envs" / key.hexdigest()[:16]


def prepare_env(manager: str, env: Path, requirements: list[str]) -> bool:
    """Builds the venv unless it is built (steps 3 and 4); True when it was built now.

    Raises:
        ProjectEnvError: a command failed (its output's tail is in the message), or uv
            is missing for ``--env-manager uv``.
    """
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(env.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (env / READY).exists():
            print(f"runstream: reusing the {manager} environment {env}", file=sys.stderr)
            return False
        shutil.rmtree(env, ignore_errors=True)
        shown = ", ".join(requirements) or "no requirements"
        print(
            f"runstream: building the {manager} environment {env} ({shown}) ...",
            file=sys.stderr,
            flush=True,
        )
        try:
            for command in install_commands(manager, env, requirements):
                _run(command)
        except BaseException:
            shutil.rmtree(env, ignore_errors=True)
            raise
        (env / READY).write_text("\n".join(requirements) + "\n")
    return True


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        raise ProjectEnvError(f"`{' '.join(argv)}` failed (exit {done.returncode}):\n{tail}")


def reexec_in_env(manager: str, options: Any, settings: Settings, argv: list[str]) -> int:
    """Builds (or reuses) the venv and runs the serve command in it (never returns on success).

    Raises:
        ProjectEnvError: the venv could not be built.
    """
    requirements = _requirements(options, settings)
    env = env_folder(settings, manager, requirements)
    prepare_env(manager, env, requirements)
    python = str(env / "bin" / "python")
    os.execv(python, [python, "-m", "runstream.cli.main", *local_argv(argv)])
    return 0  # pragma: no cover


def local_argv(argv: list[str]) -> list[str]:
    """The same command line with ``--env-manager local`` (step 5 of the contract)."""
    args: list[str] = []
    rest = iter(argv)
    for arg in rest:
        if arg == "--env-manager":
            next(rest, None)
        elif not arg.startswith("--env-manager="):
            args.append(arg)
            continue
        args += ["--env-manager", "local"]
    return args


__all__ = [
    "READY",
    "env_folder",
    "install_commands",
    "local_argv",
    "prepare_env",
    "reexec_in_env",
]
