"""``runstream models generate-dockerfile``: a Docker build context that serves one model.

The context holds the model folder (``model_dir/``), Runstream's source when run from
a checkout (``runstream-src/``), and a ``Dockerfile`` that installs the model's own
``requirements.txt`` (MLflow's), then Runstream with ``[models]``, and runs
``runstream models serve`` on the model. Building needs a Docker engine; writing
the context does not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from runstream.config import Settings
from runstream.serving.packaging import model_python, source_checkout

MODEL_DIR = "model_dir"
SOURCE_DIR = "runstream-src"


def dockerfile_text(python: str, from_source: bool, port: int) -> str:
    """The Dockerfile of a context (see the module docstring)."""
    install = (
        f"COPY {SOURCE_DIR} /opt/runstream-src\n"
        "RUN pip install --no-cache-dir '/opt/runstream-src[models]'\n"
        if from_source
        else "RUN pip install --no-cache-dir 'runstream[models]'\n"
    )
    return (
        f"FROM python:{python}-slim\n"
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1\n"
        f"COPY {MODEL_DIR} /opt/ml/model\n"
        "RUN pip install --no-cache-dir -r /opt/ml/model/requirements.txt\n"
        f"{install}"
        f"EXPOSE {port}\n"
        'ENTRYPOINT ["runstream", "models", "serve", "-m", "/opt/ml/model", '
        f'"--host", "0.0.0.0", "-p", "{port}"]\n'
    )


def write_context(model_uri: str, out: Path, settings: Settings, *, port: int = 8080) -> Path:
    """Downloads the model into ``out`` and writes the Dockerfile; returns ``out``.

    Raises:
        ValidationError: ``out`` exists and is not empty.
    """
    from runstream.errors import ValidationError
    from runstream.sdk.client import RunstreamClient
    from runstream.sdk.models import download_model

    if out.exists() and any(out.iterdir()):
        raise ValidationError(f"{out} is not empty; choose a new --output-directory")
    out.mkdir(parents=True, exist_ok=True)
    client = RunstreamClient(settings=settings)
    try:
        folder = download_model(client, model_uri, out / MODEL_DIR)
    finally:
        client.close(5.0)
    if folder != out / MODEL_DIR:  # a local folder is used in place: copy it in
        shutil.copytree(folder, out / MODEL_DIR, dirs_exist_ok=True)
    checkout = source_checkout()
    if checkout is not None:
        (out / SOURCE_DIR).mkdir()
        shutil.copy2(checkout / "pyproject.toml", out / SOURCE_DIR / "pyproject.toml")
        if (checkout / "README.md").is_file():
            shutil.copy2(checkout / "README.md", out / SOURCE_DIR / "README.md")
        shutil.copytree(
            checkout / "src", out / SOURCE_DIR / "src",
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
    python = model_python(out / MODEL_DIR)
    (out / "Dockerfile").write_text(dockerfile_text(python, checkout is not None, port))
    (out / ".dockerignore").write_text("**/__pycache__\n")
    return out


__all__ = ["MODEL_DIR", "SOURCE_DIR", "dockerfile_text", "write_context"]
