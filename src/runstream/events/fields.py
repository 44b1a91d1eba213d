"""Field types of the v1 events, each tied to its rule in :mod:`runstream.events.limits`.

Every string type is strict (no coercion from numbers), so the pydantic models
accept exactly what the JSON Schema files accept. Integers also accept integral
floats such as ``3.0``, because JSON Schema's ``integer`` does; the value becomes
an ``int``. A failed limit becomes a pydantic error of type :data:`LIMIT_ERROR`, a
failed shape rule one of type :data:`CONTRACT_ERROR`; the codec maps them to the
``limit`` and ``schema`` decode reasons.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Final, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from runstream.errors import LimitExceededError
from runstream.errors import ValidationError as RunstreamValidationError
from runstream.events.limits import (
    LIMITS,
    check_alias,
    check_artifact_path,
    check_batch_size,
    check_description,
    check_json_value,
    check_key,
    check_length,
    check_name,
    check_param_value,
    check_tag_value,
)

LIMIT_ERROR: Final = "runstream_limit"
CONTRACT_ERROR: Final = "runstream_contract"

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
INT32_MAX: Final = 2**31 - 1

# Formats of identifiers and URIs; the schema files repeat them (drift-tested).
EVENT_ID_PATTERN: Final = (
    r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$(?!\n)"
)
RUN_ID_PATTERN: Final = r"^[0-9a-f]{32}$(?!\n)"
EXPERIMENT_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$(?!\n)"
REQUEST_ID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$(?!\n)"
MODEL_UUID_PATTERN: Final = r"^[0-9a-f]{32}$(?!\n)"
SHA256_PATTERN: Final = r"^[0-9a-f]{64}$(?!\n)"
S3_URI_PATTERN: Final = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/[^\x00-\x1f\x7f]+$(?!\n)"
PRINCIPAL_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,127}$(?!\n)"
TOKEN_ID_PATTERN: Final = r"^[0-9a-f]{16}$(?!\n)"
PASSWORD_HASH_PATTERN: Final = r"^\$argon2id\$[!-~]{1,250}$(?!\n)"
MEDIA_TYPE_PATTERN: Final = (
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]*(?:;.*)?$(?!\n)"
)

T = TypeVar("T")


def actor_name(name: str | None) -> str | None:
    """``name`` as the ``actor`` of an audited change, or None when it is no principal name.

    A user's name from a login (an OIDC claim, the SDK's login name) may hold
    characters a principal name may not; the change is then made and audited
    without its actor rather than refused.
    """
    if name is None or re.search(PRINCIPAL_PATTERN, name) is None:
        return None
    return name


def as_pydantic_check(check: Callable[[Any], T]) -> Callable[[Any], T]:
    """Wraps a ``events.limits`` check so pydantic reports its failures as field errors.

    Pydantic only turns ``ValueError`` and its own errors into field errors; our
    checks raise Runstream errors, which would otherwise escape validation.
    """

    def run(value: Any) -> T:
        try:
            return check(value)
        except LimitExceededError as exc:
            raise PydanticCustomError(LIMIT_ERROR, "{detail}", {"detail": str(exc)}) from None
        except RunstreamValidationError as exc:
            raise PydanticCustomError(CONTRACT_ERROR, "{detail}", {"detail": str(exc)}) from None

    return run


def _matches(what: str, pattern: str) -> AfterValidator:
    """Returns a validator that requires ``pattern`` (searched as jsonschema does)."""
    compiled = re.compile(pattern)

    def run(value: str) -> str:
        if compiled.search(value) is None:
            raise PydanticCustomError(
                CONTRACT_ERROR, "{detail}", {"detail": f"{value[:80]!r} is not {what}"}
            )
        return value

    return AfterValidator(run)


def _length(field: str, limit: int, *, min_length: int = 0) -> AfterValidator:
    """Returns a validator for a string's length, the upper bound a limit."""

    def run(value: str) -> str:
        if len(value) < min_length:
            raise PydanticCustomError(
                CONTRACT_ERROR, "{detail}", {"detail": f"{field} must not be empty"}
            )
        return check_length(field, value, limit)

    return AfterValidator(as_pydantic_check(run))


