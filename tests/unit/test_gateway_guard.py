"""The gateway's permission rules cover every route and refuse what they must."""

from __future__ import annotations

import asyncio

import pytest

from runstream.auth.caller import Caller
from runstream.auth.directory import AuthDirectory, Grant
from runstream.auth.permissions import Principal
from runstream.config import load_settings
from runstream.errors import ConfigError, PermissionDeniedError
from runstream.events import Permission, PrincipalType, ResourceType
from runstream.gateway.body import Body
from runstream.gateway.guard import CREATED, authorize, rule_for
from runstream.gateway.routes import WRITES
from runstream.server import build_app


def test_every_write_route_has_a_rule() -> None:
    missing = [(m, p) for m, p, _ in WRITES if rule_for(m, p) is None]
    assert missing == []
    assert set(CREATED) <= {p for _, p, _ in WRITES}


def _caller(*grants: Grant) -> Caller:
    return Caller(Principal("bob"), AuthDirectory(grants=grants))


def _authorize(caller: Caller, method: str, path: str, data: dict[str, object]) -> None:
    asyncio.run(authorize(None, caller, method, path, Body(data)))  # type: ignore[arg-type]


def test_experiment_writes_need_edit_and_deletes_need_manage() -> None:
    edit = Grant(ResourceType.EXPERIMENT, "7", PrincipalType.USER, "bob", Permission.EDIT)
    bob = _caller(edit)
    _authorize(bob, "POST", "experiments/set-experiment-tag", {"experiment_id": "7"})
    _authorize(bob, "POST", "runs/create", {"experiment_id": "7"})
    with pytest.raises(PermissionDeniedError, match="MANAGE on experiment '7'"):
        _authorize(bob, "POST", "experiments/delete", {"experiment_id": "7"})
    with pytest.raises(PermissionDeniedError, match="EDIT on experiment '0'"):
        _authorize(bob, "POST", "runs/create", {})  # the Default experiment
    _authorize(bob, "POST", "experiments/create", {"name": "mine"})  # anyone may create


def test_registry_writes_need_edit_on_the_model() -> None:
    bob = _caller(
        Grant(ResourceType.REGISTERED_MODEL, "m", PrincipalType.USER, "bob", Permission.READ)
    )
    with pytest.raises(PermissionDeniedError, match="EDIT on registered model 'm'"):
        _authorize(bob, "POST", "model-versions/create", {"name": "m", "source": "s3://b/k"})
    with pytest.raises(PermissionDeniedError, match="MANAGE"):
        _authorize(bob, "DELETE", "registered-models/delete", {"name": "m"})


def test_admins_and_auth_off_pass_every_rule() -> None:
    admin = Caller(Principal("root", is_admin=True), AuthDirectory())
    _authorize(admin, "POST", "experiments/delete", {"experiment_id": "7"})
    _authorize(Caller(Principal("local")), "POST", "experiments/delete", {"experiment_id": "7"})


def test_a_read_token_creates_nothing_and_caps_an_admin_too() -> None:
    reader = Caller(Principal("bob", cap=Permission.READ, via="token"), AuthDirectory())
    with pytest.raises(PermissionDeniedError, match="may write"):
        _authorize(reader, "POST", "experiments/create", {"name": "mine"})
    with pytest.raises(PermissionDeniedError, match="may write"):
        _authorize(reader, "POST", "registered-models/create", {"name": "m"})
    admin_reader = Caller(
        Principal("root", is_admin=True, cap=Permission.READ, via="token"), AuthDirectory()
    )
    with pytest.raises(PermissionDeniedError, match="may write"):
        _authorize(admin_reader, "POST", "experiments/create", {"name": "mine"})
    with pytest.raises(PermissionDeniedError, match="EDIT on experiment '7'"):
        _authorize(admin_reader, "POST", "runs/create", {"experiment_id": "7"})
    admin_writer = Caller(
        Principal("root", is_admin=True, cap=Permission.EDIT, via="token"), AuthDirectory()
    )
    _authorize(admin_writer, "POST", "runs/create", {"experiment_id": "7"})
    with pytest.raises(PermissionDeniedError, match="MANAGE on experiment '7'"):
        _authorize(admin_writer, "POST", "experiments/delete", {"experiment_id": "7"})


def test_a_route_without_a_rule_is_refused_with_auth_on() -> None:
    with pytest.raises(PermissionDeniedError, match="for admins"):
        _authorize(_caller(), "POST", "runs/unknown", {})


def test_the_write_only_role_refuses_to_start_with_auth_on() -> None:
    settings = load_settings({"RUNSTREAM_AUTH": "1", "RUNSTREAM_ADMIN_PASSWORD": "pw-123456"})
    with pytest.raises(ConfigError, match="--role write"):
        build_app(settings, "write")
