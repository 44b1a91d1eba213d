"""The wine dataset (shipped with scikit-learn), split the same way by every entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]


def split(seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Feature names and a stratified 70/30 split: x_train, x_test, y_train, y_test."""
    wine = load_wine()
    x_train, x_test, y_train, y_test = train_test_split(
        wine.data, wine.target, test_size=0.3, random_state=seed, stratify=wine.target
    )
    return list(wine.feature_names), x_train, x_test, y_train, y_test


def as_frame(names: list[str], x: np.ndarray) -> pd.DataFrame:
    """Model input: one column per feature."""
    return pd.DataFrame(x, columns=names)
