"""Sample v1 events in wire form (JSON-native dicts), for every event type.

Other test modules import these; treat the module-level dicts as read-only and
call :func:`valid_sample` for a copy you may change.

- ``VALID_SAMPLES``: one typical valid event per type, every field written.
- ``EXTRA_VALID_SAMPLES``: edge cases that must still be accepted (limits reached
  exactly, optional fields left out, NaN and ±Inf, duplicate steps, ...).
- ``INVALID_SAMPLES``: for every type, events that must be rejected, each with the
  decode reason expected and whether the JSON Schema files can see the fault too
  (``schema_sees_it=False`` only for the rules JSON Schema cannot express: the
  message size, equal metric column lengths, nesting depth of free-form JSON).
- ``INVALID_BYTES``: inputs that are not even a JSON object.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final

import orjson

from runstream.events import ROUTING_FIELDS, EventType
from runstream.events.limits import LIMITS

EVENT_ID: Final = "01901234-5678-7abc-8def-0123456789ab"
RUN_ID: Final = "0190123456787abc8def0123456789ab"
PARENT_RUN_ID: Final = "0190123456787abc8def0123456789ac"
EXPERIMENT_ID: Final = "42"
MODEL_NAME: Final = "churn-classifier"
PRODUCED_AT: Final = 1_718_000_000_000
REQUEST_ID: Final = "3f2b8c1e-9a4d-4e2b-8c7f-1a2b3c4d5e6f"
MODEL_UUID: Final = "5c1d0c6a2b9e4f0a8d7e6c5b4a392817"
MODEL_ID: Final = "m-0190123456787abc8def0123456789ad"
SHA256: Final = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
ROUTING_VALUES: Final = {
    "experiment_id": EXPERIMENT_ID,
    "run_id": RUN_ID,
    "model_name": MODEL_NAME,
}


def event(event_type: EventType, body: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    """Returns a wire-form event of ``event_type``, routed as its type requires."""
    routing = ROUTING_FIELDS[event_type]
    wire: dict[str, Any] = {
        "schema_version": 1,
        "event_id": EVENT_ID,
        "type": event_type.value,
        "produced_at": PRODUCED_AT,
        "experiment_id": EXPERIMENT_ID if "experiment_id" in routing else None,
        "run_id": RUN_ID if "run_id" in routing else None,
        "model_name": MODEL_NAME if "model_name" in routing else None,
        "body": body,
    }
    wire.update(envelope)
    return wire


_BODIES: Final[dict[EventType, dict[str, Any]]] = {
    EventType.EXPERIMENT_CREATED: {
        "name": "churn/baseline",
        "artifact_location": "s3://runstream-artifacts/42",
        "tags": {"team": "growth", "mlflow.note.content": "first try"},
    },
    EventType.EXPERIMENT_RENAMED: {"name": "churn/v2"},
    EventType.EXPERIMENT_TAG_SET: {"key": "owner", "value": "ana"},
    EventType.EXPERIMENT_TAG_DELETED: {"key": "owner"},
    EventType.EXPERIMENT_DELETED: {},
    EventType.EXPERIMENT_RESTORED: {},
    EventType.RUN_STARTED: {
        "run_name": "bright-owl-17",
        "user_id": "ana",
        "source_name": "train.py",
        "source_type": "LOCAL",
        "start_time": PRODUCED_AT - 5,
        "git_commit": "3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
        "parent_run_id": PARENT_RUN_ID,
        "description": "baseline with class weights",
        "tags": {"mlflow.user": "ana", "mlflow.source.type": "LOCAL"},
    },
    EventType.RUN_PARAMS: {
        "params": [
            {"key": "lr", "value": "0.001"},
            {"key": "optimizer/name", "value": "adam"},
        ]
    },
    EventType.RUN_METRICS: {
        "keys": ["loss", "loss", "acc", "loss"],
        "values": [0.93, "NaN", 0.5, "Infinity"],
        "steps": [0, 1, 1, 1],
        "timestamps": [PRODUCED_AT, PRODUCED_AT + 1, PRODUCED_AT + 1, PRODUCED_AT + 2],
    },
    EventType.RUN_TAGS: {"tags": [{"key": "stage", "value": "dev"}]},
    EventType.RUN_TAG_DELETED: {"key": "stage"},
    EventType.RUN_ENDED: {"status": "FINISHED", "end_time": PRODUCED_AT + 60_000},
    EventType.RUN_DELETED: {},
    EventType.RUN_RESTORED: {},
    EventType.PREDICTIONS_LOGGED: {
        "records": [
            {
                "request_id": REQUEST_ID,
                "served_at": PRODUCED_AT,
                "model_uri": "models:/churn-classifier@champion",
                "model_name": "churn-classifier",
                "model_version": "3",
                "arm": "champion",
                "status": 200,
                "latency_ms": 1.25,
                "request": '{"inputs": [[1.0, 2.0]]}',
                "response": '{"predictions": [1]}',
                "truncated": False,
            }
        ]
    },
    EventType.RUN_INPUTS: {
        "datasets": [
            {
                "dataset": {
                    "name": "wine-train",
                    "digest": "4d0b8a1e",
                    "source_type": "local",
                    "source": '{"uri": "/data/wine.csv"}',
                    "schema": '{"mlflow_colspec": [{"type": "double", "name": "alcohol"}]}',
                    "profile": '{"num_rows": 178, "num_elements": 2314}',
                },
                "tags": [{"key": "mlflow.data.context", "value": "training"}],
            }
        ]
    },
    EventType.ARTIFACT_LOGGED: {
        "path": "plots/roc curve.png",
        "uri": f"s3://runstream-artifacts/42/{RUN_ID}/artifacts/plots/roc curve.png",
        "size": 48_213,
        "sha256": SHA256,
        "media_type": "image/png",
    },
    EventType.MODEL_LOGGED: {
        "artifact_path": "model",
        "flavors": {"python_function": {"loader_module": "mlflow.sklearn"}, "sklearn": {}},
        "model_uuid": MODEL_UUID,
        "signature": {"inputs": '[{"type": "double"}]', "outputs": None},
        "input_example": [[1.0, 2.5], [3.0, 4.5]],
    },
    EventType.RUN_OUTPUTS: {"models": [{"model_id": MODEL_ID, "step": 3}]},
    EventType.RUN_MODEL_INPUTS: {"models": [{"model_id": MODEL_ID}]},
    EventType.LOGGED_MODEL_CREATED: {
        "model_id": MODEL_ID,
        "name": "model",
        "artifact_location": f"s3://runstream-artifacts/42/models/{MODEL_ID}/artifacts",
        "creation_time": PRODUCED_AT,
        "source_run_id": RUN_ID,
        "model_type": "classifier",
        "params": {"lr": "0.1"},
        "tags": {"mlflow.source.type": "LOCAL"},
    },
    EventType.LOGGED_MODEL_FINALIZED: {"model_id": MODEL_ID, "status": "READY"},
    EventType.LOGGED_MODEL_TAGS_SET: {"model_id": MODEL_ID, "tags": {"stage": "dev"}},
    EventType.LOGGED_MODEL_TAG_DELETED: {"model_id": MODEL_ID, "key": "stage"},
    EventType.LOGGED_MODEL_PARAMS: {"model_id": MODEL_ID, "params": {"depth": "4"}},
    EventType.LOGGED_MODEL_METRICS: {
        "model_id": MODEL_ID, "run_id": RUN_ID,
        "metrics": [{"key": "acc", "value": 0.9, "timestamp": 1, "step": 2,
                     "dataset_name": "eval", "dataset_digest": "abc123"}],
    },
    EventType.LOGGED_MODEL_DELETED: {"model_id": MODEL_ID},
    EventType.REGISTRY_MODEL_CREATED: {"description": "churn model", "tags": {"team": "growth"}},
    EventType.REGISTRY_MODEL_DELETED: {},
    EventType.REGISTRY_MODEL_RENAMED: {"old_name": "churn-model", "actor": "alice"},
    EventType.REGISTRY_VERSION_REQUESTED: {
        "request_id": REQUEST_ID,
        "source": f"runs:/{RUN_ID}/model",
        "run_id": RUN_ID,
        "description": None,
        "tags": {},
    },
    EventType.REGISTRY_STAGE_CHANGED: {
        "version": 3,
        "stage": "Production",
        "archive_existing_versions": True,
        "actor": "alice@example.com",
    },
    EventType.REGISTRY_ALIAS_SET: {"alias": "champion", "version": 3, "actor": "ci-bot"},
    EventType.REGISTRY_ALIAS_DELETED: {"alias": "champion"},
    EventType.REGISTRY_MODEL_TAG_SET: {"key": "task", "value": "classification"},
    EventType.REGISTRY_MODEL_TAG_DELETED: {"key": "task"},
    EventType.REGISTRY_VERSION_TAG_SET: {"version": 3, "key": "validated", "value": "yes"},
    EventType.REGISTRY_VERSION_TAG_DELETED: {"version": 3, "key": "validated"},
    EventType.REGISTRY_DESCRIPTION_SET: {"version": 3, "description": "retrained on May data"},
    EventType.REGISTRY_VERSION_DELETED: {"version": 2},
    EventType.AUTH_CHANGED: {
        "action": "token_issued",
        "actor": "admin",
        "username": "alice@example.com",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
        "is_admin": False,
        "group": "team-a",
        "token_id": "0123456789abcdef",
        "token_hash": SHA256,
        "scopes": ["read", "write"],
        "expires_at": PRODUCED_AT,
        "resource_type": "experiment",
        "resource_id": "42",
        "principal_type": "user",
        "principal": "alice@example.com",
        "permission": "READ",
    },
}

VALID_SAMPLES: Final[dict[EventType, dict[str, Any]]] = {
    t: event(t, body) for t, body in _BODIES.items()
}
"""One valid wire-form event per type, keyed by type (plain strings work as keys too)."""


def valid_sample(event_type: EventType | str) -> dict[str, Any]:
    """Returns a deep copy of the valid sample of ``event_type``."""
    return copy.deepcopy(VALID_SAMPLES[EventType(event_type)])


def with_body(event_type: EventType, **changes: Any) -> dict[str, Any]:
    """Returns the valid sample of ``event_type`` with body fields replaced."""
    sample = valid_sample(event_type)
    sample["body"].update(changes)
    return sample


def without(event_type: EventType, *body_fields: str) -> dict[str, Any]:
    """Returns the valid sample of ``event_type`` without some body fields."""
    sample = valid_sample(event_type)
    for name in body_fields:
        del sample["body"][name]
    return sample


def _metrics(n: int, key: str = "loss") -> dict[str, Any]:
    """Returns a run.metrics event with ``n`` points of one key."""
    return event(
        EventType.RUN_METRICS,
        {"keys": [key] * n, "values": [0.5] * n, "steps": list(range(n)), "timestamps": [1] * n},
    )


def _extra_valid() -> list[tuple[str, dict[str, Any]]]:
    """Builds the edge cases that must be accepted."""
    t = EventType
    key_at_limit = "k" * LIMITS.key_length
    minimal_started = without(t.RUN_STARTED, "git_commit", "parent_run_id", "description", "tags")
    no_null_routing = valid_sample(t.RUN_PARAMS)
    for name in ("experiment_id", "model_name"):
        del no_null_routing[name]
    return [
        ("run.started minimal", minimal_started),
        ("routing fields left out instead of null", no_null_routing),
        ("experiment.created minimal", without(t.EXPERIMENT_CREATED, "artifact_location", "tags")),
        ("model.logged minimal", without(t.MODEL_LOGGED, "signature", "input_example")),
        (
            "run.inputs minimal dataset, no tags",
            with_body(
                t.RUN_INPUTS,
                datasets=[
                    {"dataset": {"name": "d", "digest": "1", "source_type": "s", "source": ""}}
                ],
            ),
        ),
        ("registry.model_created empty body", event(t.REGISTRY_MODEL_CREATED, {})),
        ("description_set for the model", with_body(t.REGISTRY_DESCRIPTION_SET, version=None)),
        ("description_set empty text", with_body(t.REGISTRY_DESCRIPTION_SET, description="")),
        (
            "metrics: all non-finite",
            with_body(
                t.RUN_METRICS,
                keys=["a"] * 3,
                values=["NaN", "Infinity", "-Infinity"],
                steps=[0, 0, 0],
                timestamps=[1, 1, 1],
            ),
        ),
        (
            "metrics: negative steps and integral floats",
            with_body(
                t.RUN_METRICS,
                keys=["a", "a"],
                values=[1, -2.5e300],
                steps=[-5, 3.0],
                timestamps=[0, 2.0],
            ),
        ),
        ("metrics: exactly the point limit", _metrics(LIMITS.metric_points_per_event)),
        (
            "metrics: unicode, spaces, colons, slashes in keys",
            with_body(
                t.RUN_METRICS,
                keys=["précision", "val loss", "gpu:0/util", "a.b-c_d"],
                values=[1.0, 2.0, 3.0, 4.0],
                steps=[1, 1, 1, 1],
                timestamps=[1, 1, 1, 1],
            ),
        ),
        (
            "params: key and value at their limits",
            with_body(
                t.RUN_PARAMS,
                params=[{"key": key_at_limit, "value": "v" * LIMITS.param_value_length}],
            ),
        ),
        (
            "params: exactly the batch limit",
            with_body(
                t.RUN_PARAMS,
                params=[{"key": f"p{i}", "value": ""} for i in range(LIMITS.params_per_batch)],
            ),
        ),
        (
            "run tags: value at the limit",
            with_body(t.RUN_TAGS, tags=[{"key": "note", "value": "x" * LIMITS.tag_value_length}]),
        ),
        (
            "experiment tag value at its larger limit",
            with_body(t.EXPERIMENT_TAG_SET, value="x" * LIMITS.experiment_tag_value_length),
        ),
        (
            "registry tag value above the run tag limit",
            with_body(t.REGISTRY_MODEL_TAG_SET, value="x" * (LIMITS.tag_value_length + 1)),
        ),
        ("names at their limits", with_body(t.EXPERIMENT_RENAMED, name="n" * LIMITS.name_length)),
        (
            "model name at its limit",
            event(t.REGISTRY_MODEL_DELETED, {}, model_name="m" * LIMITS.model_name_length),
        ),
        (
            "artifact path at its limit",
            with_body(t.ARTIFACT_LOGGED, path="a/" * (LIMITS.artifact_path_length // 2 - 1) + "bc"),
        ),
        ("input example of any JSON kind", with_body(t.MODEL_LOGGED, input_example="text")),
        (
            "input example at the depth limit",
            with_body(t.MODEL_LOGGED, input_example=_nested(LIMITS.json_depth)),
        ),
        (
            "media type with parameters",
            with_body(t.ARTIFACT_LOGGED, media_type="text/plain; charset=utf-8"),
        ),
        ("stage None as a string", with_body(t.REGISTRY_STAGE_CHANGED, stage="None")),
        ("stage change without an actor", without(t.REGISTRY_STAGE_CHANGED, "actor")),
        ("alias set with a null actor", with_body(t.REGISTRY_ALIAS_SET, actor=None)),
        ("alias deleted by someone", with_body(t.REGISTRY_ALIAS_DELETED, actor="bob")),
        ("experiment 0", event(t.EXPERIMENT_RENAMED, {"name": "Default"}, experiment_id="0")),
    ]


def _nested(depth: int) -> list[Any]:
    """Returns ``depth`` nested lists: ``[[...]]``."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


