"""Each flavor's package is imported only when used, and a missing one is named.

Every check runs in a fresh interpreter: what is imported, and what is missing
(``sys.modules[name] = None`` makes an import fail as if the package were absent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import yaml

FLAVOR_PACKAGES = {
    "pytorch": "torch",
    "tensorflow": "tensorflow",
    "keras": "keras",
    "transformers": "transformers",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "onnx": "onnx",
}


def _python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_no_flavor_package_is_imported_until_a_model_is_used() -> None:
    code = (
        "import sys, json\n"
        "import runstream\n"
        f"for flavor in {sorted(FLAVOR_PACKAGES)!r}:\n"
        "    getattr(runstream, flavor).FLAVOR\n"
        "runstream.pyfunc.FLAVOR\n"
        f"heavy = {sorted({*FLAVOR_PACKAGES.values(), 'mlflow', 'sklearn'})!r}\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    assert json.loads(_python(code)) == []


def _model_folder(folder: Path, flavor: str) -> Path:
    """An ``MLmodel`` as MLflow writes it for the flavor (the model files do not matter here)."""
    folder.mkdir(parents=True)
    pyfunc = {"loader_module": f"mlflow.{flavor}", "python_version": "3.11"}
    if flavor != "transformers":  # its loader reads the flavor's options from the root
        pyfunc["data"] = "data"
    conf = {
        "flavors": {"python_function": pyfunc, flavor: {"data": "data", "model_data": "data"}},
        "mlflow_version": "3.17.2",
    }
    (folder / "MLmodel").write_text(yaml.safe_dump(conf))
    (folder / "data").mkdir()
    return folder


def test_a_missing_flavor_package_is_named_on_save_and_on_load(tmp_path: Path) -> None:
    flavors = ["pytorch", "tensorflow", "keras", "transformers"]
    folders = {f: str(_model_folder(tmp_path / f, f)) for f in flavors}
    code = (
        "import json, sys\n"
        f"for name in {[FLAVOR_PACKAGES[f] for f in flavors]!r}:\n"
        "    sys.modules[name] = None\n"
        "import runstream\n"
        "from runstream.errors import ExtraMissingError\n"
        "said = {}\n"
        f"for flavor, folder in {folders!r}.items():\n"
        "    try:\n"
        "        getattr(runstream, flavor).save_model(object(), folder + '-saved')\n"
        "    except ExtraMissingError as exc:\n"
        "        said[flavor + ' save'] = str(exc)\n"
        "    try:\n"
        "        runstream.pyfunc.load_model(folder)\n"
        "    except ExtraMissingError as exc:\n"
        "        said[flavor + ' load'] = str(exc)\n"
        "print(json.dumps(said))\n"
    )
    said = json.loads(_python(code))
    for flavor in flavors:
        package = FLAVOR_PACKAGES[flavor]
        for step in ("save", "load"):
            message = said.get(f"{flavor} {step}", "")
            assert f"needs the {package!r} package" in message, (flavor, step, message)
            assert f"pip install {package}" in message, message


def test_a_keras_model_is_loaded_on_the_backend_it_was_saved_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runstream.sdk.mlflow_models import use_saved_keras_backend

    saved_on_torch = SimpleNamespace(flavors={"keras": {"keras_backend": "torch"}})
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    use_saved_keras_backend(saved_on_torch)
    assert os.environ["KERAS_BACKEND"] == "torch"
    # A backend the user chose, or a Keras already imported (its backend fixed), stays.
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    use_saved_keras_backend(saved_on_torch)
    assert os.environ["KERAS_BACKEND"] == "jax"
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setitem(sys.modules, "keras", ModuleType("keras"))
    use_saved_keras_backend(saved_on_torch)
    assert "KERAS_BACKEND" not in os.environ
    monkeypatch.delitem(sys.modules, "keras")
    use_saved_keras_backend(SimpleNamespace(flavors={"sklearn": {}}))
    assert "KERAS_BACKEND" not in os.environ
