"""MLflow's run writes as v1 run events (keyed by run id, so one run's events stay in order).

Rules kept here, as MLflow's server keeps them:

1. A run must exist (404 ``RESOURCE_DOES_NOT_EXIST``) and be active to take data
   (a deleted run answers 400, as MLflow's ``_check_run_is_active``).
2. ``log-batch`` limits are MLflow's (1000 metrics, 100 params, 100 tags, 1000 in
   all), with MLflow's messages; keys and values are checked by ``events.limits``.
3. Params are immutable (``core.params``): the same value again is a no-op, another
   value is 400 and nothing of the batch is written.
4. Identical metric points inside one request collapse into one (MLflow's SQL store
   keys metrics by every column); the metrics event's id is derived from the
   request, so a retried request is dropped as a duplicate.
5. A point sent with a logged model's id that the run already holds is not logged
   again (MLflow 3's ``log_model`` re-sends the run's metrics at the model's step).
6. Every point sent with a logged model's id is linked to that model too (one
   ``logged_model.metrics`` event per model, on the model's experiment partition),
   as MLflow's ``logged_model_metrics``; an unknown or deleted model answers 404 and
   nothing of the request is written.
"""

from __future__ import annotations

from typing import Any

import orjson

from runstream.core.params import new_params
from runstream.core.runs import TERMINAL_STATUSES, end_run, run_artifact_uri
from runstream.errors import ValidationError
from runstream.events import EventType, make_event, new_run_id
from runstream.events.fields import RUN_ID_PATTERN
from runstream.events.limits import LIMITS, check_key, check_param_value, check_tag_value
from runstream.events.logged_model_bodies import check_model_id
from runstream.gateway.body import Body, to_float, to_int
from runstream.gateway.context import GatewayContext, now_ms, random_run_name
from runstream.gateway.ids import derived_event_id
from runstream.gateway.logged_models import existing as existing_logged_model
from runstream.gateway.lookup import KnownRun

_RUN_ID = ("run_uuid",)
_SOURCE_TYPES = frozenset({"NOTEBOOK", "JOB", "PROJECT", "LOCAL", "RECIPE", "UNKNOWN"})
_RUN_NAME_TAG = "mlflow.runName"


