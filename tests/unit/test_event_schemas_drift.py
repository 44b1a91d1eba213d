"""The JSON Schema files and the pydantic models say the same thing.

Structure (field names, required fields, enums, routing), numbers (every limit)
and patterns are compared directly; behaviour is compared on every sample: each
valid one passes both, each invalid one fails both with the same reason, apart
from the documented faults that only the decoder can see.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
import pytest
from event_samples import EXTRA_VALID_SAMPLES, INVALID_SAMPLES, VALID_SAMPLES, InvalidSample
from jsonschema import Draft202012Validator

from runstream.errors import ConfigError, EventDecodeError
from runstream.events import (
    BODY_MODELS,
    ROUTING_FIELDS,
    EventType,
    decode,
    limits,
    load_schema,
    schemas_dir,
    validate_with_schema,
)
from runstream.events import fields as f
from runstream.events import logged_model_bodies as lm
from runstream.events.limits import LIMITS

ROUTING = ("experiment_id", "run_id", "model_name")


def test_schema_folder_holds_exactly_the_envelope_and_one_file_per_type() -> None:
    files = {p.name for p in schemas_dir().glob("*.json")}
    assert files == {"envelope.json"} | {f"{t.value}.json" for t in EventType}
    assert schemas_dir() == Path(__file__).parents[2] / "schemas" / "v1"


@pytest.mark.parametrize("name", ["envelope", *[t.value for t in EventType]])
def test_each_file_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/schemas/v1/{name}.json")
    _assert_closed_objects(schema, top=name != "envelope")


def _assert_closed_objects(node: Any, *, top: bool) -> None:
    """Every object schema listing properties forbids others (per-type tops via envelope)."""
    if isinstance(node, dict):
        if "properties" in node and not (top and node.get("$ref") == "envelope.json"):
            assert node.get("additionalProperties") is False, node.get("title", node)
        for value in node.values():
            _assert_closed_objects(value, top=False)
    elif isinstance(node, list):
        for value in node:
            _assert_closed_objects(value, top=False)


def test_envelope_type_enum_is_the_event_type_enum() -> None:
    assert load_schema("envelope")["properties"]["type"]["enum"] == [t.value for t in EventType]


@pytest.mark.parametrize("event_type", list(EventType))
def test_body_fields_and_required_fields_match_the_model(event_type: EventType) -> None:
    model = BODY_MODELS[event_type]
    body = load_schema(event_type)["$defs"]["body"]
    assert set(body["properties"]) == set(model.model_fields)
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    assert set(body["required"]) == required


@pytest.mark.parametrize("event_type", list(EventType))
def test_routing_matches_the_model(event_type: EventType) -> None:
    schema = load_schema(event_type)
    assert schema["$ref"] == "envelope.json"
    assert schema["properties"]["type"] == {"const": event_type.value}
    assert set(schema["required"]) == ROUTING_FIELDS[event_type]
    for name in ROUTING:
        if name in ROUTING_FIELDS[event_type]:
            assert schema["properties"][name] == {"$ref": f"envelope.json#/$defs/{name}"}
        else:
            assert schema["properties"][name] == {"type": "null"}


@pytest.mark.parametrize("event_type", list(EventType))
def test_enum_fields_list_the_models_enum_values(event_type: EventType) -> None:
    model = BODY_MODELS[event_type]
    body = load_schema(event_type)["$defs"]["body"]
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            assert body["properties"][name]["enum"] == [m.value for m in annotation], name


def test_limits_in_the_schema_files_are_the_limits_of_core() -> None:
    defs = load_schema("envelope")["$defs"]
    expected_max_length = {
        "key": LIMITS.key_length,
        "param_value": LIMITS.param_value_length,
        "run_tag_value": LIMITS.tag_value_length,
        "experiment_tag_value": LIMITS.experiment_tag_value_length,
        "registry_tag_value": LIMITS.registry_tag_value_length,
        "name": LIMITS.name_length,
        "model_name": LIMITS.model_name_length,
        "alias": LIMITS.alias_length,
        "description": LIMITS.description_length,
        "short_text": LIMITS.text_length,
        "media_type": LIMITS.text_length,
        "uri": LIMITS.uri_length,
        "s3_uri": LIMITS.uri_length,
        "artifact_path": LIMITS.artifact_path_length,
        "logged_model_name": LIMITS.name_length,
    }
    assert {k: v["maxLength"] for k, v in defs.items() if "maxLength" in v} == expected_max_length
    for tags in ("run_tags", "experiment_tags", "registry_tags"):
        assert defs[tags]["maxProperties"] == LIMITS.tags_per_batch
    assert defs["int64"]["minimum"] == f.INT64_MIN and defs["int64"]["maximum"] == f.INT64_MAX
    assert defs["version"]["maximum"] == f.INT32_MAX
    params = load_schema(EventType.RUN_PARAMS)["$defs"]["body"]["properties"]["params"]
    assert params["maxItems"] == LIMITS.params_per_batch
    tags = load_schema(EventType.RUN_TAGS)["$defs"]["body"]["properties"]["tags"]
    assert tags["maxItems"] == LIMITS.tags_per_batch
    metrics = load_schema(EventType.RUN_METRICS)["$defs"]["body"]["properties"]
    assert {c["maxItems"] for c in metrics.values()} == {LIMITS.metric_points_per_event}
    inputs = load_schema(EventType.RUN_INPUTS)["$defs"]
    assert inputs["body"]["properties"]["datasets"]["maxItems"] == LIMITS.datasets_per_event
    dataset = {k: v["maxLength"] for k, v in inputs["dataset"]["properties"].items()}
    assert dataset == {
        "name": LIMITS.dataset_name_length,
        "digest": LIMITS.dataset_digest_length,
        "source_type": LIMITS.text_length,
        "source": LIMITS.dataset_source_length,
        "schema": LIMITS.dataset_schema_length,
        "profile": LIMITS.dataset_profile_length,
    }
    predictions = load_schema(EventType.PREDICTIONS_LOGGED)["$defs"]
    assert predictions["body"]["properties"]["records"]["maxItems"] == LIMITS.predictions_per_event
    for name in ("request", "response"):
        record = predictions["record"]["properties"][name]
        assert record["maxLength"] == LIMITS.prediction_payload_length
    tags = inputs["dataset_input"]["properties"]["tags"]
    assert tags["maxItems"] == LIMITS.tags_per_batch
    assert {k: v["maxLength"] for k, v in tags["items"]["properties"].items()} == {
        "key": LIMITS.input_tag_key_length,
        "value": LIMITS.input_tag_value_length,
    }


def test_patterns_in_the_schema_files_are_the_patterns_of_the_code() -> None:
    defs = load_schema("envelope")["$defs"]
    assert defs["key"]["pattern"] == limits.KEY_PATTERN
    assert defs["model_name"]["pattern"] == limits.MODEL_NAME_PATTERN
    assert defs["alias"]["pattern"] == limits.ALIAS_PATTERN
    assert defs["artifact_path"]["pattern"] == limits.ARTIFACT_PATH_PATTERN
    assert defs["event_id"]["pattern"] == f.EVENT_ID_PATTERN
    assert defs["run_id"]["pattern"] == f.RUN_ID_PATTERN
    assert defs["experiment_id"]["pattern"] == f.EXPERIMENT_ID_PATTERN
    assert defs["request_id"]["pattern"] == f.REQUEST_ID_PATTERN
    assert defs["model_uuid"]["pattern"] == f.MODEL_UUID_PATTERN
    assert defs["sha256"]["pattern"] == f.SHA256_PATTERN
    assert defs["s3_uri"]["pattern"] == f.S3_URI_PATTERN
    assert defs["media_type"]["pattern"] == f.MEDIA_TYPE_PATTERN
    assert defs["model_id"]["pattern"] == lm.MODEL_ID_PATTERN
    assert defs["logged_model_name"]["pattern"] == lm.LOGGED_MODEL_NAME_PATTERN
    assert defs["principal"]["pattern"] == f.PRINCIPAL_PATTERN


def _verdict(check: Any) -> str:
    """Returns ``ok`` or the decode reason of a check."""
    try:
        check()
    except EventDecodeError as exc:
        return exc.reason
    return "ok"


@pytest.mark.parametrize(
    ("name", "sample"),
    [(t.value, s) for t, s in VALID_SAMPLES.items()] + EXTRA_VALID_SAMPLES,
    ids=[t.value for t in VALID_SAMPLES] + [n for n, _ in EXTRA_VALID_SAMPLES],
)
def test_valid_samples_pass_both(name: str, sample: dict[str, Any]) -> None:
    assert _verdict(lambda: decode(orjson.dumps(sample))) == "ok"
    assert _verdict(lambda: validate_with_schema(sample)) == "ok"


@pytest.mark.parametrize("bad", INVALID_SAMPLES, ids=[s.name for s in INVALID_SAMPLES])
def test_invalid_samples_fail_both_with_the_same_reason(bad: InvalidSample) -> None:
    assert _verdict(lambda: decode(orjson.dumps(bad.event))) == bad.reason
    expected = bad.reason if bad.schema_sees_it else "ok"
    assert _verdict(lambda: validate_with_schema(bad.event)) == expected


def test_every_type_has_several_invalid_samples_of_each_kind() -> None:
    for event_type in EventType:
        names = [s.name for s in INVALID_SAMPLES if s.event.get("type") == event_type.value]
        assert any("extra body field" in n for n in names), event_type
        assert any("missing" in n for n in names), event_type
        assert len(names) >= 5, event_type
        if BODY_MODELS[event_type].model_fields:
            assert any("wrong kind" in n for n in names), event_type
    limit_faults = {s.event["type"] for s in INVALID_SAMPLES if s.reason == "limit"}
    assert len(limit_faults) >= 12


def test_schemas_dir_can_be_moved_with_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "schemas" / "v1"
    copy.mkdir(parents=True)
    for path in schemas_dir().glob("*.json"):
        (copy / path.name).write_text(path.read_text())
    envelope = json.loads((copy / "envelope.json").read_text())
    envelope["$defs"]["key"]["maxLength"] = 3  # a stricter copy proves the copy is used
    (copy / "envelope.json").write_text(json.dumps(envelope))
    monkeypatch.setenv("RUNSTREAM_SCHEMAS_DIR", str(tmp_path / "schemas"))
    assert schemas_dir() == copy
    assert _verdict(lambda: validate_with_schema(VALID_SAMPLES[EventType.RUN_TAG_DELETED])) == (
        "limit"
    )
    monkeypatch.setenv("RUNSTREAM_SCHEMAS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="RUNSTREAM_SCHEMAS_DIR"):
        schemas_dir()


def test_validate_with_schema_rejects_non_objects() -> None:
    assert _verdict(lambda: validate_with_schema([1])) == "not_object"
    with pytest.raises(EventDecodeError) as info:
        validate_with_schema({**VALID_SAMPLES[EventType.RUN_ENDED], "run_id": None})
    assert info.value.path == "run_id"
