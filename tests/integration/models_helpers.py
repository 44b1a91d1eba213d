"""Small models of each tested flavor, trained in well under a second on the wine data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

FlavorCase = tuple[str, Callable[[Any, Any], Any], dict[str, Any]]


def wine() -> tuple[Any, Any]:
    """The wine data as a DataFrame (column names without '/') and its labels."""
    import pandas as pd
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    data = load_wine()
    names = [n.replace("/", "_") for n in data.feature_names]
    return pd.DataFrame(data.data, columns=names), data.target


def sklearn_model(x: Any, y: Any) -> Any:
    """A logistic regression on scaled inputs (saved as skops, MLflow's default)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x, y)


def xgboost_model(x: Any, y: Any) -> Any:
    """A small XGBoost classifier."""
    import xgboost

    return xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(x, y)


def lightgbm_model(x: Any, y: Any) -> Any:
    """A small LightGBM classifier."""
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(x, y)


def onnx_model(x: Any, y: Any) -> Any:
    """The scikit-learn model converted to ONNX (float inputs in one tensor)."""
    from skl2onnx import to_onnx  # type: ignore[import-untyped]

    floats = x.to_numpy(dtype=np.float32)
    return to_onnx(sklearn_model(floats, y), floats[:1], target_opset=17)


FLAVORS: dict[str, Callable[[Any, Any], Any]] = {
    "sklearn": sklearn_model,
    "xgboost": xgboost_model,
    "lightgbm": lightgbm_model,
    "onnx": onnx_model,
}
REQUIREMENTS = {
    "sklearn": ["scikit-learn", "skops"],
    "xgboost": ["xgboost"],
    "lightgbm": ["lightgbm"],
    "onnx": ["onnx", "onnxruntime"],
}


def labels(flavor: str, predictions: Any) -> Any:
    """Predicted labels from what a flavor's pyfunc returns."""
    import pandas as pd

    if isinstance(predictions, dict):  # ONNX: one array per output, labels first
        predictions = next(iter(predictions.values()))
    if isinstance(predictions, pd.DataFrame):
        return predictions.iloc[:, 0].to_numpy()
    return np.asarray(predictions).reshape(len(predictions), -1)[:, 0]


def model_input(flavor: str, x: Any) -> Any:
    """What the flavor's pyfunc takes: a DataFrame, or one float tensor for ONNX."""
    return x.to_numpy(dtype=np.float32) if flavor == "onnx" else x
