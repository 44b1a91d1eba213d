"""Models saved to local folders and an in-memory registry for in-process serving tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import runstream as mlflow
from runstream.serving.targets import Resolution


def wine_frame() -> tuple[Any, Any]:
    """The wine data (column names without '/') and its labels."""
    import pandas as pd
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    data = load_wine()
    names = [n.replace("/", "_") for n in data.feature_names]
    return pd.DataFrame(data.data, columns=names), data.target


def save_sklearn(folder: Path) -> Any:
    """A fitted pipeline saved with MLflow's sklearn flavor (signature from an example)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    x, y = wine_frame()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x, y)
    mlflow.sklearn.save_model(
        model, folder, input_example=x.head(2), pip_requirements=["scikit-learn", "skops"]
    )
    return model


class Sleepy(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Sleeps as many seconds as its input's first value, then echoes it."""

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        seconds = float(model_input.iloc[0, 0])
        time.sleep(seconds)
        return [seconds]


def save_sleepy(folder: Path) -> None:
    """A pyfunc model whose predict sleeps (for the timeout test)."""
    import pandas as pd

    mlflow.pyfunc.save_model(
        folder,
        python_model=Sleepy(),
        input_example=pd.DataFrame({"sleep": [0.0]}),
        pip_requirements=["pandas"],
    )


class FolderRegistry:
    """A real, in-memory registry: ``models:/name@alias`` -> a version -> a local folder."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # URI -> version
        self.sources: dict[str, str] = {}  # version -> folder

    def resolve(self, uri: str) -> Resolution | None:
        version = self.names.get(uri)
        if version is None:
            return None
        return Resolution(uri.split("/")[1].split("@")[0], version, self.sources[version])

    def fetch(self, uri: str, dest: Path) -> Path:
        folder = Path(uri)
        if not (folder / "MLmodel").is_file():
            raise FileNotFoundError(f"{folder} has no MLmodel")
        return folder
