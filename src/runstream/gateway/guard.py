"""Who may make each MLflow write: MLflow's auth rules, checked before a handler runs.

Every route of :data:`runstream.gateway.routes.WRITES` and of the artifact proxy has
one rule here naming the resource it touches and the permission it needs (the
levels of :mod:`runstream.auth.permissions`, MLflow's auth app's choices):

1. Creating an experiment or a registered model needs an authenticated caller
   whose credential may write (a token with scope ``read`` creates nothing); the
   creator then gets MANAGE on it (``auth.changed``, published after the create by
   :func:`grant_creator`, and counted by the server's directory at once).
2. Changing an experiment, a run of it (params, metrics, tags, status, inputs,
   artifacts) or a logged model of it needs EDIT on the experiment; deleting or
   restoring one needs MANAGE. Reading logged models and artifacts needs READ.
3. Changing a registered model or its versions (tags, aliases, stages,
   descriptions, new versions) needs EDIT on the model; deleting one needs MANAGE.
4. A route with no rule is refused when auth is on (fail closed); a unit test
   keeps every route covered. With auth off every rule passes.
5. Admins pass every rule, but a token's scopes cap an admin as they cap anyone:
   an admin's ``read`` token writes nothing.

The resources are found from the request before anything is written: the body's
``experiment_id`` or ``name``, a run's or a logged model's experiment (looked up),
or the run or model an artifact path lies under.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from runstream.auth.caller import Caller
from runstream.auth.changes import creator_grant
from runstream.auth.directory import Grant
from runstream.auth.permissions import at_least
from runstream.errors import PermissionDeniedError
from runstream.events import Permission, PrincipalType, ResourceType
from runstream.gateway.artifacts import run_artifact
from runstream.gateway.body import Body
from runstream.gateway.context import GatewayContext

Need = tuple[ResourceType, str, Permission]
Rule = Callable[[GatewayContext, Body], Awaitable[list[Need]]]

_EXP, _MODEL = ResourceType.EXPERIMENT, ResourceType.REGISTERED_MODEL
READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE
_RUN_ID = ("run_uuid",)
_LOGGED_MODEL_SEGMENT: Final = re.compile(r"^m-[0-9a-f]{32}$")


def _anyone() -> Rule:
    async def rule(_ctx: GatewayContext, _body: Body) -> list[Need]:
        return []

    return rule


def _experiment(need: Permission, *, default: str | None = None) -> Rule:
    async def rule(_ctx: GatewayContext, body: Body) -> list[Need]:
        found = body.text("experiment_id") or default
        return [(_EXP, found, need)] if found is not None else []

    return rule


def _experiments(need: Permission) -> Rule:
    async def rule(_ctx: GatewayContext, body: Body) -> list[Need]:
        ids = body.data.get("experiment_ids") or []
        return [(_EXP, str(i), need) for i in (ids if isinstance(ids, list) else [ids])]

    return rule


def _run(need: Permission) -> Rule:
    async def rule(ctx: GatewayContext, body: Body) -> list[Need]:
        run_id = body.text("run_id", aliases=_RUN_ID)
        if run_id is None:
            return []  # the handler answers the missing field
        run = await ctx.run(run_id, active=False)
        return [(_EXP, run.experiment_id, need)]

    return rule


def _logged_model(need: Permission) -> Rule:
    async def rule(ctx: GatewayContext, body: Body) -> list[Need]:
        model_id = body.text("model_id")
        if model_id is None:
            return []
        return [(_EXP, await _model_experiment(ctx, model_id), need)]

    return rule


async def _model_experiment(ctx: GatewayContext, model_id: str) -> str:
    from runstream.gateway.logged_models import existing

    return (await existing(ctx, model_id, allow_deleted=True)).experiment_id


def _registered_model(need: Permission) -> Rule:
    async def rule(_ctx: GatewayContext, body: Body) -> list[Need]:
        name = body.text("name")
        return [(_MODEL, name, need)] if name is not None else []

    return rule


RULES: Final[dict[str, Rule]] = {
    "experiments/create": _anyone(),
    "experiments/update": _experiment(EDIT),
    "experiments/delete": _experiment(MANAGE),
    "experiments/restore": _experiment(MANAGE),
    "experiments/set-experiment-tag": _experiment(EDIT),
    "experiments/delete-experiment-tag": _experiment(EDIT),
    "runs/create": _experiment(EDIT, default="0"),
    "runs/update": _run(EDIT),
    "runs/delete": _run(MANAGE),
    "runs/restore": _run(MANAGE),
    "runs/log-metric": _run(EDIT),
    "runs/log-parameter": _run(EDIT),
    "runs/set-tag": _run(EDIT),
    "runs/delete-tag": _run(EDIT),
    "runs/log-batch": _run(EDIT),
    "runs/log-inputs": _run(EDIT),
    "runs/outputs": _run(EDIT),
    "logged-models": _experiment(EDIT),
    "logged-models/search": _experiments(READ),
    "logged-models/{model_id}:GET": _logged_model(READ),
    "logged-models/{model_id}:PATCH": _logged_model(EDIT),
    "logged-models/{model_id}:DELETE": _logged_model(MANAGE),
    "logged-models/{model_id}/tags": _logged_model(EDIT),
    "logged-models/{model_id}/tags/{tag_key:path}": _logged_model(EDIT),
    "logged-models/{model_id}/params": _logged_model(EDIT),
    "registered-models/create": _anyone(),
    "registered-models/rename": _registered_model(MANAGE),
    "registered-models/update": _registered_model(EDIT),
    "registered-models/delete": _registered_model(MANAGE),
    "registered-models/set-tag": _registered_model(EDIT),
    "registered-models/delete-tag": _registered_model(EDIT),
    "registered-models/alias": _registered_model(EDIT),
    "model-versions/create": _registered_model(EDIT),
    "model-versions/update": _registered_model(EDIT),
    "model-versions/delete": _registered_model(MANAGE),
    "model-versions/transition-stage": _registered_model(EDIT),
    "model-versions/set-tag": _registered_model(EDIT),
    "model-versions/delete-tag": _registered_model(EDIT),
}
"""Rule of each route, by path (``path:METHOD`` where one path has several methods)."""


def rule_for(method: str, path: str) -> Rule | None:
    """The rule of one route (rule 4: None means refused when auth is on)."""
    return RULES.get(f"{path}:{method}") or RULES.get(path)


def _passes_all(caller: Caller) -> bool:
    """Rule 5: auth off, or an admin whose credential allows everything."""
    principal = caller.principal
    return not caller.auth_on or (principal.is_admin and at_least(principal.cap, MANAGE))


async def authorize(
    ctx: GatewayContext, caller: Caller, method: str, path: str, body: Body
) -> None:
    """Rules 1-5 for one request.

    Raises:
        PermissionDeniedError: 403 (the message names the permission and resource).
    """
    if _passes_all(caller):
        return
    rule = rule_for(method, path)
    if rule is None:
        raise PermissionDeniedError(f"Permission denied: {method} {path} is for admins")
    if path in CREATED and not at_least(caller.principal.cap, EDIT):
        raise PermissionDeniedError(
            f"Permission denied: {path} needs a credential that may write (this token's "
            f"scopes allow {caller.principal.cap})"
        )
    for resource_type, resource_id, need in await rule(ctx, body):
        caller.require(resource_type, resource_id, need)


async def authorize_artifact(
    ctx: GatewayContext, caller: Caller, key: str, need: Permission
) -> None:
    """Rule 2 for a proxy path: the run or logged model it lies under decides.

    Raises:
        PermissionDeniedError: 403, also for a path under neither (admins only).
    """
    if _passes_all(caller):
        return
    found = run_artifact(key)
    if found is not None:
        run = await ctx.run(found[0], active=False)
        caller.require(_EXP, run.experiment_id, need)
        return
    parts = key.split("/")
    for i in range(len(parts) - 1):
        if parts[i] == "models" and _LOGGED_MODEL_SEGMENT.search(parts[i + 1]):
            caller.require(_EXP, await _model_experiment(ctx, parts[i + 1]), need)
            return
    raise PermissionDeniedError(
        f"Permission denied: {caller.principal.username} may only reach artifacts of runs "
        "and logged models"
    )


CREATED: Final[dict[str, Callable[[dict[str, Any]], tuple[ResourceType, str]]]] = {
    "experiments/create": lambda answer: (_EXP, str(answer["experiment_id"])),
    "registered-models/create": lambda answer: (_MODEL, str(answer["registered_model"]["name"])),
}
"""The routes that create a resource, and how to read its id from their answer."""


async def grant_creator(
    ctx: GatewayContext, caller: Caller, path: str, answer: dict[str, Any]
) -> None:
    """Rule 1's MANAGE for whoever created a resource (none when auth is off or for admins)."""
    created = CREATED.get(path)
    if created is None or not caller.auth_on or caller.principal.is_admin:
        return
    resource_type, resource_id = created(answer)
    username = caller.principal.username
    await ctx.publish([creator_grant(username, resource_type, resource_id)])
    if ctx.expect_grant is not None:  # counts at once, before the lake has it
        grant = Grant(resource_type, resource_id, PrincipalType.USER, username, MANAGE)
        ctx.expect_grant(grant)


__all__ = ["CREATED", "RULES", "authorize", "authorize_artifact", "grant_creator", "rule_for"]