def integral(value: Any) -> Any:
    """Turns an integral float (``3.0``) into an int, as JSON Schema's ``integer`` allows."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _tag_count(value: dict[str, str]) -> dict[str, str]:
    """Checks the number of entries of a tags object."""
    check_batch_size("tags", len(value))
    return value


_TagCount = AfterValidator(as_pydantic_check(_tag_count))

Bool = Annotated[bool, Strict()]
Millis = Annotated[int, BeforeValidator(integral), Strict(), Field(ge=0, le=INT64_MAX)]
Version = Annotated[int, BeforeValidator(integral), Strict(), Field(ge=1, le=INT32_MAX)]

EventId = Annotated[str, Strict(), _matches("a lowercase UUIDv7", EVENT_ID_PATTERN)]
RunId = Annotated[str, Strict(), _matches("a run id (32 lowercase hex)", RUN_ID_PATTERN)]
ExperimentId = Annotated[
    str, Strict(), _matches("an experiment id ([A-Za-z0-9_-], <= 64)", EXPERIMENT_ID_PATTERN)
]
RequestId = Annotated[str, Strict(), _matches("a lowercase UUID", REQUEST_ID_PATTERN)]
ModelUuid = Annotated[
    str, Strict(), _matches("a model uuid (32 lowercase hex)", MODEL_UUID_PATTERN)
]
Sha256 = Annotated[str, Strict(), _matches("a sha256 (64 lowercase hex)", SHA256_PATTERN)]

ParamKey = Annotated[str, Strict(), AfterValidator(as_pydantic_check(partial(check_key, "param")))]
TagKey = Annotated[str, Strict(), AfterValidator(as_pydantic_check(partial(check_key, "tag")))]
ParamValue = Annotated[str, Strict(), AfterValidator(as_pydantic_check(check_param_value))]
RunTagValue = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(partial(check_tag_value, scope="run")))
]
ExperimentTagValue = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(partial(check_tag_value, scope="experiment")))
]
RegistryTagValue = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(partial(check_tag_value, scope="registry")))
]
RunTags = Annotated[dict[TagKey, RunTagValue], _TagCount]
ExperimentTags = Annotated[dict[TagKey, ExperimentTagValue], _TagCount]
RegistryTags = Annotated[dict[TagKey, RegistryTagValue], _TagCount]

ExperimentName = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(partial(check_name, "experiment")))
]
RunName = Annotated[str, Strict(), AfterValidator(as_pydantic_check(partial(check_name, "run")))]
ModelName = Annotated[
    str, Strict(), AfterValidator(as_pydantic_check(partial(check_name, "model")))
]
Alias = Annotated[str, Strict(), AfterValidator(as_pydantic_check(check_alias))]
Description = Annotated[str, Strict(), AfterValidator(as_pydantic_check(check_description))]
ArtifactPath = Annotated[str, Strict(), AfterValidator(as_pydantic_check(check_artifact_path))]

PrincipalName = Annotated[
    str, Strict(), _matches("a user or group name (letters, digits, . _ @ + -)", PRINCIPAL_PATTERN)
]
TokenId = Annotated[str, Strict(), _matches("a token id (16 lowercase hex)", TOKEN_ID_PATTERN)]
PasswordHash = Annotated[
    str, Strict(), _matches("an argon2id password hash", PASSWORD_HASH_PATTERN)
]
ResourceId = Annotated[
    str, Strict(), _length("resource id", LIMITS.model_name_length, min_length=1)
]
UserId = Annotated[str, Strict(), _length("user id", LIMITS.text_length)]
SourceName = Annotated[str, Strict(), _length("source name", LIMITS.text_length)]
GitCommit = Annotated[str, Strict(), _length("git commit", LIMITS.text_length)]
# Datasets of ``run.inputs`` (MLflow's ``Dataset`` and ``InputTag`` limits).
DatasetName = Annotated[
    str, Strict(), _length("dataset name", LIMITS.dataset_name_length, min_length=1)
]
DatasetDigest = Annotated[
    str, Strict(), _length("dataset digest", LIMITS.dataset_digest_length, min_length=1)
]
DatasetSourceType = Annotated[
    str, Strict(), _length("dataset source type", LIMITS.text_length, min_length=1)
]
DatasetSource = Annotated[str, Strict(), _length("dataset source", LIMITS.dataset_source_length)]
DatasetSchema = Annotated[str, Strict(), _length("dataset schema", LIMITS.dataset_schema_length)]
DatasetProfile = Annotated[
    str, Strict(), _length("dataset profile", LIMITS.dataset_profile_length)
]
InputTagKey = Annotated[
    str, Strict(), _length("input tag key", LIMITS.input_tag_key_length, min_length=1)
]
InputTagValue = Annotated[str, Strict(), _length("input tag value", LIMITS.input_tag_value_length)]
MediaType = Annotated[
    str,
    Strict(),
    _length("media type", LIMITS.text_length),
    _matches("a media type (type/subtype)", MEDIA_TYPE_PATTERN),
]
Uri = Annotated[str, Strict(), _length("uri", LIMITS.uri_length, min_length=1)]
S3Uri = Annotated[
    str,
    Strict(),
    _length("uri", LIMITS.uri_length),
    _matches("an s3://bucket/key URI", S3_URI_PATTERN),
]

# Free-form JSON (model flavors, signature, input example): checked by one
# iterative walk instead of pydantic's JsonValue, whose recursion limit (~250)
# differs from orjson's and from JSON Schema's (none).
JsonObject = Annotated[
    dict[str, Any], AfterValidator(as_pydantic_check(partial(check_json_value, "JSON field")))
]
AnyJson = Annotated[Any, AfterValidator(as_pydantic_check(partial(check_json_value, "JSON field")))]
