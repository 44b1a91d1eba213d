"""MLflow's experiment writes as v1 experiment events (keyed by experiment id).

Experiment ids are derived from the name (:mod:`runstream.core.identity`), as the
SDK derives them, so a retried create publishes the same experiment again (a
duplicate the materializer drops) and two writers creating one name agree.
"""

from __future__ import annotations

from typing import Any

from runstream.core.artifact_uris import from_proxy_uri
from runstream.core.identity import DEFAULT_EXPERIMENT_ID, experiment_id_for
from runstream.errors import AlreadyExistsError, ValidationError
from runstream.events import EventType, make_event
from runstream.events.limits import check_key, check_name, check_tag_value
from runstream.gateway.body import Body
from runstream.gateway.context import GatewayContext
from runstream.gateway.lookup import KnownExperiment

_ID = ("experiment_id",)


def _tags(body: Body) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in body.items("tags"):
        key = check_key("tag", item.get("key"))
        out[key] = check_tag_value(str(item.get("value") or ""), scope="experiment")
    return out


async def _name_is_free(ctx: GatewayContext, name: str) -> None:
    known = next((e for e in ctx.experiments.values() if e.name == name), None)
    if known is None:
        known = await ctx.lookup.experiment_by_name(name)
    if known is not None:
        raise AlreadyExistsError(f"Experiment(name={name}) already exists.")


async def create_experiment(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``experiments/create``: ``{"experiment_id": ...}``."""
    name = check_name("experiment", body.required("name"))
    await _name_is_free(ctx, name)
    experiment_id = experiment_id_for(name)
    given = body.text("artifact_location")
    location = from_proxy_uri(given, ctx.artifacts_bucket) if given else None
    location = location or ctx.default_location(experiment_id)
    event = make_event(
        EventType.EXPERIMENT_CREATED,
        {"name": name, "artifact_location": location, "tags": _tags(body)},
        experiment_id=experiment_id,
    )
    await ctx.publish([event])
    ctx.experiments[experiment_id] = KnownExperiment(experiment_id, name, "active", location)
    return {"experiment_id": experiment_id}


async def update_experiment(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``experiments/update``: rename."""
    known = await ctx.experiment(body.required("experiment_id"))
    new_name = body.text("new_name")
    if new_name is None:
        return {}
    new_name = check_name("experiment", new_name)
    if new_name != known.name:
        await _name_is_free(ctx, new_name)
        await ctx.publish(
            [make_event(EventType.EXPERIMENT_RENAMED, {"name": new_name},
                        experiment_id=known.experiment_id)]
        )
        ctx.experiments[known.experiment_id] = KnownExperiment(
            known.experiment_id, new_name, known.lifecycle_stage, known.artifact_location
        )
    return {}


async def _set_stage(ctx: GatewayContext, body: Body, stage: str) -> dict[str, Any]:
    known = await ctx.experiment(body.required("experiment_id"))
    if known.experiment_id == DEFAULT_EXPERIMENT_ID and stage == "deleted":
        raise ValidationError("Cannot delete the default experiment '0'. This is an internal "
                              "experiment.")
    deleted = stage == "deleted"
    event_type = EventType.EXPERIMENT_DELETED if deleted else EventType.EXPERIMENT_RESTORED
    await ctx.publish([make_event(event_type, {}, experiment_id=known.experiment_id)])
    ctx.experiments[known.experiment_id] = KnownExperiment(
        known.experiment_id, known.name, stage, known.artifact_location
    )
    return {}


async def delete_experiment(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``experiments/delete`` (soft)."""
    return await _set_stage(ctx, body, "deleted")


async def restore_experiment(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``experiments/restore``."""
    return await _set_stage(ctx, body, "active")


async def set_experiment_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``experiments/set-experiment-tag``."""
    known = await ctx.experiment(body.required("experiment_id"))
    key = check_key("tag", body.required("key"))
    value = check_tag_value(body.raw_text("value") or "", scope="experiment")
    await ctx.publish(
        [make_event(EventType.EXPERIMENT_TAG_SET, {"key": key, "value": value},
                    experiment_id=known.experiment_id)]
    )
    return {}


async def delete_experiment_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``experiments/delete-experiment-tag`` (a missing tag is not an error)."""
    known = await ctx.experiment(body.required("experiment_id"))
    key = check_key("tag", body.required("key"))
    await ctx.publish(
        [make_event(EventType.EXPERIMENT_TAG_DELETED, {"key": key},
                    experiment_id=known.experiment_id)]
    )
    return {}


__all__ = [
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "restore_experiment",
    "set_experiment_tag",
    "update_experiment",
]
