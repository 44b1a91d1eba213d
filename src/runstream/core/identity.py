"""Deterministic ids: one experiment name, one experiment id, whoever creates it.

Runstream has no server that hands out experiment ids: the SDK and the MLflow write
gateway publish ``experiment.created`` themselves. Two writers that create the same
name at the same moment must publish the *same* id, so that the second event is a
harmless duplicate rather than a second experiment: the id is the hex of a UUIDv5
of the name in a fixed Runstream namespace. Experiment ``"0"`` named ``Default``
exists implicitly (as in MLflow) and is never created.
"""

from __future__ import annotations

import uuid
from typing import Final

DEFAULT_EXPERIMENT_ID: Final = "0"
DEFAULT_EXPERIMENT_NAME: Final = "Default"

# Fixed forever: changing it would give every experiment name a new id.
EXPERIMENT_NAMESPACE: Final = uuid.UUID("5f1d3a52-8c3e-4f0b-9d57-2b7c0f4e9a61")


def experiment_id_for(name: str) -> str:
    """The deterministic id of an experiment name (32 lowercase hex; ``"0"`` for Default)."""
    if name == DEFAULT_EXPERIMENT_NAME:
        return DEFAULT_EXPERIMENT_ID
    return uuid.uuid5(EXPERIMENT_NAMESPACE, name).hex


__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "EXPERIMENT_NAMESPACE",
    "experiment_id_for",
]