EXTRA_VALID_SAMPLES: Final[list[tuple[str, dict[str, Any]]]] = _extra_valid()


@dataclass(frozen=True)
class InvalidSample:
    """An event that must be rejected.

    Attributes:
        name: what is wrong, for test ids.
        event: the wire-form event.
        reason: the ``EventDecodeError.reason`` that ``decode`` must give.
        schema_sees_it: whether the JSON Schema files reject it too.
    """

    name: str
    event: dict[str, Any]
    reason: str = "schema"
    schema_sees_it: bool = True


def _prediction(**fields: Any) -> dict[str, Any]:
    """Returns the valid sample's prediction record with ``fields`` changed."""
    return {**_BODIES[EventType.PREDICTIONS_LOGGED]["records"][0], **fields}


def _dataset(**fields: Any) -> dict[str, Any]:
    """Returns a ``run.inputs`` dataset input of the valid sample with ``fields`` changed."""
    entry = copy.deepcopy(_BODIES[EventType.RUN_INPUTS]["datasets"][0])
    entry["dataset"].update(fields)
    return dict(entry)


def _wrong_kind(value: Any) -> Any:
    """Returns a value of another JSON kind than ``value``."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return "12"
    if isinstance(value, str):
        return 12
    if isinstance(value, list):
        return {"a": 1}
    if isinstance(value, dict):
        return ["a"]
    return 12


def _generic_invalid(event_type: EventType) -> list[InvalidSample]:
    """Returns the faults every type must reject: missing, mistyped, extra, misrouted."""
    name = event_type.value
    out: list[InvalidSample] = []
    sample = valid_sample(event_type)
    out.append(InvalidSample(f"{name}: extra body field", with_body(event_type, surprise=1)))
    out.append(InvalidSample(f"{name}: body is an array", {**sample, "body": []}))
    out.append(
        InvalidSample(f"{name}: body missing", {k: v for k, v in sample.items() if k != "body"})
    )
    out.append(InvalidSample(f"{name}: extra envelope field", {**sample, "partition": 3}))
    for routing in ("experiment_id", "run_id", "model_name"):
        if routing in ROUTING_FIELDS[event_type]:
            out.append(InvalidSample(f"{name}: {routing} null", {**sample, routing: None}))
            missing = {k: v for k, v in sample.items() if k != routing}
            out.append(InvalidSample(f"{name}: {routing} missing", missing))
        else:
            misrouted = {**sample, routing: ROUTING_VALUES[routing]}
            out.append(InvalidSample(f"{name}: {routing} set", misrouted))
    for field, value in _BODIES[event_type].items():
        if field != "input_example":  # any JSON is fine there
            out.append(
                InvalidSample(
                    f"{name}: {field} of the wrong kind",
                    with_body(event_type, **{field: _wrong_kind(value)}),
                )
            )
        if field not in _OPTIONAL.get(event_type, ()):
            out.append(InvalidSample(f"{name}: {field} missing", without(event_type, field)))
    return out


_OPTIONAL: Final[dict[EventType, tuple[str, ...]]] = {
    EventType.EXPERIMENT_CREATED: ("artifact_location", "tags"),
    EventType.RUN_STARTED: ("git_commit", "parent_run_id", "description", "tags"),
    EventType.MODEL_LOGGED: ("signature", "input_example"),
    EventType.LOGGED_MODEL_CREATED: ("source_run_id", "model_type", "params", "tags"),
    EventType.REGISTRY_MODEL_CREATED: ("description", "tags"),
    EventType.REGISTRY_VERSION_REQUESTED: ("run_id", "description", "tags"),
    EventType.REGISTRY_DESCRIPTION_SET: ("version",),
    EventType.REGISTRY_STAGE_CHANGED: ("actor",),
    EventType.REGISTRY_ALIAS_SET: ("actor",),
    EventType.REGISTRY_MODEL_RENAMED: ("actor",),
    EventType.AUTH_CHANGED: tuple(
        f for f in _BODIES[EventType.AUTH_CHANGED] if f not in ("action", "actor")
    ),
}
"""Body fields a sample may leave out (documented "or null", and tags objects)."""


def _envelope_invalid() -> list[InvalidSample]:
    """Returns faults of the envelope itself."""
    s = valid_sample(EventType.RUN_PARAMS)
    no_version = {k: v for k, v in s.items() if k != "schema_version"}
    no_type = {k: v for k, v in s.items() if k != "type"}
    bad = InvalidSample
    return [
        bad("schema_version 2", {**s, "schema_version": 2}, "schema_version"),
        bad("schema_version as a string", {**s, "schema_version": "1"}, "schema_version"),
        bad("schema_version true", {**s, "schema_version": True}, "schema_version"),
        bad("schema_version missing", no_version, "schema_version"),
        bad("type unknown", {**s, "type": "run.exploded"}, "unknown_type"),
        bad("type not a string", {**s, "type": 7}, "unknown_type"),
        bad("type in the wrong case", {**s, "type": "RUN.PARAMS"}, "unknown_type"),
        bad("type missing", no_type, "schema"),
        bad("event_id a UUIDv4", {**s, "event_id": REQUEST_ID}),
        bad("event_id in upper case", {**s, "event_id": EVENT_ID.upper()}),
        bad("event_id with a newline", {**s, "event_id": EVENT_ID + "\n"}),
        bad("produced_at negative", {**s, "produced_at": -1}),
        bad("produced_at fractional", {**s, "produced_at": 1.5}),
        bad("produced_at a string", {**s, "produced_at": "2024-06-10"}),
        bad("produced_at over 64 bits", {**s, "produced_at": 2**63}),
        bad("run_id in upper case", {**s, "run_id": RUN_ID.upper()}),
        bad("run_id with dashes", {**s, "run_id": EVENT_ID}),
        bad(
            "experiment_id with a space",
            event(EventType.EXPERIMENT_DELETED, {}, experiment_id="4 2"),
        ),
        bad(
            "model_name with a slash", event(EventType.REGISTRY_MODEL_DELETED, {}, model_name="a/b")
        ),
        bad("model_name blank", event(EventType.REGISTRY_MODEL_DELETED, {}, model_name="  ")),
        bad(
            "model_name over the limit",
            event(
                EventType.REGISTRY_MODEL_DELETED,
                {},
                model_name="m" * (LIMITS.model_name_length + 1),
            ),
            "limit",
        ),
    ]


def _specific_invalid() -> list[InvalidSample]:
    """Returns the limit and format faults of each type."""
    t, bad, L = EventType, InvalidSample, LIMITS
    key = "k" * (L.key_length + 1)
    big_points = L.metric_points_per_event + 1
    return [
        bad(
            "params: key over the limit",
            with_body(t.RUN_PARAMS, params=[{"key": key, "value": "1"}]),
            "limit",
        ),
        bad(
            "params: value over the limit",
            with_body(
                t.RUN_PARAMS, params=[{"key": "a", "value": "v" * (L.param_value_length + 1)}]
            ),
            "limit",
        ),
        bad(
            "params: too many",
            with_body(
                t.RUN_PARAMS,
                params=[{"key": f"p{i}", "value": "1"} for i in range(L.params_per_batch + 1)],
            ),
            "limit",
        ),
        bad("params: none", with_body(t.RUN_PARAMS, params=[])),
        bad(
            "params: key escapes with ..",
            with_body(t.RUN_PARAMS, params=[{"key": "a/../b", "value": "1"}]),
        ),
        bad(
            "params: key starts with /",
            with_body(t.RUN_PARAMS, params=[{"key": "/lr", "value": "1"}]),
        ),
        bad(
            "params: key starts with ..",
            with_body(t.RUN_PARAMS, params=[{"key": "..lr", "value": "1"}]),
        ),
        bad(
            "params: key with a percent sign",
            with_body(t.RUN_PARAMS, params=[{"key": "lr%", "value": "1"}]),
        ),
        bad(
            "params: key ends with a newline",
            with_body(t.RUN_PARAMS, params=[{"key": "lr\n", "value": "1"}]),
        ),
        bad("params: key empty", with_body(t.RUN_PARAMS, params=[{"key": "", "value": "1"}])),
        bad(
            "params: value a number", with_body(t.RUN_PARAMS, params=[{"key": "lr", "value": 0.1}])
        ),
        bad(
            "params: entry with an extra field",
            with_body(t.RUN_PARAMS, params=[{"key": "lr", "value": "1", "at": 3}]),
        ),
        bad("metrics: too many points", _metrics(big_points), "limit"),
        bad(
            "metrics: key over the limit",
            with_body(t.RUN_METRICS, keys=["loss", "loss", key, "loss"]),
            "limit",
        ),
        bad(
            "metrics: key with a double slash",
            with_body(t.RUN_METRICS, keys=["loss", "a//b", "acc", "loss"]),
        ),
        bad(
            "metrics: columns of unequal length",
            with_body(t.RUN_METRICS, values=[1.0, 2.0, 3.0]),
            "schema",
            schema_sees_it=False,
        ),
        bad(
            "metrics: empty columns",
            with_body(t.RUN_METRICS, keys=[], values=[], steps=[], timestamps=[]),
        ),
        bad("metrics: lower-case nan", with_body(t.RUN_METRICS, values=[1, "nan", 2, 3])),
        bad("metrics: a number as a string", with_body(t.RUN_METRICS, values=[1, "2", 2, 3])),
        bad("metrics: a boolean value", with_body(t.RUN_METRICS, values=[1, True, 2, 3])),
        bad("metrics: a null value", with_body(t.RUN_METRICS, values=[1, None, 2, 3])),
        bad("metrics: a fractional step", with_body(t.RUN_METRICS, steps=[0, 1.5, 2, 3])),
        bad("metrics: a step over 64 bits", with_body(t.RUN_METRICS, steps=[0, 2**63, 2, 3])),
        bad("metrics: a negative timestamp", with_body(t.RUN_METRICS, timestamps=[1, -1, 1, 1])),
        bad(
            "metrics: too large in bytes",
            _metrics(L.metric_points_per_event, "k" * 200),
            "too_large",
            schema_sees_it=False,
        ),
        bad(
            "tags: value over the limit",
            with_body(t.RUN_TAGS, tags=[{"key": "a", "value": "x" * (L.tag_value_length + 1)}]),
            "limit",
        ),
        bad(
            "tags: too many",
            with_body(
                t.RUN_TAGS,
                tags=[{"key": f"t{i}", "value": ""} for i in range(L.tags_per_batch + 1)],
            ),
            "limit",
        ),
        bad("tags: none", with_body(t.RUN_TAGS, tags=[])),
        bad("tag_deleted: key is ..", with_body(t.RUN_TAG_DELETED, key="..")),
        bad("ended: status RUNNING", with_body(t.RUN_ENDED, status="RUNNING")),
        bad("ended: status in lower case", with_body(t.RUN_ENDED, status="finished")),
        bad("started: empty run name", with_body(t.RUN_STARTED, run_name="")),
        bad(
            "started: run name over the limit",
            with_body(t.RUN_STARTED, run_name="r" * (L.name_length + 1)),
            "limit",
        ),
        bad(
            "started: user over the limit",
            with_body(t.RUN_STARTED, user_id="u" * (L.text_length + 1)),
            "limit",
        ),
        bad("started: source type in lower case", with_body(t.RUN_STARTED, source_type="local")),
        bad("started: parent run id malformed", with_body(t.RUN_STARTED, parent_run_id="r-1")),
        bad(
            "started: description over the limit",
            with_body(t.RUN_STARTED, description="d" * (L.description_length + 1)),
            "limit",
        ),
        bad(
            "started: too many tags",
            with_body(t.RUN_STARTED, tags={f"t{i}": "" for i in range(L.tags_per_batch + 1)}),
            "limit",
        ),
        bad(
            "started: tag value over the run limit",
            with_body(t.RUN_STARTED, tags={"a": "x" * (L.tag_value_length + 1)}),
            "limit",
        ),
        bad("started: tag key with a tab", with_body(t.RUN_STARTED, tags={"a\tb": "x"})),
        bad("started: tag value a number", with_body(t.RUN_STARTED, tags={"a": 1})),
        bad("created: empty name", with_body(t.EXPERIMENT_CREATED, name="")),
        bad(
            "created: name over the limit",
            with_body(t.EXPERIMENT_CREATED, name="n" * (L.name_length + 1)),
            "limit",
        ),
        bad(
            "created: empty artifact location",
            with_body(t.EXPERIMENT_CREATED, artifact_location=""),
        ),
        bad(
            "created: artifact location over the limit",
            with_body(t.EXPERIMENT_CREATED, artifact_location="s" * (L.uri_length + 1)),
            "limit",
        ),
        bad(
            "created: tag value over the experiment limit",
            with_body(t.EXPERIMENT_CREATED, tags={"a": "x" * (L.experiment_tag_value_length + 1)}),
            "limit",
        ),
        bad(
            "renamed: name over the limit",
            with_body(t.EXPERIMENT_RENAMED, name="n" * (L.name_length + 1)),
            "limit",
        ),
        bad(
            "tag_set: value over the experiment limit",
            with_body(t.EXPERIMENT_TAG_SET, value="x" * (L.experiment_tag_value_length + 1)),
            "limit",
        ),
        bad("artifact: absolute path", with_body(t.ARTIFACT_LOGGED, path="/etc/passwd")),
        bad("artifact: path escapes", with_body(t.ARTIFACT_LOGGED, path="a/../../b")),
        bad("artifact: path with a backslash", with_body(t.ARTIFACT_LOGGED, path="a\\b")),
        bad("artifact: path with a trailing slash", with_body(t.ARTIFACT_LOGGED, path="a/")),
        bad(
            "artifact: path over the limit",
            with_body(t.ARTIFACT_LOGGED, path="p" * (L.artifact_path_length + 1)),
            "limit",
        ),
        bad("artifact: http uri", with_body(t.ARTIFACT_LOGGED, uri="http://host/b/k")),
        bad("artifact: sha256 in upper case", with_body(t.ARTIFACT_LOGGED, sha256=SHA256.upper())),
        bad("artifact: sha256 too short", with_body(t.ARTIFACT_LOGGED, sha256=SHA256[:-1])),
        bad("artifact: negative size", with_body(t.ARTIFACT_LOGGED, size=-1)),
        bad("artifact: media type without subtype", with_body(t.ARTIFACT_LOGGED, media_type="png")),
        bad("predictions: none", with_body(t.PREDICTIONS_LOGGED, records=[])),
        bad(
            "predictions: status 42",
            with_body(t.PREDICTIONS_LOGGED, records=[_prediction(status=42)]),
        ),
        bad(
            "predictions: negative latency",
            with_body(t.PREDICTIONS_LOGGED, records=[_prediction(latency_ms=-1.0)]),
        ),
        bad(
            "predictions: request over the limit",
            with_body(
                t.PREDICTIONS_LOGGED,
                records=[_prediction(request="x" * (L.prediction_payload_length + 1))],
            ),
            "limit",
        ),
        bad(
            "predictions: request id not a UUID",
            with_body(t.PREDICTIONS_LOGGED, records=[_prediction(request_id="r-1")]),
        ),
        bad("inputs: no dataset", with_body(t.RUN_INPUTS, datasets=[])),
        bad(
            "inputs: digest over the limit",
            with_body(
                t.RUN_INPUTS, datasets=[_dataset(digest="d" * (L.dataset_digest_length + 1))]
            ),
            "limit",
        ),
        bad(
            "inputs: name over the limit",
            with_body(t.RUN_INPUTS, datasets=[_dataset(name="n" * (L.dataset_name_length + 1))]),
            "limit",
        ),
        bad("inputs: empty name", with_body(t.RUN_INPUTS, datasets=[_dataset(name="")])),
        bad("inputs: schema not text", with_body(t.RUN_INPUTS, datasets=[_dataset(schema={})])),
        bad(
            "inputs: unknown dataset field",
            with_body(t.RUN_INPUTS, datasets=[_dataset(rows=3)]),
        ),
        bad(
            "inputs: input tag value over the limit",
            with_body(
                t.RUN_INPUTS,
                datasets=[
                    {
                        "dataset": _dataset()["dataset"],
                        "tags": [{"key": "k", "value": "v" * (L.input_tag_value_length + 1)}],
                    }
                ],
            ),
            "limit",
        ),
        bad("model: artifact path escapes", with_body(t.MODEL_LOGGED, artifact_path="../m")),
        bad("model: model uuid with dashes", with_body(t.MODEL_LOGGED, model_uuid=REQUEST_ID)),
        bad("model: signature an array", with_body(t.MODEL_LOGGED, signature=[])),
        bad(
            "model: input example too deep",
            with_body(t.MODEL_LOGGED, input_example=_nested(L.json_depth + 1)),
            "limit",
            schema_sees_it=False,
        ),
        bad(
            "registry: description over the limit",
            with_body(t.REGISTRY_MODEL_CREATED, description="d" * (L.description_length + 1)),
            "limit",
        ),
        bad(
            "registry: tag value over the registry limit",
            with_body(
                t.REGISTRY_MODEL_CREATED, tags={"a": "x" * (L.registry_tag_value_length + 1)}
            ),
            "limit",
        ),
        bad(
            "model_renamed: old name with a slash",
            with_body(t.REGISTRY_MODEL_RENAMED, old_name="a/b"),
        ),
        bad(
            "model_renamed: old name over the limit",
            with_body(t.REGISTRY_MODEL_RENAMED, old_name="m" * (L.model_name_length + 1)),
            "limit",
        ),
        bad(
            "version_requested: request id not a UUID",
            with_body(t.REGISTRY_VERSION_REQUESTED, request_id="req-1"),
        ),
        bad("version_requested: empty source", with_body(t.REGISTRY_VERSION_REQUESTED, source="")),
        bad(
            "version_requested: run id malformed",
            with_body(t.REGISTRY_VERSION_REQUESTED, run_id="run-1"),
        ),
        bad("stage_changed: unknown stage", with_body(t.REGISTRY_STAGE_CHANGED, stage="Deleted")),
        bad(
            "stage_changed: stage in lower case",
            with_body(t.REGISTRY_STAGE_CHANGED, stage="production"),
        ),
        bad("stage_changed: version 0", with_body(t.REGISTRY_STAGE_CHANGED, version=0)),
        bad(
            "stage_changed: version over 32 bits",
            with_body(t.REGISTRY_STAGE_CHANGED, version=2**31),
        ),
        bad(
            "stage_changed: archive flag as 1",
            with_body(t.REGISTRY_STAGE_CHANGED, archive_existing_versions=1),
        ),
        bad("alias_set: reserved latest", with_body(t.REGISTRY_ALIAS_SET, alias="Latest")),
        bad("alias_set: reserved version alias", with_body(t.REGISTRY_ALIAS_SET, alias="v3")),
        bad("alias_set: alias with a space", with_body(t.REGISTRY_ALIAS_SET, alias="a b")),
        bad("alias_set: empty alias", with_body(t.REGISTRY_ALIAS_SET, alias="")),
        bad(
            "alias_set: alias over the limit",
            with_body(t.REGISTRY_ALIAS_SET, alias="a" * (L.alias_length + 1)),
            "limit",
        ),
        bad("alias_deleted: alias with a slash", with_body(t.REGISTRY_ALIAS_DELETED, alias="a/b")),
        bad("stage_changed: actor with a space", with_body(t.REGISTRY_STAGE_CHANGED, actor="a b")),
        bad("alias_set: actor over 128", with_body(t.REGISTRY_ALIAS_SET, actor="a" * 129)),
        bad(
            "version_tag_set: key over the limit",
            with_body(t.REGISTRY_VERSION_TAG_SET, key=key),
            "limit",
        ),
        bad(
            "version_tag_deleted: negative version",
            with_body(t.REGISTRY_VERSION_TAG_DELETED, version=-1),
        ),
        bad("description_set: version 0", with_body(t.REGISTRY_DESCRIPTION_SET, version=0)),
        bad(
            "description_set: null description",
            with_body(t.REGISTRY_DESCRIPTION_SET, description=None),
        ),
        bad(
            "version_deleted: fractional version",
            with_body(t.REGISTRY_VERSION_DELETED, version=2.5),
        ),
    ]


INVALID_SAMPLES: Final[list[InvalidSample]] = [
    *(sample for t in EventType for sample in _generic_invalid(t)),
    *_envelope_invalid(),
    *_specific_invalid(),
]

INVALID_BYTES: Final[list[tuple[str, bytes, str]]] = [
    ("empty", b"", "not_json"),
    ("truncated", orjson.dumps(VALID_SAMPLES[EventType.RUN_ENDED])[:-3], "not_json"),
    ("not utf-8", b'{"type": "\xff"}', "not_json"),
    ("a NaN literal", b'{"schema_version": NaN}', "not_json"),
    ("a lone surrogate escape", b'{"type": "\\ud800"}', "not_json"),
    ("too deep for the parser", b"[" * 2000 + b"]" * 2000, "not_json"),
    ("a number too big for a double", b'{"schema_version": 1e400}', "not_json"),
    ("an array", b"[]", "not_object"),
    ("a string", b'"run.params"', "not_object"),
    ("null", b"null", "not_object"),
    ("over the size limit", b" " * LIMITS.message_bytes + b"{}", "too_large"),
]
"""(name, bytes, reason) for inputs that are not a JSON object, or too big to parse."""