def _pairs(items: list[dict[str, Any]], kind: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key = check_key(kind, item.get("key"))
        raw = item.get("value")
        value = "" if raw is None else str(raw)
        out.append((key, check_param_value(value) if kind == "param" else check_tag_value(value)))
    return out


def _matches_run_id(value: str | None) -> bool:
    import re

    return value is not None and re.search(RUN_ID_PATTERN, value) is not None


async def create_run(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/create``: a new run; its artifacts go through the proxy."""
    experiment_id = body.text("experiment_id") or "0"
    experiment = await ctx.experiment(experiment_id, active=True)
    tags = dict(_pairs(body.items("tags"), "tag"))
    name = body.text("run_name") or tags.get(_RUN_NAME_TAG) or random_run_name()
    tags[_RUN_NAME_TAG] = name
    user = body.text("user_id") or tags.get("mlflow.user") or "unknown"
    start = to_int(body.data.get("start_time"), "start_time") or now_ms()
    source_type = tags.get("mlflow.source.type", "UNKNOWN")
    parent = tags.get("mlflow.parentRunId")
    commit = tags.get("mlflow.source.git.commit")
    pairs = list(tags.items())
    first, rest = pairs[: LIMITS.tags_per_batch], pairs[LIMITS.tags_per_batch :]
    run_id = new_run_id()
    body_json: dict[str, Any] = {
        "run_name": name,
        "user_id": user[: LIMITS.text_length],
        "source_name": tags.get("mlflow.source.name", "")[: LIMITS.text_length],
        "source_type": source_type if source_type in _SOURCE_TYPES else "UNKNOWN",
        "start_time": max(0, start),
        "git_commit": commit[: LIMITS.text_length] if commit else None,
        "parent_run_id": parent if _matches_run_id(parent) else None,
        "tags": dict(first),
    }
    events = [make_event(EventType.RUN_STARTED, body_json, experiment_id=experiment_id,
                         run_id=run_id)]
    for at in range(0, len(rest), LIMITS.tags_per_batch):
        chunk = [{"key": k, "value": v} for k, v in rest[at: at + LIMITS.tags_per_batch]]
        events.append(make_event(EventType.RUN_TAGS, {"tags": chunk}, run_id=run_id))
    await ctx.publish(events)
    location = experiment.artifact_location or ctx.default_location(experiment_id)
    run = ctx.runs.put(
        KnownRun(run_id, experiment_id, name, user, start, run_artifact_uri(location, run_id),
                 tags=tags)
    )
    data = {"tags": [{"key": k, "value": v} for k, v in tags.items()], "params": [],
            "metrics": []}
    return {"run": {"info": ctx.run_info(run), "data": data, "inputs": {}}}


async def update_run(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/update``: end the run (status, end time) and/or rename it."""
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID), active=False)
    events = []
    status = body.text("status")
    end_time = to_int(body.data.get("end_time"), "end_time")
    if status is not None and status in TERMINAL_STATUSES:
        if end_run(run.status, status):
            when = end_time if end_time is not None else now_ms()
            events.append(make_event(EventType.RUN_ENDED, {"status": status, "end_time": when},
                                     run_id=run.run_id))
            run.status, run.end_time = status, when
    elif status is not None and status not in ("RUNNING", "SCHEDULED"):
        raise ValidationError(f"Invalid value {status!r} for parameter 'status' supplied")
    name = body.text("run_name")
    if name is not None and name != run.run_name:
        events.append(make_event(EventType.RUN_TAGS, {"tags": [{"key": _RUN_NAME_TAG,
                                                                "value": name}]},
                                 run_id=run.run_id))
        run.run_name = name
    await ctx.publish(events)
    return {"run_info": ctx.run_info(run)}


async def _lifecycle(ctx: GatewayContext, body: Body, stage: str) -> dict[str, Any]:
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID), active=False)
    event_type = EventType.RUN_DELETED if stage == "deleted" else EventType.RUN_RESTORED
    await ctx.publish([make_event(event_type, {}, run_id=run.run_id)])
    run.lifecycle_stage = stage
    return {}


