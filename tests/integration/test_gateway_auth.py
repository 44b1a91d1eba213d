"""MLflow's writes through the gateway with auth on: each needs its permission.

One server as ``runstream serve`` builds it, auth on (default NO_PERMISSIONS), a real
broker and materializer. alice and bob are users made through the admin API; MLflow's
own client logs in with ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``.
A creator gets MANAGE at once; another user may neither write to nor read the
creator's runs, artifacts and models until granted, and then may. Stage and alias
changes name who made them in the admins' audit trail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from materializer_support import materializer, wait_for
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from test_gateway_tracking import server
from test_query_helpers import per_test_settings

from runstream.config import Settings
from runstream.kafka.admin import ensure_topics

ADMIN = ("admin", "admin-password-1")
USERS = {"alice": "alice-password-1", "bob": "bob-password-1"}


@pytest.fixture(scope="module")
def url(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("gateway-auth"))
    settings = dataclasses.replace(
        settings, read_after_timeout_s=30.0, auth=True, admin_password=ADMIN[1]
    )
    with server_with_users(settings, ADMIN, USERS) as base:
        yield base


@contextmanager
def server_with_users(
    settings: Settings, admin: tuple[str, str], users: dict[str, str]
) -> Iterator[str]:
    """A materializer and a server with auth on, ``users`` (name -> password) made by
    ``admin``, and MLflow's client patient enough for a loaded machine."""
    ensure_topics(settings)
    with materializer(settings), server(settings) as base, pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
        for name, password in users.items():
            made = httpx.post(
                f"{base}/api/v1/auth/users",
                json={"username": name, "password": password},
                auth=admin,
                timeout=60,
            )
            assert made.status_code == 201, made.text
        yield base


def _grant(url: str, model: str | None, experiment: str | None, to: str, by: str) -> None:
    """``by`` gives ``to`` EDIT on a registered model or an experiment."""
    kind, resource = ("registered_model", model) if model else ("experiment", experiment)
    granted = httpx.put(
        f"{url}/api/v1/auth/permissions",
        json={"resource_type": kind, "resource_id": resource, "principal_type": "user",
              "principal": to, "permission": "EDIT"},
        auth=(by, USERS[by]),
        timeout=60,
    )
    assert granted.status_code in (200, 201), granted.text


def _client(url: str, user: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """MLflow's client logged in as ``user`` (MLflow reads the variables on every call)."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", {**USERS, ADMIN[0]: ADMIN[1]}[user])
    return MlflowClient(tracking_uri=url)


def _denied(call: object) -> None:
    with pytest.raises(MlflowException) as raised:
        call()  # type: ignore[operator]
    assert raised.value.error_code == "PERMISSION_DENIED", raised.value


def test_a_creator_manages_and_others_are_refused_until_granted(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alice = _client(url, "alice", monkeypatch)
    experiment = alice.create_experiment("alice-only")
    run = alice.create_run(experiment)  # EDIT at once: the creator's MANAGE
    run_id = run.info.run_id
    alice.log_metric(run_id, "loss", 0.5)
    notes = tmp_path / "notes.txt"
    notes.write_text("alice's")
    alice.log_artifact(run_id, str(notes))
    alice.create_registered_model("alice-model")

    bob = _client(url, "bob", monkeypatch)
    _denied(lambda: bob.log_metric(run_id, "loss", 9.0))
    _denied(lambda: bob.create_run(experiment))
    _denied(lambda: bob.set_experiment_tag(experiment, "owner", "bob"))
    _denied(lambda: bob.delete_run(run_id))
    _denied(lambda: bob.create_model_version("alice-model", "s3://x/y"))
    _denied(lambda: bob.download_artifacts(run_id, "notes.txt", str(tmp_path / "bob")))
    upload = httpx.put(
        f"{url}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/x.txt",
        content=b"bob's",
        auth=("bob", USERS["bob"]),
    )
    assert upload.status_code == 403, upload.text
    alice = _client(url, "alice", monkeypatch)
    assert alice.get_run(run_id).data.metrics == {"loss": 0.5}  # nothing of bob's landed

    _grant(url, None, experiment, to="bob", by="alice")
    bob = _client(url, "bob", monkeypatch)
    bob.log_metric(run_id, "loss", 0.25, step=1)
    _denied(lambda: bob.delete_run(run_id))  # EDIT is not MANAGE
    history = bob.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25)]


def test_the_admin_may_do_everything(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    experiment = _client(url, "alice", monkeypatch).create_experiment("alice-second")
    admin = _client(url, ADMIN[0], monkeypatch)
    run = admin.create_run(experiment)
    admin.set_terminated(run.info.run_id)
    assert admin.get_run(run.info.run_id).info.status == "FINISHED"


def test_grants_follow_a_renamed_model(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = _client(url, "alice", monkeypatch)
    alice.create_registered_model("alice-renamed")
    _grant(url, "alice-renamed", None, to="bob", by="alice")
    bob = _client(url, "bob", monkeypatch)
    _denied(lambda: bob.rename_registered_model("alice-renamed", "bobs-now"))  # needs MANAGE
    alice = _client(url, "alice", monkeypatch)
    alice.rename_registered_model("alice-renamed", "alice-renamed-2")
    alice.set_registered_model_tag("alice-renamed-2", "owner", "alice")  # still MANAGE
    bob = _client(url, "bob", monkeypatch)
    bob.set_registered_model_tag("alice-renamed-2", "reviewed", "bob")  # still EDIT
    _denied(lambda: bob.delete_registered_model("alice-renamed-2"))
    assert bob.get_registered_model("alice-renamed-2").tags == {
        "owner": "alice",
        "reviewed": "bob",
    }

    def renames() -> list[tuple[str, str]]:
        audit = httpx.get(f"{url}/api/v1/auth/audit", auth=ADMIN, timeout=60).json()["events"]
        return [
            (e["actor"], e["subject"]) for e in audit if e["action"] == "registry.model_renamed"
        ]

    found = wait_for("the rename in the audit", renames, lambda r: len(r) >= 1)
    assert found == [("alice", "model alice-renamed renamed to alice-renamed-2")]


def test_stage_and_alias_changes_show_who_made_them_in_the_audit(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = _client(url, "alice", monkeypatch)
    alice.create_registered_model("audited")
    version = alice.create_model_version("audited", "s3://bucket/model").version
    alice.transition_model_version_stage("audited", version, "Staging")
    alice.set_registered_model_alias("audited", "champion", version)
    bob = _client(url, "bob", monkeypatch)
    _denied(lambda: bob.delete_registered_model_alias("audited", "champion"))  # not audited
    alice = _client(url, "alice", monkeypatch)
    alice.delete_registered_model_alias("audited", "champion")

    def trail() -> list[tuple[str, str, str]]:
        resp = httpx.get(f"{url}/api/v1/auth/audit", auth=ADMIN, timeout=60)
        assert resp.status_code == 200, resp.text
        return [
            (e["actor"], e["action"], e["subject"])
            for e in resp.json()["events"]
            if e["subject"].startswith("model audited ")
        ]

    changes = wait_for("the registry changes in the audit", trail, lambda t: len(t) >= 3)
    assert changes == [  # newest first
        ("alice", "registry.alias_deleted", "model audited alias champion removed"),
        ("alice", "registry.alias_set", f"model audited alias champion -> v{version}"),
        ("alice", "registry.stage_changed", f"model audited v{version} None -> Staging"),
    ]
    refused = httpx.get(f"{url}/api/v1/auth/audit", auth=("alice", USERS["alice"]), timeout=60)
    assert refused.status_code == 403
