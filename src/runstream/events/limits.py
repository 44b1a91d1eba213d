"""Size and name limits: the one place every part of Runstream takes them from.

The SDK checks them before it queues anything, the event decoder checks them on
every message, and the JSON Schema files in ``schemas/v1/`` repeat the same numbers
and patterns (a drift test keeps them equal). Where MLflow has a limit we take
MLflow's, so that whatever MLflow accepts, Runstream accepts, and the reverse.
They are part of the event contract, so they live in ``events``, the lowest layer
that reads them.

Every check function is pure: it returns the value it was given when the value is
fine, raises :class:`~runstream.errors.LimitExceededError` when a size or count is
over its limit, and :class:`~runstream.errors.ValidationError` (or a subclass) when
the value has the wrong type or shape. Messages name the field and the limit.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Final, Literal

from runstream.errors import ArtifactPathError, LimitExceededError, ValidationError

__all__ = [
    "ALIAS_PATTERN",
    "ARTIFACT_PATH_PATTERN",
    "KEY_PATTERN",
    "LIMITS",
    "MODEL_NAME_PATTERN",
    "BatchKind",
    "Limits",
    "NameKind",
    "TagScope",
    "check_alias",
    "check_artifact_path",
    "check_batch_size",
    "check_description",
    "check_json_value",
    "check_key",
    "check_length",
    "check_message_size",
    "check_metric_value",
    "check_name",
    "check_param_value",
    "check_tag_value",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """Every size limit of the v1 contract; lengths count characters (code points).

    Attributes:
        key_length: param, metric and tag keys (MLflow ``MAX_ENTITY_KEY_LENGTH``).
        param_value_length: a param value (MLflow ``MAX_PARAM_VAL_LENGTH``).
        tag_value_length: a run tag value (MLflow ``MAX_TAG_VAL_LENGTH``).
        experiment_tag_value_length: an experiment tag value
            (MLflow ``MAX_EXPERIMENT_TAG_VAL_LENGTH``).
        registry_tag_value_length: a registered model or model version tag value
            (MLflow ``MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH``).
        name_length: an experiment name (MLflow ``MAX_EXPERIMENT_NAME_LENGTH``) and,
            by the same rule, a run name.
        model_name_length: a registered model name (MLflow's column width).
        alias_length: a model alias (MLflow ``MAX_REGISTERED_MODEL_ALIAS_LENGTH``).
        description_length: run and registry descriptions (MLflow's column width).
        text_length: other short strings: user, source name, git commit, media type.
        uri_length: URIs: artifact location, artifact object URI, version source
            (MLflow ``MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH`` default).
        artifact_path_length: an artifact path relative to the run's artifact root.
        params_per_batch: params in one ``run.params`` event
            (MLflow ``MAX_PARAMS_TAGS_PER_BATCH``).
        tags_per_batch: tags in one event, as a list or an object (same MLflow limit).
        metrics_per_batch: metrics in one MLflow-style ``log_batch`` call
            (MLflow ``MAX_METRICS_PER_BATCH``); the SDK's API honours it.
        metric_points_per_event: points in one ``run.metrics`` event; the SDK packs
            many ``log_batch`` calls into one event, up to this and to ``message_bytes``.
        message_bytes: one encoded event, in bytes (1 MiB, Kafka's default
            ``max.message.bytes`` rounded to a power of two).
        dataset_name_length: a dataset's name (MLflow ``MAX_DATASET_NAME_SIZE``).
        dataset_digest_length: a dataset's digest (MLflow ``MAX_DATASET_DIGEST_SIZE``).
        dataset_source_length: a dataset's source, JSON text
            (MLflow ``MAX_DATASET_SOURCE_SIZE``).
        dataset_schema_length: a dataset's schema, JSON text
            (MLflow ``MAX_DATASET_SCHEMA_SIZE``).
        dataset_profile_length: a dataset's profile, JSON text (MLflow allows 16 MiB;
            ``message_bytes`` bounds a whole event, so the event's size decides first).
        input_tag_key_length: a dataset input's tag key (MLflow ``MAX_INPUT_TAG_KEY_SIZE``).
        input_tag_value_length: a dataset input's tag value
            (MLflow ``MAX_INPUT_TAG_VALUE_SIZE``).
        datasets_per_event: datasets in one ``run.inputs`` event
            (MLflow ``MAX_DATASETS_PER_BATCH``).
        predictions_per_event: answered requests in one ``predictions.logged`` event.
        prediction_payload_length: the request or response text kept per prediction
            (a longer one is cut there and marked ``truncated``).
        json_depth: nesting depth of free-form JSON fields (model flavors,
            signature, input example); ``[]`` is depth 1. It keeps every decoded event
            re-encodable (orjson writes at most ~250 levels) and stack-safe.
    """

    key_length: int = 250
    param_value_length: int = 6000
    tag_value_length: int = 8000
    experiment_tag_value_length: int = 20_000
    registry_tag_value_length: int = 100_000
    name_length: int = 500
    model_name_length: int = 256
    alias_length: int = 255
    description_length: int = 5000
    text_length: int = 500
    uri_length: int = 2048
    artifact_path_length: int = 1024
    params_per_batch: int = 100
    tags_per_batch: int = 100
    metrics_per_batch: int = 1000
    metric_points_per_event: int = 10_000
    message_bytes: int = 1_048_576
    dataset_name_length: int = 500
    dataset_digest_length: int = 36
    dataset_source_length: int = 65_535
    dataset_schema_length: int = 1_048_575
    dataset_profile_length: int = 16_777_215
    input_tag_key_length: int = 255
    input_tag_value_length: int = 500
    datasets_per_event: int = 1000
    predictions_per_event: int = 1000
    prediction_payload_length: int = 16_384
    json_depth: int = 64


LIMITS: Final = Limits()
"""The limits in force; pass another :class:`Limits` only in tests."""

# The patterns below are evaluated with Python's ``re.search`` both here and by the
# ``jsonschema`` library, so the schema files can carry them verbatim. ``\w`` is
# therefore Unicode-aware, as in MLflow. Each ends in ``$(?!\n)`` because Python's
# ``$`` also matches before a final newline, which would let "key\n" through.

KEY_PATTERN: Final = r"^(?!/)(?!\.\.)(?!.*//)(?!.*/$)(?!(?:.*/)?\.{1,2}(?:/|$))[\w.\- :/]+$(?!\n)"
"""Param, metric and tag keys: MLflow's characters, and a normalised relative path."""

MODEL_NAME_PATTERN: Final = r"^(?!\s*$)(?!\.\.)(?!\.$)[^/:\x00-\x1f\x7f]+$(?!\n)"
"""Registered model names: not blank, no ``/`` or ``:`` (they break ``models:/`` URIs)."""

ALIAS_PATTERN: Final = r"^(?![vV][0-9]+$)(?![Ll][Aa][Tt][Ee][Ss][Tt]$)[\w\-]+$(?!\n)"
"""Model aliases: MLflow's characters; ``latest`` and ``v<digits>`` are reserved."""

ARTIFACT_PATH_PATTERN: Final = (
    r"^(?!/)(?!.*//)(?!.*/$)(?!(?:.*/)?\.{1,2}(?:/|$))[^\\\x00-\x1f\x7f]+$(?!\n)"
)
"""Artifact paths: relative, normalised, ``/``-separated, no control characters."""

_KEY_RE: Final = re.compile(KEY_PATTERN)
_KEY_CHARS_RE: Final = re.compile(r"^[\w.\- :/]+$(?!\n)")
_MODEL_NAME_RE: Final = re.compile(MODEL_NAME_PATTERN)
_ALIAS_RE: Final = re.compile(ALIAS_PATTERN)
_ARTIFACT_PATH_RE: Final = re.compile(ARTIFACT_PATH_PATTERN)

NameKind = Literal["experiment", "run", "model"]
TagScope = Literal["run", "experiment", "registry"]
BatchKind = Literal["params", "tags", "metrics", "metric points", "datasets", "predictions"]


def _preview(value: str) -> str:
    """Returns a short repr of ``value`` for messages, so a 1 MB value stays readable."""
    return repr(value) if len(value) <= 40 else repr(value[:37] + "...")


def _require_str(field: str, value: object) -> str:
    """Returns ``value`` if it is a ``str``, else raises ValidationError naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, not {type(value).__name__}")
    return value


def check_length(field: str, value: object, limit: int) -> str:
    """Checks that ``value`` is a string of at most ``limit`` characters.

    Args:
        field: what the value is, for the message (e.g. ``"user id"``).
        value: the value to check.
        limit: the maximum number of characters.

    Returns:
        ``value``, unchanged.

    Raises:
        ValidationError: ``value`` is not a string.
        LimitExceededError: ``value`` is longer than ``limit``.
    """
    text = _require_str(field, value)
    if len(text) > limit:
        raise LimitExceededError(
            f"{field} {_preview(text)} is {len(text)} characters long; the limit is {limit}"
        )
    return text


def check_key(kind: str, key: object) -> str:
    """Checks a param, metric or tag key against MLflow's rules and the key length.

    A key is non-empty, at most ``LIMITS.key_length`` characters, made of
    alphanumerics, underscores, dashes, periods, spaces, colons and slashes, and is
    a normalised relative path: no leading or trailing ``/``, no ``//``, no ``.`` or
    ``..`` segment, and no leading ``..`` (MLflow stores keys as file names).

    Args:
        kind: what the key names, for the message (``"param"``, ``"metric"``, ...).
        key: the key to check.

    Returns:
        ``key``, unchanged.

    Raises:
        ValidationError: not a string, empty, bad characters, or not a normalised path.
        LimitExceededError: longer than ``LIMITS.key_length``.
    """
    text = check_length(f"{kind} key", key, LIMITS.key_length)
    if not text:
        raise ValidationError(f"{kind} key must not be empty")
    if _KEY_RE.search(text):
        return text
    if not _KEY_CHARS_RE.search(text):
        raise ValidationError(
            f"{kind} key {_preview(text)} has a character that is not allowed: keys may "
            "only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            "spaces ( ), colons (:) and slashes (/)"
        )
    raise ValidationError(
        f"{kind} key {_preview(text)} is not a normalised relative path (it would resolve "
        f"to {posixpath.normpath(text)!r}): no leading or trailing '/', no '//', "
        "no '.' or '..' segments, and no leading '..'"
    )


def check_param_value(value: object) -> str:
    """Checks a param value: a string of at most ``LIMITS.param_value_length`` characters.

    Raises:
        ValidationError: not a string.
        LimitExceededError: too long.
    """
    return check_length("param value", value, LIMITS.param_value_length)


_TAG_VALUE_LIMITS: Final[dict[str, int]] = {
    "run": LIMITS.tag_value_length,
    "experiment": LIMITS.experiment_tag_value_length,
    "registry": LIMITS.registry_tag_value_length,
}


def check_tag_value(value: object, *, scope: TagScope = "run") -> str:
    """Checks a tag value against the limit of its scope (MLflow's per-scope limits).

    Args:
        value: the tag value.
        scope: ``"run"``, ``"experiment"`` or ``"registry"`` (model and version tags).

    Raises:
        ValidationError: not a string.
        LimitExceededError: longer than the scope's limit.
    """
    return check_length(f"{scope} tag value", value, _TAG_VALUE_LIMITS[scope])


def check_metric_value(value: object) -> float:
    """Checks a metric value: an int or float, not a bool; NaN and ±Inf are allowed.

    Returns:
        The value as a float.

    Raises:
        ValidationError: a bool, or not a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(
            f"metric value must be a number (a 64-bit float), not {type(value).__name__}"
        )
    try:
        return float(value)
    except OverflowError:
        raise ValidationError(f"metric value {value} does not fit a 64-bit float") from None


def check_name(kind: NameKind, name: object) -> str:
    """Checks an experiment, run or registered model name.

    Experiment and run names are non-empty and at most ``LIMITS.name_length``
    characters. Model names follow MLflow: not blank, no ``/`` or ``:``, not ``.``
    or starting with ``..``, no control characters, at most
    ``LIMITS.model_name_length`` characters.

    Raises:
        ValidationError: not a string, empty, or a bad model name.
        LimitExceededError: too long.
    """
    limit = LIMITS.model_name_length if kind == "model" else LIMITS.name_length
    text = check_length(f"{kind} name", name, limit)
    if not text:
        raise ValidationError(f"{kind} name must not be empty")
    if kind == "model" and not _MODEL_NAME_RE.search(text):
        raise ValidationError(
            f"model name {_preview(text)} is not allowed: it must not be blank, '.', "
            "start with '..', or contain '/', ':' or control characters"
        )
    return text


def check_description(value: object) -> str:
    """Checks a run or registry description (at most ``LIMITS.description_length``).

    Raises:
        ValidationError: not a string.
        LimitExceededError: too long.
    """
    return check_length("description", value, LIMITS.description_length)


def check_alias(alias: object) -> str:
    """Checks a registered model alias against MLflow's rules.

    Non-empty, at most ``LIMITS.alias_length`` characters of alphanumerics,
    underscores and dashes; ``latest`` (any case) and ``v<digits>`` are reserved.

    Raises:
        ValidationError: not a string, empty, bad characters, or reserved.
        LimitExceededError: too long.
    """
    text = check_length("alias", alias, LIMITS.alias_length)
    if not _ALIAS_RE.search(text):
        raise ValidationError(
            f"alias {_preview(text)} is not allowed: aliases are non-empty, contain only "
            "alphanumerics, underscores (_) and dashes (-), and 'latest' and "
            "'v<number>' are reserved"
        )
    return text


def check_artifact_path(path: object) -> str:
    """Checks an artifact path: relative to the run's artifact root and normalised.

    No leading or trailing ``/``, no ``//``, no ``.`` or ``..`` segments, no
    backslashes or control characters, at most ``LIMITS.artifact_path_length``.

    Raises:
        ArtifactPathError: not a string, empty, absolute, or escaping its root.
        LimitExceededError: too long.
    """
    if not isinstance(path, str):
        raise ArtifactPathError(f"artifact path must be a string, not {type(path).__name__}")
    text = check_length("artifact path", path, LIMITS.artifact_path_length)
    if not _ARTIFACT_PATH_RE.search(text):
        raise ArtifactPathError(
            f"artifact path {_preview(text)} must be relative and normalised: no leading "
            "or trailing '/', no '//', no '.' or '..' segments, no backslashes or "
            "control characters"
        )
    return text


_BATCH_LIMITS: Final[dict[str, int]] = {
    "params": LIMITS.params_per_batch,
    "tags": LIMITS.tags_per_batch,
    "metrics": LIMITS.metrics_per_batch,
    "metric points": LIMITS.metric_points_per_event,
    "datasets": LIMITS.datasets_per_event,
    "predictions": LIMITS.predictions_per_event,
}


def check_batch_size(kind: BatchKind, count: int) -> int:
    """Checks the number of items in one batch or event.

    Args:
        kind: ``"params"``, ``"tags"``, ``"metrics"`` (an MLflow-style ``log_batch``)
            ``"metric points"`` (one ``run.metrics`` event) or ``"datasets"`` (one
            ``run.inputs`` event).
        count: the number of items.

    Raises:
        LimitExceededError: more than the limit for ``kind``.
    """
    limit = _BATCH_LIMITS[kind]
    if count > limit:
        raise LimitExceededError(f"{count} {kind} in one batch; the limit is {limit}")
    return count


def check_message_size(size: int) -> int:
    """Checks the size in bytes of one encoded event against ``LIMITS.message_bytes``.

    Raises:
        LimitExceededError: the event is larger than the limit.
    """
    if size > LIMITS.message_bytes:
        raise LimitExceededError(
            f"event is {size} bytes; the limit is {LIMITS.message_bytes} bytes "
            "(split the batch into smaller events)"
        )
    return size


_INT64_MIN: Final = -(2**63)
_UINT64_MAX: Final = 2**64 - 1


def check_json_value(field: str, value: object) -> object:
    """Checks that ``value`` is plain JSON no deeper than ``LIMITS.json_depth``.

    Plain JSON is dicts with string keys, lists, strings, bools, None, finite
    floats and integers that fit 64 bits (what orjson reads and writes). The walk
    is iterative, so a hostile value cannot exhaust the stack.

    Args:
        field: the field holding the value, for the message (``"input example"``).
        value: the value to check.

    Returns:
        ``value``, unchanged.

    Raises:
        ValidationError: something that is not plain JSON.
        LimitExceededError: nested deeper than ``LIMITS.json_depth``.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > LIMITS.json_depth:
                raise LimitExceededError(
                    f"{field} is nested more than {LIMITS.json_depth} levels deep; "
                    f"the limit is {LIMITS.json_depth}"
                )
            if isinstance(item, dict):
                if not all(isinstance(k, str) for k in item):
                    raise ValidationError(f"{field} has an object key that is not a string")
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValidationError(f"{field} holds {item}, which JSON cannot carry")
        elif isinstance(item, int) and not isinstance(item, bool):
            if not _INT64_MIN <= item <= _UINT64_MAX:
                raise ValidationError(f"{field} holds an integer that does not fit 64 bits")
        elif item is not None and not isinstance(item, str | bool):
            raise ValidationError(f"{field} holds a {type(item).__name__}, which is not JSON")
    return value
