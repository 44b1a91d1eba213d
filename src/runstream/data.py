"""``runstream.data``: datasets for ``log_input``, made by MLflow's own ``mlflow.data``.

``runstream.data.from_pandas(df, source=..., targets=..., name=...)``,
``from_numpy``, ``from_spark``, ``from_huggingface``, ``from_tensorflow``,
``meta_dataset`` and the classes ``Dataset``, ``DatasetSource`` are MLflow's,
so digests, schemas and profiles are exactly those MLflow computes. Needs the
extra ``runstream[models]`` (MLflow) and the dataset's own library (pandas, ...);
MLflow is imported on first use of one of these names.
"""

from __future__ import annotations

from typing import Any

from runstream.sdk.mlflow_models import require

_NAMES = (
    "Dataset",
    "DatasetSource",
    "from_huggingface",
    "from_numpy",
    "from_pandas",
    "from_spark",
    "from_tensorflow",
    "get_source",
    "meta_dataset",
)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'runstream.data' has no attribute {name!r}")
    return getattr(require("mlflow.data"), name)


def __dir__() -> list[str]:
    return sorted(_NAMES)


__all__ = list(_NAMES)