async def delete_run(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/delete`` (soft)."""
    return await _lifecycle(ctx, body, "deleted")


async def restore_run(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/restore``."""
    return await _lifecycle(ctx, body, "active")


def _metric(item: dict[str, Any]) -> tuple[str, float, int, int]:
    key = check_key("metric", item.get("key"))
    if item.get("value") is None:
        raise ValidationError("Missing value for required parameter 'value'.")
    timestamp = to_int(item.get("timestamp"), "timestamp")
    if timestamp is None:
        raise ValidationError("Missing value for required parameter 'timestamp'.")
    step = to_int(item.get("step"), "step", 0) or 0
    return key, to_float(item.get("value"), "value"), step, timestamp


def _metrics_event(run_id: str, points: list[tuple[str, float, int, int]]) -> Any:
    """One columnar event; identical points collapse, the id comes from the points (rule 4)."""
    unique = list(dict.fromkeys(points))
    keys = [p[0] for p in unique]
    values = [p[1] for p in unique]
    steps = [p[2] for p in unique]
    timestamps = [max(0, p[3]) for p in unique]
    wire = orjson.dumps([keys, [repr(v) for v in values], steps, timestamps])
    event_id = derived_event_id(max(timestamps), "run.metrics", run_id, wire)
    columns = {"keys": keys, "values": values, "steps": steps, "timestamps": timestamps}
    return make_event(EventType.RUN_METRICS, columns, run_id=run_id, event_id=event_id)


async def _new_model_points(
    ctx: GatewayContext, run_id: str, metrics: list[dict[str, Any]]
) -> list[tuple[str, float, int, int]]:
    """The points of a batch, less copies of the run's points linked to a logged model (rule 5).

    MLflow 3's ``log_model`` sends the run's metrics at the model's step again, each
    with the model's id; MLflow's store keeps one point, so the copies are dropped.
    """
    points = [_metric(m) for m in metrics]
    linked = {p for p, m in zip(points, metrics, strict=True) if m.get("model_id")}
    if not linked:
        return points
    known = await ctx.lookup.metric_points(
        run_id, sorted({p[0] for p in linked}), sorted({p[2] for p in linked})
    )
    return [p for p in points if not (p in linked and p in known)]


def _dataset_field(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"Invalid value {value!r} for parameter '{name}': expected a string")
    return value


async def _model_metric_events(
    ctx: GatewayContext, run_id: str, metrics: list[dict[str, Any]]
) -> list[Any]:
    """The ``logged_model.metrics`` events of the points that name a logged model (rule 6)."""
    by_model: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for item in metrics:
        if not item.get("model_id"):
            continue
        key, value, step, timestamp = _metric(item)
        point = {"key": key, "value": value, "timestamp": max(0, timestamp), "step": step,
                 "dataset_name": _dataset_field(item, "dataset_name"),
                 "dataset_digest": _dataset_field(item, "dataset_digest")}
        same = (key, repr(value), point["timestamp"], step, point["dataset_name"],
                point["dataset_digest"])
        by_model.setdefault(check_model_id(item["model_id"]), {})[same] = point
    events = []
    for model_id, points in by_model.items():
        model = await existing_logged_model(ctx, model_id)
        body = {"model_id": model_id, "run_id": run_id, "metrics": list(points.values())}
        wire = orjson.dumps([list(same) for same in points])
        latest = max(p["timestamp"] for p in points.values())
        event_id = derived_event_id(latest, "logged_model.metrics", f"{run_id}/{model_id}", wire)
        events.append(make_event(EventType.LOGGED_MODEL_METRICS, body,
                                 experiment_id=model.experiment_id, event_id=event_id))
    return events


def _check_batch(metrics: int, params: int, tags: int) -> None:
    """MLflow's ``log_batch`` limits and messages (rule 2)."""
    for count, limit, what in ((metrics, LIMITS.metrics_per_batch, "metrics"),
                               (params, LIMITS.params_per_batch, "params"),
                               (tags, LIMITS.tags_per_batch, "tags")):
        if count > limit:
            raise ValidationError(
                f"A batch logging request can contain at most {limit} {what}. Got {count} "
                f"{what}. Please split up {what} across multiple requests and try again."
            )
    total = metrics + params + tags
    if total > LIMITS.metrics_per_batch:
        raise ValidationError(
            f"A batch logging request can contain at most {LIMITS.metrics_per_batch} total "
            f"params, tags, and metrics. Got {total} total entities. Please split up metrics, "
            "params and tags across multiple requests and try again."
        )


async def log_batch(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/log-batch``: params, tags and metrics of one run, all or nothing (rules 1-4)."""
    run_id = body.required("run_id", aliases=_RUN_ID)
    metrics, params, tags = body.items("metrics"), body.items("params"), body.items("tags")
    _check_batch(len(metrics), len(params), len(tags))
    run = await ctx.run(run_id)
    points = await _new_model_points(ctx, run_id, metrics)
    model_events = await _model_metric_events(ctx, run_id, metrics)
    fresh = new_params(run.params, _pairs(params, "param"), run_id=run_id)
    tag_pairs = _pairs(tags, "tag")
    events = []
    if fresh:
        entries = [{"key": k, "value": v} for k, v in fresh.items()]
        events.append(make_event(EventType.RUN_PARAMS, {"params": entries}, run_id=run_id))
    if tag_pairs:
        entries = [{"key": k, "value": v} for k, v in dict(tag_pairs).items()]
        events.append(make_event(EventType.RUN_TAGS, {"tags": entries}, run_id=run_id))
    if points:
        events.append(_metrics_event(run_id, points))
    await ctx.publish(events + model_events)
    run.params.update(fresh)
    run.tags.update(tag_pairs)
    return {}


async def log_metric(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/log-metric``."""
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID))
    model_events = await _model_metric_events(ctx, run.run_id, [body.data])
    await ctx.publish([_metrics_event(run.run_id, [_metric(body.data)]), *model_events])
    return {}


