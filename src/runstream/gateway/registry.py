"""MLflow's model-registry writes as v1 registry events (keyed by model name).

Version numbers stay with the materializer: ``model-versions/create`` publishes a
``registry.version_requested`` with a fresh request id, then waits (bounded) until
the lake shows the version made for that request, and answers with its number, as
MLflow's server answers with the number it assigned. Changes that answer with the
changed object (stage transitions, descriptions) read it back after the write, and
that read waits for the write (read-your-writes).

Differences from MLflow, documented in docs/gateway.md: renaming a registered model
is refused (no v1 event renames a model); a version that the materializer has not
numbered within ``VERSION_WAIT_S`` answers 503 (``TEMPORARILY_UNAVAILABLE``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any, Final

from runstream.core.artifact_uris import from_proxy_uri
from runstream.errors import AlreadyExistsError, NotFoundError, ServiceError, ValidationError
from runstream.events import EventType, make_event
from runstream.events.limits import check_alias, check_description, check_key, check_name
from runstream.events.limits import check_tag_value as _check_tag_value
from runstream.events.logged_model_bodies import check_model_id
from runstream.gateway import logged_models
from runstream.gateway.body import Body, to_int
from runstream.gateway.context import GatewayContext, now_ms
from runstream.gateway.lookup import KnownVersion

VERSION_WAIT_S: Final = 30.0
_POLL_S: Final = 0.05
_LOGGED_MODEL_URI: Final = re.compile(r"^models:/(m-[0-9a-f]{32})/?$")
_STAGES: Final = {s.lower(): s for s in ("None", "Staging", "Production", "Archived")}


def _tag_value(value: str) -> str:
    return _check_tag_value(value, scope="registry")


def _tags(body: Body) -> dict[str, str]:
    return {
        check_key("tag", t.get("key")): _tag_value(str(t.get("value") or ""))
        for t in body.items("tags")
    }


def _name(body: Body) -> str:
    return check_name("model", body.required("name"))


def _version_number(body: Body) -> int:
    number = to_int(body.data.get("version"), "version")
    if number is None:
        raise ValidationError("Missing value for required parameter 'version'.")
    if number < 1:
        raise ValidationError(f"Invalid value {number} for parameter 'version' supplied")
    return number


def _logged_model_id(source: str) -> str | None:
    """The logged model of a ``models:/m-<id>`` source, or None."""
    found = _LOGGED_MODEL_URI.search(source)
    return found.group(1) if found else None


def version_json(v: KnownVersion, ctx: GatewayContext) -> dict[str, Any]:
    """MLflow's ``ModelVersion`` JSON."""
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
        "current_stage": v.current_stage,
        "source": ctx.shown(v.source),
        "status": v.status,
        "tags": [{"key": k, "value": val} for k, val in v.tags.items()],
        "aliases": list(v.aliases),
    }
    if v.run_id:
        out["run_id"] = v.run_id
    # MLflow's server stores the request's "" for a missing description, and answers it.
    out["description"] = v.description or ""
    return out


def _model_json(name: str, description: str | None, tags: dict[str, str]) -> dict[str, Any]:
    now = now_ms()
    out: dict[str, Any] = {
        "name": name,
        "creation_timestamp": now,
        "last_updated_timestamp": now,
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
        "description": description or "",
    }
    return out


async def _existing_model(ctx: GatewayContext, name: str) -> None:
    if not await ctx.lookup.model_exists(name):
        raise NotFoundError(f"Registered Model with name={name} not found")


async def _version(ctx: GatewayContext, name: str, number: int) -> KnownVersion:
    found = await ctx.lookup.version(name, number)
    if found is None:
        raise NotFoundError(f"Model Version (name={name}, version={number}) not found")
    return found


async def create_registered_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/create``."""
    name = _name(body)
    description = body.text("description")
    if description is not None:
        check_description(description)
    tags = _tags(body)
    if await ctx.lookup.model_exists(name):
        raise AlreadyExistsError(f"Registered Model (name={name}) already exists.")
    await ctx.publish([make_event(EventType.REGISTRY_MODEL_CREATED,
                                  {"description": description, "tags": tags}, model_name=name)])
    return {"registered_model": _model_json(name, description, tags)}


async def rename_registered_model(_ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/rename``: refused (no v1 event renames a model)."""
    raise ValidationError(
        f"Renaming registered model {body.required('name')!r} is not supported by Runstream: "
        "register the versions under the new name instead"
    )


async def update_registered_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/update``: the description."""
    name = _name(body)
    await _existing_model(ctx, name)
    description = check_description(body.raw_text("description") or "")
    await ctx.publish([make_event(EventType.REGISTRY_DESCRIPTION_SET,
                                  {"description": description}, model_name=name)])
    return {"registered_model": _model_json(name, description, {})}


async def delete_registered_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/delete``."""
    name = _name(body)
    await _existing_model(ctx, name)
    await ctx.publish([make_event(EventType.REGISTRY_MODEL_DELETED, {}, model_name=name)])
    return {}


async def set_registered_model_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/set-tag``."""
    name = _name(body)
    await _existing_model(ctx, name)
    key = check_key("tag", body.required("key"))
    value = _tag_value(body.raw_text("value") or "")
    await ctx.publish([make_event(EventType.REGISTRY_MODEL_TAG_SET, {"key": key, "value": value},
                                  model_name=name)])
    return {}


async def delete_registered_model_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/delete-tag``."""
    name = _name(body)
    key = check_key("tag", body.required("key"))
    await ctx.publish([make_event(EventType.REGISTRY_MODEL_TAG_DELETED, {"key": key},
                                  model_name=name)])
    return {}


