"""``runstream models serve`` as a user runs it, following the real registry.

One server process serves ``models:/wine-serve@champion``; while a client streams
requests at it, the alias moves to version 2 (another model), then to a version
whose files do not exist. No request may fail, version 2 must answer within a few
seconds of the alias change, and the broken version must never answer. Also
``runstream models predict`` and ``generate-dockerfile`` on the same registry.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from models_helpers import sklearn_model, wine
from models_server import serve, server_env, start

import runstream as mlflow
from runstream.config import Settings
from runstream.sdk.client import RunstreamClient

NAME = "wine-serve"
REQS = ["scikit-learn", "skops"]


@pytest.fixture
def client(sdk_settings_client: RunstreamClient) -> RunstreamClient:
    return sdk_settings_client


def _log_version(client: RunstreamClient, model: Any, x: Any, name: str = NAME) -> int:
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=x.head(2), pip_requirements=REQS,
            registered_model_name=name, await_registration_for=120,
        )
    return int(info.registered_model_version)


def _wait_alias(client: RunstreamClient, version: int, name: str = NAME) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = client.resolve_model_uri(f"models:/{name}@champion")
        if found is not None and found.version == version:
            return
        time.sleep(0.2)
    raise AssertionError(f"alias never reached version {version}")


@pytest.mark.timeout(600)  # about 150 s on a quiet machine; three CLI processes
def test_the_server_follows_the_alias_under_load(
    running_apps: Settings, client: RunstreamClient, tmp_path: Path
) -> None:
    from sklearn.dummy import DummyClassifier  # type: ignore[import-untyped]

    x, y = wine()
    assert _log_version(client, sklearn_model(x, y), x) == 1
    client.set_registered_model_alias(NAME, "champion", 1)
    client.flush(30)
    _wait_alias(client, 1)
    server = serve(running_apps, "-m", f"models:/{NAME}@champion")
    url = server.url
    try:
        body = {"dataframe_split": {"columns": list(x.columns), "data": x.head(3).values.tolist()}}
        statuses: Counter[int] = Counter()
        versions: list[tuple[float, str]] = []
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                while not stop.is_set():
                    answer = http.post("/invocations", json=body)
                    statuses[answer.status_code] += 1
                    versions.append((time.monotonic(), answer.headers["x-runstream-model-version"]))

        streams = [threading.Thread(target=stream) for _ in range(2)]
        for s in streams:
            s.start()
        time.sleep(1.0)
        constant = DummyClassifier(strategy="constant", constant=2).fit(x, y)
        assert _log_version(client, constant, x) == 2
        client.set_registered_model_alias(NAME, "champion", 2)
        client.flush(30)
        _wait_alias(client, 2)
        moved = time.monotonic()
        deadline = moved + 30
        while time.monotonic() < deadline and not (versions and versions[-1][1] == "2"):
            time.sleep(0.1)
        swapped = next((t for t, v in versions if v == "2" and t >= moved - 5), None)
        # A version whose files are missing: the alias moves, version 2 keeps answering.
        broken = client.create_model_version(NAME, f"s3://{running_apps.artifacts_bucket}/none/x",
                                             await_creation_for=120)
        client.set_registered_model_alias(NAME, "champion", broken.version)
        client.flush(30)
        _wait_alias(client, int(broken.version))
        time.sleep(2.0)
        stop.set()
        for s in streams:
            s.join(30)
        assert swapped is not None and swapped - moved < 10, "version 2 never answered"
        assert set(statuses) == {200}, statuses
        assert {v for _, v in versions} == {"1", "2"}
        answer = httpx.post(f"{url}/invocations", json=body, timeout=30)
        assert answer.json() == {"predictions": [2, 2, 2]}
        assert httpx.get(f"{url}/version").json()["models"][0]["version"] == "2"
        metrics = httpx.get(f"{url}/metrics").text
        assert 'version="1",status="200"' in metrics and 'version="2",status="200"' in metrics
    finally:
        server.stop()

    # The same registry from the other two commands.
    request = tmp_path / "request.json"
    request.write_text(httpx.Request("POST", "/", json=body).content.decode())
    predict = subprocess.run(
        [sys.executable, "-m", "runstream.cli.main", "models", "predict", "-m",
         f"models:/{NAME}/1", "-i", str(request)],
        env=server_env(running_apps), capture_output=True, text=True, timeout=180,
    )
    assert predict.returncode == 0, predict.stderr[-2000:]
    assert '"predictions"' in predict.stdout
    context = tmp_path / "docker"
    built = subprocess.run(
        [sys.executable, "-m", "runstream.cli.main", "models", "generate-dockerfile", "-m",
         f"models:/{NAME}/2", "-d", str(context)],
        env=server_env(running_apps), capture_output=True, text=True, timeout=180,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install --no-cache-dir -r /opt/ml/model/requirements.txt" in dockerfile
    assert '"runstream", "models", "serve", "-m", "/opt/ml/model"' in dockerfile
    assert (context / "model_dir" / "MLmodel").is_file()
    assert "scikit-learn" in (context / "model_dir" / "requirements.txt").read_text()
    assert (context / "runstream-src" / "src" / "runstream" / "serving" / "app.py").is_file()


def _versions_by_worker(url: str, wanted: int, until: str | None = None) -> dict[int, str]:
    """``/version`` on fresh connections until ``wanted`` workers answered (at ``until``)."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/version", timeout=10).json()  # a new connection each time
        seen[answer["worker"]] = answer["models"][0]["version"]
        if len(seen) >= wanted and (until is None or set(seen.values()) == {until}):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"workers seen: {seen}, wanted {wanted} at version {until}")


