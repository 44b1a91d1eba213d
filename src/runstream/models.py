"""``runstream.models``: MLflow's ``mlflow.models`` names (``Model``, ``infer_signature``, ...).

Signatures, input examples and the ``MLmodel`` file are MLflow's own; this module
only makes them reachable as ``runstream.models.X`` (``import runstream as mlflow``
keeps working). Needs ``runstream[models]``; imported on first use of a name.
"""

from __future__ import annotations

from typing import Any

from runstream.sdk.mlflow_models import require

_NAMES = (
    "Model",
    "ModelInputExample",
    "ModelSignature",
    "infer_signature",
    "set_signature",
    "validate_schema",
    "validate_serving_input",
)


def __getattr__(name: str) -> Any:
    """Returns ``mlflow.models.<name>`` (imported on first use)."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return getattr(require("mlflow.models"), name)
    except AttributeError:
        raise AttributeError(f"module 'runstream.models' has no attribute {name!r}") from None


__all__ = sorted(_NAMES)