async def set_alias(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/alias`` (POST): point an alias at a version."""
    name = _name(body)
    alias = check_alias(body.required("alias"))
    number = _version_number(body)
    await _version(ctx, name, number)
    await ctx.publish([make_event(EventType.REGISTRY_ALIAS_SET,
                                  {"alias": alias, "version": number, "actor": body.actor},
                                  model_name=name)])
    return {}


async def delete_alias(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``registered-models/alias`` (DELETE)."""
    name = _name(body)
    alias = check_alias(body.required("alias"))
    await ctx.publish([make_event(EventType.REGISTRY_ALIAS_DELETED,
                                  {"alias": alias, "actor": body.actor}, model_name=name)])
    return {}


async def create_model_version(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``model-versions/create``: answered with the number the materializer assigns.

    A ``model_id`` (or a ``models:/m-<id>`` source), as MLflow 3's client sends for
    a logged model, registers that model's files: the version's source is the
    model's artifact location and its run the model's source run.
    """
    name = _name(body)
    source = from_proxy_uri(body.required("source"), ctx.artifacts_bucket)
    run_id = body.text("run_id")
    description = body.text("description")
    await _existing_model(ctx, name)
    model_id = body.text("model_id") or _logged_model_id(source)
    if model_id is not None:
        # MLflow 3: a version of a logged model keeps the model's files as its source.
        logged = await logged_models.existing(ctx, check_model_id(model_id))
        source, run_id = logged.artifact_location, run_id or logged.source_run_id
    request_id = str(uuid.uuid4())
    event = make_event(
        EventType.REGISTRY_VERSION_REQUESTED,
        {"request_id": request_id, "source": source, "run_id": run_id,
         "description": description, "tags": _tags(body)},
        model_name=name,
    )
    await ctx.publish([event])
    deadline = asyncio.get_running_loop().time() + VERSION_WAIT_S
    while True:
        found = await ctx.lookup.version_by_request(request_id)
        if found is not None:
            return {"model_version": version_json(found, ctx)}
        if asyncio.get_running_loop().time() >= deadline:
            raise ServiceError(
                f"version of {name!r} requested (request {request_id}) but not numbered within "
                f"{VERSION_WAIT_S:g} s; it will appear in model-versions/search"
            )
        await asyncio.sleep(_POLL_S)


async def update_model_version(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``model-versions/update``: the description."""
    name, number = _name(body), _version_number(body)
    await _version(ctx, name, number)
    description = check_description(body.raw_text("description") or "")
    await ctx.publish([make_event(EventType.REGISTRY_DESCRIPTION_SET,
                                  {"description": description, "version": number},
                                  model_name=name)])
    return {"model_version": version_json(await _version(ctx, name, number), ctx)}


async def delete_model_version(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``model-versions/delete``."""
    name, number = _name(body), _version_number(body)
    await _version(ctx, name, number)
    await ctx.publish([make_event(EventType.REGISTRY_VERSION_DELETED, {"version": number},
                                  model_name=name)])
    return {}


async def transition_stage(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``model-versions/transition-stage`` (``archive_existing_versions`` as MLflow)."""
    name, number = _name(body), _version_number(body)
    raw = body.required("stage")
    stage = _STAGES.get(raw.lower())
    if stage is None:
        raise ValidationError(
            f"Invalid Model Version stage: {raw}. Value must be one of None, Staging, "
            "Production, Archived."
        )
    archive = body.data.get("archive_existing_versions") in (True, "true", "True")
    if archive and stage not in ("Staging", "Production"):
        raise ValidationError(
            f"Model version transition cannot archive existing model versions because "
            f"'{stage}' is not an Active stage. Valid stages are Staging, Production."
        )
    await _version(ctx, name, number)
    await ctx.publish([make_event(EventType.REGISTRY_STAGE_CHANGED,
                                  {"version": number, "stage": stage,
                                   "archive_existing_versions": archive, "actor": body.actor},
                                  model_name=name)])
    return {"model_version": version_json(await _version(ctx, name, number), ctx)}


async def set_model_version_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``model-versions/set-tag``."""
    name, number = _name(body), _version_number(body)
    await _version(ctx, name, number)
    key = check_key("tag", body.required("key"))
    value = _tag_value(body.raw_text("value") or "")
    await ctx.publish([make_event(EventType.REGISTRY_VERSION_TAG_SET,
                                  {"version": number, "key": key, "value": value},
                                  model_name=name)])
    return {}


async def delete_model_version_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``model-versions/delete-tag``."""
    name, number = _name(body), _version_number(body)
    key = check_key("tag", body.required("key"))
    await ctx.publish([make_event(EventType.REGISTRY_VERSION_TAG_DELETED,
                                  {"version": number, "key": key}, model_name=name)])
    return {}


__all__ = [
    "VERSION_WAIT_S",
    "create_model_version",
    "create_registered_model",
    "delete_alias",
    "delete_model_version",
    "delete_model_version_tag",
    "delete_registered_model",
    "delete_registered_model_tag",
    "rename_registered_model",
    "set_alias",
    "set_model_version_tag",
    "set_registered_model_tag",
    "transition_stage",
    "update_model_version",
    "update_registered_model",
    "version_json",
]
