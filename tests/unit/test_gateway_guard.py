"""The gateway's permission rules cover every route and refuse what they must."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from runstream.auth.caller import Caller
from runstream.auth.directory import AuthDirectory, Grant
from runstream.auth.permissions import Principal
from runstream.config import load_settings
from runstream.errors import ConfigError, PermissionDeniedError
from runstream.events import Permission, PrincipalType, ResourceType
from runstream.gateway.body import Body
from runstream.gateway.guard import CREATED, authorize, move_grants, rule_for
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


@dataclass
class _Recorder:
    """The parts of a gateway context that ``move_grants`` uses."""

    published: list[Any] = field(default_factory=list)
    expected: list[Grant] = field(default_factory=list)

    async def publish(self, events: list[Any]) -> None:
        self.published.extend(events)

    def expect_grant(self, grant: Grant) -> None:
        self.expected.append(grant)


def test_the_grants_on_a_renamed_model_move_to_its_new_name() -> None:
    model, user, group = ResourceType.REGISTERED_MODEL, PrincipalType.USER, PrincipalType.GROUP
    grants = (
        Grant(model, "churn", user, "bob", Permission.MANAGE),
        Grant(model, "churn", group, "ds", Permission.READ),
        Grant(model, "other", user, "eve", Permission.EDIT),
    )
    ctx, bob = _Recorder(), _caller(*grants)
    answer = {"registered_model": {"name": "churn-v2"}}
    body = Body({"name": "churn", "new_name": "churn-v2"})
    asyncio.run(move_grants(ctx, bob, "registered-models/rename", body, answer))  # type: ignore[arg-type]
    changes = [
        (e.body.action, e.body.resource_id, e.body.principal, e.body.permission)
        for e in ctx.published
    ]
    assert changes == [
        ("permission_set", "churn-v2", "bob", Permission.MANAGE),
        ("permission_deleted", "churn", "bob", None),
        ("permission_set", "churn-v2", "ds", Permission.READ),
        ("permission_deleted", "churn", "ds", None),
    ]
    assert ctx.expected == [
        Grant(model, "churn-v2", user, "bob", Permission.MANAGE),
        Grant(model, "churn-v2", group, "ds", Permission.READ),
    ]
    # Other routes, and auth off, move nothing.
    quiet = _Recorder()
    asyncio.run(move_grants(quiet, bob, "registered-models/update", body, answer))  # type: ignore[arg-type]
    asyncio.run(
        move_grants(quiet, Caller(Principal("local")), "registered-models/rename", body, answer)  # type: ignore[arg-type]
    )
    assert quiet.published == []
