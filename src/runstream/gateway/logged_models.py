"""MLflow 3's logged models through the gateway: ``logged-models/*`` as ``logged_model.*`` events.

What ``mlflow.<flavor>.log_model`` does against MLflow's server works here: it
creates a logged model (``POST logged-models``), links it to the run
(``runs/outputs``), uploads the model folder to the model's artifact location
through the artifact proxy, and finalizes it (``PATCH logged-models/<id>``).
Rules, as MLflow's server keeps them:

1. A model id is ``m-`` and 32 hex digits (a UUIDv7 here, so ids sort by time); a
   malformed one answers 400 ``INVALID_PARAMETER_VALUE``, an unknown or deleted one
   404 ``RESOURCE_DOES_NOT_EXIST`` (``allow_deleted=true`` finds deleted ones).
2. A new model needs an existing, active experiment and is ``PENDING``; its files
   live at ``<experiment artifact location>/models/<id>/artifacts`` (MLflow's
   layout), shown to MLflow's client as ``mlflow-artifacts:/...`` like run
   artifacts, so the client uploads through the proxy.
3. Params and tags beyond 100 per event are split into more events of the same
   request (one partition: the experiment's), so they land in order.
4. Reads (``GET``, ``search``) go through the lookups, behind the read-your-writes
   wait; the wait covers the model's experiment partition when this gateway knows
   it, else the topic. Writes find the model in this gateway's memory when it
   created or read it (as runs are found, ``KnownRuns``), else through a lookup.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Final

from runstream.core.rows import LoggedModelMetricRow
from runstream.errors import NotFoundError, ValidationError
from runstream.events import EventType, make_event, new_run_id
from runstream.events.fields import RUN_ID_PATTERN
from runstream.events.floats import float_to_wire
from runstream.events.limits import LIMITS, check_key, check_length, check_param_value
from runstream.events.limits import check_tag_value as _tag_value
from runstream.events.logged_model_bodies import check_logged_model_name, check_model_id
from runstream.gateway.body import Body
from runstream.gateway.context import GatewayContext, now_ms, random_run_name
from runstream.gateway.lookup import KnownLoggedModel, LoggedModelQuery

_RUN_ID: Final = re.compile(RUN_ID_PATTERN)
MAX_RESULTS_DEFAULT: Final = 100
MAX_RESULTS_LIMIT: Final = 1000
_WIRE_STATUS: Final = {
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
}
# MLflow's client sends the enum's name; its numbers and short names are accepted too.
_FINAL_STATUS: Final = {
    "LOGGED_MODEL_READY": "READY", "READY": "READY", "2": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED", "FAILED": "FAILED", "UPLOAD_FAILED": "FAILED",
    "3": "FAILED",
}


def logged_model_json(m: KnownLoggedModel, ctx: GatewayContext) -> dict[str, Any]:
    """MLflow's ``LoggedModel`` JSON (``info`` and ``data``)."""
    info: dict[str, Any] = {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "creation_timestamp_ms": m.creation_time,
        "last_updated_timestamp_ms": m.last_updated_time,
        "artifact_uri": ctx.shown(m.artifact_location),
        "status": _WIRE_STATUS.get(m.status, "LOGGED_MODEL_STATUS_UNSPECIFIED"),
        "tags": [{"key": k, "value": v} for k, v in m.tags.items()],
    }
    if m.source_run_id:
        info["source_run_id"] = m.source_run_id
    if m.model_type:
        info["model_type"] = m.model_type
    params = [{"key": k, "value": v} for k, v in m.params.items()]
    return {"info": info, "data": {"params": params,
                                   "metrics": [_metric_json(p) for p in m.metrics]}}


def _metric_json(p: LoggedModelMetricRow) -> dict[str, Any]:
    """MLflow's ``Metric`` of a logged model (non-finite values as protobuf's strings)."""
    out: dict[str, Any] = {
        "key": p.key, "value": float_to_wire(p.value), "timestamp": p.timestamp,
        "step": p.step, "model_id": p.model_id, "run_id": p.run_id,
    }
    if p.dataset_name is not None:
        out["dataset_name"] = p.dataset_name
    if p.dataset_digest is not None:
        out["dataset_digest"] = p.dataset_digest
    return out