async def log_param(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/log-parameter``."""
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID))
    fresh = new_params(run.params, _pairs([body.data], "param"), run_id=run.run_id)
    if fresh:
        entries = [{"key": k, "value": v} for k, v in fresh.items()]
        await ctx.publish([make_event(EventType.RUN_PARAMS, {"params": entries},
                                      run_id=run.run_id)])
        run.params.update(fresh)
    return {}


async def set_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/set-tag``."""
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID))
    ((key, value),) = _pairs([body.data], "tag")
    await ctx.publish([make_event(EventType.RUN_TAGS, {"tags": [{"key": key, "value": value}]},
                                  run_id=run.run_id)])
    run.tags[key] = value
    if key == _RUN_NAME_TAG:
        run.run_name = value
    return {}


async def delete_tag(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/delete-tag``."""
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID))
    key = check_key("tag", body.required("key"))
    await ctx.publish([make_event(EventType.RUN_TAG_DELETED, {"key": key}, run_id=run.run_id)])
    run.tags.pop(key, None)
    return {}


_DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


def _dataset_input(item: dict[str, Any]) -> dict[str, Any]:
    """One ``DatasetInput`` of MLflow's JSON as a ``run.inputs`` entry (checked on make_event)."""
    dataset = item.get("dataset")
    if not isinstance(dataset, dict):
        raise ValidationError("Invalid value for parameter 'datasets': each needs a 'dataset'")
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise ValidationError("Invalid value for parameter 'tags' of a dataset input")
    return {
        "dataset": {f: dataset[f] for f in _DATASET_FIELDS if dataset.get(f) is not None},
        "tags": [{"key": t.get("key"), "value": t.get("value", "")} for t in tags],
    }


async def log_inputs(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/log-inputs``: the run's datasets as ``run.inputs``, one event per dataset,
    and the logged models it used (``models``) as ``run.model_inputs``.

    Everything is checked before anything is published.
    """
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID))
    events = [
        make_event(EventType.RUN_INPUTS, {"datasets": [_dataset_input(d)]}, run_id=run.run_id)
        for d in body.items("datasets")
    ]
    used = [{"model_id": check_model_id(m.get("model_id"))} for m in body.items("models")]
    size = LIMITS.params_per_batch
    events += [
        make_event(EventType.RUN_MODEL_INPUTS, {"models": used[at: at + size]}, run_id=run.run_id)
        for at in range(0, len(used), size)
    ]
    if events:
        await ctx.publish(events)
    return {}


async def log_outputs(ctx: GatewayContext, body: Body) -> dict[str, Any]:
    """``runs/outputs``: the logged models a live run produced (``run.outputs``)."""
    run = await ctx.run(body.required("run_id", aliases=_RUN_ID))
    outputs = []
    for item in body.items("models"):
        model_id = check_model_id(item.get("model_id"))
        outputs.append({"model_id": model_id, "step": to_int(item.get("step"), "step", 0) or 0})
    size = LIMITS.params_per_batch
    await ctx.publish([
        make_event(EventType.RUN_OUTPUTS, {"models": outputs[at: at + size]}, run_id=run.run_id)
        for at in range(0, len(outputs), size)
    ])
    return {}


__all__ = [
    "create_run",
    "delete_run",
    "delete_tag",
    "log_batch",
    "log_inputs",
    "log_metric",
    "log_outputs",
    "log_param",
    "restore_run",
    "set_tag",
    "update_run",
]
