"""``--env-manager virtualenv|uv``: serve from a venv holding the model's own requirements.

1. The models are downloaded once here, and their ``requirements.txt`` (MLflow's) read.
2. A venv keyed by those requirements (and this Runstream) is made under
   ``<home>/envs/`` with ``python -m venv`` or ``uv venv``, and the requirements and
   Runstream with ``[models]`` installed into it; an existing one is reused.
3. This process is replaced by the same ``runstream models serve`` command in that
   venv, with ``--env-manager local``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from runstream.config import Settings
from runstream.errors import ConfigError
from runstream.serving.packaging import model_requirements, runstream_spec


def _requirements(options: Any, settings: Settings) -> list[str]:
    from runstream.sdk.client import RunstreamClient
    from runstream.sdk.models import download_model

    client = RunstreamClient(settings=settings)
    found: list[str] = []
    try:
        for uri, _ in options.targets:
            dest = Path(tempfile.mkdtemp(prefix="runstream-env-"))
            for line in model_requirements(download_model(client, uri, dest)):
                if line not in found:
                    found.append(line)
    finally:
        client.close(5.0)
    return found


def install_commands(manager: str, env: Path, requirements: list[str]) -> list[list[str]]:
    """The commands that create ``env`` and install into it (steps 2 of the contract)."""
    python = str(env / "bin" / "python")
    spec = runstream_spec()
    if manager == "uv":
        uv = shutil.which("uv")
        if uv is None:
            raise ConfigError("--env-manager uv needs the uv binary on PATH (pip install uv)")
        return [
            [uv, "venv", "--python", sys.executable, str(env)],
            [uv, "pip", "install", "--python", python, *requirements, spec],
        ]
    return [
        [sys.executable, "-m", "venv", str(env)],
        [python, "-m", "pip", "install", "--quiet", *requirements, spec],
    ]


def env_folder(settings: Settings, manager: str, requirements: list[str]) -> Path:
    """Where the venv for these requirements lives."""
    key = hashlib.sha256("\n".join([manager, runstream_spec(), *requirements]).encode())
    return settings.home / "envs" / key.hexdigest()[:16]


def reexec_in_env(manager: str, options: Any, settings: Settings, argv: list[str]) -> int:
    """Builds (or reuses) the venv and runs the serve command in it (never returns on success)."""
    requirements = _requirements(options, settings)
    env = env_folder(settings, manager, requirements)
    stamp = env / ".runstream-installed"
    if not stamp.exists():
        for command in install_commands(manager, env, requirements):
            subprocess.run(command, check=True)
        stamp.write_text("\n".join(requirements))
    args = list(argv)
    at = args.index("--env-manager") if "--env-manager" in args else -1
    if at >= 0:
        args[at + 1] = "local"
    python = str(env / "bin" / "python")
    os.execv(python, [python, "-m", "runstream.cli.main", *args])
    return 0  # pragma: no cover


__all__ = ["env_folder", "install_commands", "reexec_in_env"]