def _pairs(body: Body, name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in body.items(name):
        raw = item.get("value")
        value = "" if raw is None else str(raw)
        if name == "params":
            out[check_key("param", item.get("key"))] = check_param_value(value)
        else:
            out[check_key("tag", item.get("key"))] = _tag_value(value)
    return out


def _chunks(pairs: dict[str, str]) -> list[dict[str, str]]:
    items = list(pairs.items())
    size = LIMITS.params_per_batch
    return [dict(items[at: at + size]) for at in range(0, len(items), size)]


def _model_id(body: Body) -> str:
    return check_model_id(body.required("model_id"))


def _not_found(model_id: str) -> NotFoundError:
    return NotFoundError(f"Logged model with ID '{model_id}' not found.")


async def read(ctx: GatewayContext, model_id: str, *, allow_deleted: bool = False
               ) -> KnownLoggedModel:
    """The logged model as the lake holds it, behind the wait (rule 4).

    Raises:
        ValidationError: a malformed id (400, before any read).
        NotFoundError: no such model, or a deleted one without ``allow_deleted``.
    """
    check_model_id(model_id)
    known = ctx.logged_models.get(model_id)
    found = await ctx.lookup.logged_model(
        model_id, experiment_id=known.experiment_id if known else None,
        allow_deleted=allow_deleted,
    )
    if found is None:
        raise _not_found(model_id)
    return ctx.logged_models.put(found)


async def existing(
    ctx: GatewayContext, model_id: str, *, allow_deleted: bool = False
) -> KnownLoggedModel:
    """The logged model a write changes: from this gateway's memory, else the lake (rule 4).

    Raises:
        ValidationError: a malformed id (400, before any read).
        NotFoundError: no such model, or a deleted one without ``allow_deleted``.
    """
    check_model_id(model_id)
    known = ctx.logged_models.get(model_id)
    if known is None:
        return await read(ctx, model_id, allow_deleted=allow_deleted)
    if known.lifecycle_stage != "active" and not allow_deleted:
        raise _not_found(model_id)
    return known


def _event(kind: EventType, experiment_id: str, body: dict[str, Any]) -> Any:
    return make_event(kind, body, experiment_id=experiment_id)


async def create_logged_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``POST logged-models``: a new PENDING model (rules 2 and 3)."""
    experiment_id = body.required("experiment_id")
    name = check_logged_model_name(body.text("name") or random_run_name())
    source_run_id = body.text("source_run_id")
    if source_run_id is not None and _RUN_ID.search(source_run_id) is None:
        raise ValidationError(
            f"Invalid value {source_run_id!r} for parameter 'source_run_id' supplied: "
            "expected a run id (32 lowercase hex)"
        )
    model_type = body.text("model_type")
    if model_type is not None:
        check_length("model type", model_type, LIMITS.text_length)
    params, tags = _pairs(body, "params"), _pairs(body, "tags")
    experiment = await ctx.experiment(experiment_id, active=True)
    model_id = f"m-{new_run_id()}"
    root = (experiment.artifact_location or ctx.default_location(experiment_id)).rstrip("/")
    created = now_ms()
    model = KnownLoggedModel(
        model_id, experiment_id, name, source_run_id, model_type,
        f"{root}/models/{model_id}/artifacts", "PENDING", "active", created, created,
        params, tags,
    )
    param_chunks, tag_chunks = _chunks(params), _chunks(tags)
    events = [_event(EventType.LOGGED_MODEL_CREATED, experiment_id, {
        "model_id": model_id, "name": name, "artifact_location": model.artifact_location,
        "creation_time": created, "source_run_id": source_run_id, "model_type": model_type,
        "params": param_chunks[0] if param_chunks else {},
        "tags": tag_chunks[0] if tag_chunks else {},
    })]
    events += [_event(EventType.LOGGED_MODEL_PARAMS, experiment_id,
                      {"model_id": model_id, "params": c}) for c in param_chunks[1:]]
    events += [_event(EventType.LOGGED_MODEL_TAGS_SET, experiment_id,
                      {"model_id": model_id, "tags": c}) for c in tag_chunks[1:]]
    await ctx.publish(events)
    ctx.logged_models.put(model)
    return {"model": logged_model_json(model, ctx)}


async def get_logged_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``GET logged-models/<id>`` (``allow_deleted=true`` finds deleted models)."""
    allow = str(body.data.get("allow_deleted", "")).lower() == "true"
    return {"model": logged_model_json(await read(ctx, _model_id(body), allow_deleted=allow),
                                       ctx)}


async def finalize_logged_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``PATCH logged-models/<id>``: READY or FAILED."""
    model_id = _model_id(body)
    raw = body.data.get("status")
    if raw is None or isinstance(raw, bool) or str(raw).upper() not in _FINAL_STATUS:
        raise ValidationError(
            f"Invalid value {raw!r} for parameter 'status' supplied: a logged model is "
            "finalized as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"
        )
    status = _FINAL_STATUS[str(raw).upper()]
    model = await existing(ctx, model_id)
    await ctx.publish([_event(EventType.LOGGED_MODEL_FINALIZED, model.experiment_id,
                              {"model_id": model_id, "status": status})])
    changed = ctx.logged_models.put(replace(model, status=status, last_updated_time=now_ms()))
    return {"model": logged_model_json(changed, ctx)}


async def set_logged_model_tags(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``PATCH logged-models/<id>/tags``."""
    model_id = _model_id(body)
    tags = _pairs(body, "tags")
    model = await existing(ctx, model_id)
    await ctx.publish([_event(EventType.LOGGED_MODEL_TAGS_SET, model.experiment_id,
                              {"model_id": model_id, "tags": c}) for c in _chunks(tags)])
    ctx.logged_models.put(replace(model, tags={**model.tags, **tags}))
    return {}


async def delete_logged_model_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``DELETE logged-models/<id>/tags/<key>``."""
    model_id = _model_id(body)
    key = check_key("tag", body.required("tag_key"))
    model = await existing(ctx, model_id)
    await ctx.publish([_event(EventType.LOGGED_MODEL_TAG_DELETED, model.experiment_id,
                              {"model_id": model_id, "key": key})])
    ctx.logged_models.put(replace(model, tags={k: v for k, v in model.tags.items() if k != key}))
    return {}


async def log_logged_model_params(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``POST logged-models/<id>/params``."""
    model_id = _model_id(body)
    params = _pairs(body, "params")
    model = await existing(ctx, model_id)
    await ctx.publish([_event(EventType.LOGGED_MODEL_PARAMS, model.experiment_id,
                              {"model_id": model_id, "params": c}) for c in _chunks(params)])
    ctx.logged_models.put(replace(model, params={**model.params, **params}))
    return {}


async def delete_logged_model(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``DELETE logged-models/<id>`` (soft: ``allow_deleted`` reads still find it)."""
    model_id = _model_id(body)
    model = await existing(ctx, model_id)
    await ctx.publish([_event(EventType.LOGGED_MODEL_DELETED, model.experiment_id,
                              {"model_id": model_id})])
    ctx.logged_models.put(replace(model, lifecycle_stage="deleted"))
    return {}


def search_query(body: Body) -> LoggedModelQuery:
    """The checked ``logged-models/search`` request.

    Raises:
        ValidationError: no experiment ids, a bad order_by or max_results, datasets.
    """
    ids = body.data.get("experiment_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise ValidationError("Missing value for required parameter 'experiment_ids'.")
    if body.data.get("datasets"):
        raise ValidationError("Invalid value for parameter 'datasets': logged models are not "
                              "searched by dataset; a metrics filter tests the points of "
                              "every dataset")
    order: list[tuple[str, bool]] = []
    for item in body.items("order_by"):
        field = item.get("field_name")
        if not isinstance(field, str) or not field:
            raise ValidationError("Invalid order_by: each entry needs a 'field_name'")
        order.append((field.removeprefix("attributes."), item.get("ascending", True) is not False))
    size = body.integer("max_results") or MAX_RESULTS_DEFAULT
    if not 1 <= size <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            f"Invalid value {size} for parameter 'max_results' supplied: it must be at most "
            f"{MAX_RESULTS_LIMIT}"
        )
    return LoggedModelQuery(tuple(dict.fromkeys(ids)), body.text("filter"), tuple(order), size,
                            body.text("page_token"))


async def search_logged_models(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``POST logged-models/search``: MLflow's filter, order and pages."""
    models, token = await ctx.lookup.search_logged_models(search_query(body))
    out: dict[str, Any] = {"models": [logged_model_json(m, ctx) for m in models]}
    if token:
        out["next_page_token"] = token
    return out


__all__ = [
    "MAX_RESULTS_DEFAULT",
    "MAX_RESULTS_LIMIT",
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "existing",
    "finalize_logged_model",
    "get_logged_model",
    "log_logged_model_params",
    "logged_model_json",
    "read",
    "search_logged_models",
    "search_query",
]
