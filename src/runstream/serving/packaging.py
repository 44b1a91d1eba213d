"""How Runstream itself gets installed somewhere else (a Docker image, a model's venv).

From a source checkout (an editable install), the project folder is the spec; from
an installed distribution, ``runstream[models]==<version>``.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[3]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRAS = re.compile(r"^\s*\[[^\]]*\]")


def source_checkout() -> Path | None:
    """The project folder when Runstream runs from a checkout, else None."""
    if (PROJECT / "pyproject.toml").is_file() and (PROJECT / "src" / "runstream").is_dir():
        return PROJECT
    return None


def runstream_spec() -> str:
    """What ``pip install`` takes to install this Runstream with the models extra."""
    checkout = source_checkout()
    if checkout is not None:
        return f"{checkout}[models]"
    try:
        return f"runstream[models]=={version('runstream')}"
    except PackageNotFoundError:
        return "runstream[models]"


def model_requirements(folder: Path) -> list[str]:
    """The model's ``requirements.txt`` lines (MLflow wrote them), without comments."""
    file = folder / "requirements.txt"
    if not file.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def serving_requirements(folder: Path) -> list[str]:
    """The model's requirements as a server installs them beside Runstream.

    MLflow writes ``mlflow==<version>``, the full distribution, into every model's
    requirements. The server needs only MLflow's flavor code, which ``mlflow-skinny``
    (in ``runstream[models]``) carries, and full ``mlflow`` 3.17 pins ``pyarrow<26``,
    which Runstream's ``pyarrow~=26`` excludes (an install of both has no solution):
    that line becomes ``mlflow-skinny`` with the same version.
    """
    lines = []
    for line in model_requirements(folder):
        name = _NAME.match(line)
        if name and name.group(0).lower() == "mlflow":
            line = "mlflow-skinny" + _EXTRAS.sub("", line[name.end() :], count=1)
        lines.append(line)
    return lines


def model_python(folder: Path, default: str = "3.11") -> str:
    """``major.minor`` of the Python the model was saved with (``python_env.yaml``)."""
    file = folder / "python_env.yaml"
    if file.is_file():
        data = yaml.safe_load(file.read_text()) or {}
        parts = str(data.get("python", "")).split(".")
        if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]):
            return ".".join(parts[:2])
    return default


__all__ = [
    "model_python",
    "model_requirements",
    "runstream_spec",
    "serving_requirements",
    "source_checkout",
]
