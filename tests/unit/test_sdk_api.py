"""The public surface: MLflow's names at module level, and a cheap ``import runstream``."""

from __future__ import annotations

import subprocess
import sys

import runstream


def test_import_runstream_loads_no_heavy_library() -> None:
    code = (
        "import sys, runstream; "
        "heavy = {'aiokafka', 'pydantic', 'httpx', 'minio', 'numpy', 'runstream.sdk'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_sdk_does_not_load_aiokafka_before_the_first_event() -> None:
    code = (
        "import sys, runstream as mlflow; "
        "mlflow.log_metric; mlflow.sklearn; mlflow.RunstreamClient; "
        "print('aiokafka' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert runstream.__all__ == sorted(runstream.__all__)
    for name in runstream.__all__:
        assert getattr(runstream, name) is not None, name
    assert runstream.MlflowClient is runstream.RunstreamClient


def test_mlflow_fluent_names_exist() -> None:
    names = [
        "set_tracking_uri",
        "get_tracking_uri",
        "set_experiment",
        "create_experiment",
        "start_run",
        "active_run",
        "last_active_run",
        "end_run",
        "log_param",
        "log_params",
        "log_metric",
        "log_metrics",
        "set_tag",
        "set_tags",
        "delete_tag",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_figure",
        "register_model",
    ]
    missing = [n for n in names if not callable(getattr(runstream, n, None))]
    assert missing == []
    assert callable(runstream.sklearn.log_model) and callable(runstream.pyfunc.load_model)


def test_the_lazy_export_lists_agree() -> None:
    """``runstream/__init__.py`` names the fluent API three times (typing imports, the
    lazy table, ``__all__``) so that ``import runstream`` stays cheap and typed; this
    keeps the copies from drifting apart."""
    from runstream.sdk import fluent, fluent_artifacts, fluent_reads

    assert set(runstream._FLUENT) == set(fluent.__all__)
    assert set(runstream._FLUENT_ARTIFACTS) == set(fluent_artifacts.__all__)
    assert set(runstream._FLUENT_READS) == set(fluent_reads.__all__)
    exported = {*runstream._LAZY, "MlflowClient", *runstream._SUBMODULES}
    assert set(runstream.__all__) == exported