def _processes(pids: set[int]) -> list[Any]:
    import psutil

    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


@pytest.mark.timeout(600)  # measured 25 s (load 3), 55 s (load 11)
def test_every_worker_answers_and_follows_the_alias(
    running_apps: Settings, client: RunstreamClient
) -> None:
    import psutil
    from sklearn.dummy import DummyClassifier  # type: ignore[import-untyped]

    name = "wine-workers"
    x, y = wine()
    assert _log_version(client, sklearn_model(x, y), x, name) == 1
    client.set_registered_model_alias(name, "champion", 1)
    client.flush(30)
    _wait_alias(client, 1, name)
    server = serve(running_apps, "-m", f"models:/{name}@champion", "--workers", "2")
    children: set[int] = set()
    try:
        workers = _versions_by_worker(server.url, 2)
        assert set(workers.values()) == {"1"}
        children = {c.pid for c in psutil.Process(server.process.pid).children()}
        assert set(workers) <= children, (workers, children)
        body = {"dataframe_split": {"columns": list(x.columns), "data": x.head(3).values.tolist()}}
        for _ in range(10):
            answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)
            assert answer.status_code == 200
            assert answer.headers["x-runstream-model-version"] == "1"

        constant = DummyClassifier(strategy="constant", constant=2).fit(x, y)
        assert _log_version(client, constant, x, name) == 2
        client.set_registered_model_alias(name, "champion", 2)
        client.flush(30)
        _wait_alias(client, 2, name)
        moved = time.monotonic()
        # Each worker follows the registry on its own: both must come to version 2.
        workers = _versions_by_worker(server.url, 2, until="2")
        assert time.monotonic() - moved < 30
        for _ in range(10):
            answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)
            assert answer.status_code == 200
            assert answer.headers["x-runstream-model-version"] == "2"
            assert answer.json() == {"predictions": [2, 2, 2]}
    finally:
        server.stop()
    # The master returns once it has told its workers to stop; give them a moment.
    _, alive = psutil.wait_procs(_processes(children), timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], "workers left running"


def _env_of(log: str, manager: str) -> tuple[str, Path]:
    """What the server said about the model's environment, and where it is."""
    line = next(x for x in log.splitlines() if f"the {manager} environment" in x)
    said = line.split("runstream: ", 1)[1].split(" the ", 1)[0]
    return said, Path(line.split(f"the {manager} environment ", 1)[1].split(" ", 1)[0])


@pytest.mark.timeout(900)  # measured 34 s (load 3, uv cache filled), 58 s (load 11)
def test_a_model_environment_is_built_once_then_reused(
    running_apps: Settings, client: RunstreamClient
) -> None:
    import psutil
    import sklearn  # type: ignore[import-untyped]
    import skops  # type: ignore[import-untyped]

    x, y = wine()
    model = sklearn_model(x, y)
    pins = [f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"]
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(
            model, name="model", input_example=x.head(2), pip_requirements=pins
        )
    uri = f"runs:/{run.info.run_id}/model"
    body = {"dataframe_split": {"columns": list(x.columns), "data": x.head(3).values.tolist()}}
    want = {"predictions": [int(v) for v in model.predict(x.head(3))]}
    envs: list[Path] = []
    for attempt in ("built", "reused"):
        server = start(running_apps, "-m", uri, "--env-manager", "uv").wait_ready(600)
        try:
            answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json() == want
            said, env = _env_of(server.log.read_text(), "uv")
            assert said == ("building" if attempt == "built" else "reusing"), said
            # The server runs on the environment's interpreter, which holds the model's pins.
            assert psutil.Process(server.process.pid).cmdline()[0] == str(env / "bin" / "python")
            site = next((env / "lib").glob("python3*/site-packages"))
            assert (site / f"scikit_learn-{sklearn.__version__}.dist-info").is_dir()
            envs.append(env)
        finally:
            server.stop()
    assert envs[0] == envs[1]
    assert [p.name for p in envs[0].parent.iterdir() if p.is_dir()] == [envs[0].name]
