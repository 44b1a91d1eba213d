"""``runstream.sklearn``: the scikit-learn flavor, as ``mlflow.sklearn``."""

from runstream.sdk.sklearn import load_model, log_model, save_model

__all__ = ["load_model", "log_model", "save_model"]
