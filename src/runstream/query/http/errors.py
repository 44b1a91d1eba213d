"""The one table from domain errors to HTTP answers, and the two error envelopes.

Native API (``/api/v1``, health, SQL)::

    {"error": {"code": "invalid_filter", "message": "...", "position": 12, "expected": "..."}}

MLflow API (``/api/2.0/mlflow``, ``/ajax-api/2.0/mlflow``), as MLflow's server::

    {"error_code": "INVALID_PARAMETER_VALUE", "message": "..."}

Lookups walk the exception's class hierarchy, so the most specific row wins and
a new subclass of a known error gets its parent's answer. Anything that is not
a :class:`~runstream.errors.RunstreamError` is a bug: it becomes a 500 whose
message says nothing of the internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runstream.errors import (
    ArtifactPathError,
    AuthenticationError,
    ConfigError,
    FilterParseError,
    InvalidTransitionError,
    LakeError,
    LimitExceededError,
    NotFoundError,
    ObjectStoreError,
    PageTokenError,
    PermissionDeniedError,
    QueryTimeoutError,
    RunstreamError,
    ServiceError,
    SqlRejectedError,
    SqlTimeLimitError,
    TooManyAttemptsError,
    ValidationError,
)

MLFLOW_PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/2.0/preview/mlflow/")


@dataclass(frozen=True)
class ErrorAnswer:
    """How one kind of error is answered.

    Attributes:
        status: the HTTP status.
        code: the native API's error code.
        mlflow_code: MLflow's ``error_code`` for the same situation.
    """

    status: int
    code: str
    mlflow_code: str


ERROR_TABLE: dict[type[BaseException], ErrorAnswer] = {
    FilterParseError: ErrorAnswer(400, "invalid_filter", "INVALID_PARAMETER_VALUE"),
    PageTokenError: ErrorAnswer(400, "invalid_page_token", "INVALID_PARAMETER_VALUE"),
    ArtifactPathError: ErrorAnswer(400, "invalid_artifact_path", "INVALID_PARAMETER_VALUE"),
    SqlRejectedError: ErrorAnswer(400, "sql_rejected", "INVALID_PARAMETER_VALUE"),
    SqlTimeLimitError: ErrorAnswer(400, "sql_time_limit", "INVALID_PARAMETER_VALUE"),
    TooManyAttemptsError: ErrorAnswer(429, "too_many_attempts", "REQUEST_LIMIT_EXCEEDED"),
    AuthenticationError: ErrorAnswer(401, "unauthenticated", "UNAUTHENTICATED"),
    PermissionDeniedError: ErrorAnswer(403, "permission_denied", "PERMISSION_DENIED"),
    LimitExceededError: ErrorAnswer(400, "limit_exceeded", "INVALID_PARAMETER_VALUE"),
    InvalidTransitionError: ErrorAnswer(400, "invalid_value", "INVALID_PARAMETER_VALUE"),
    ValidationError: ErrorAnswer(400, "invalid_request", "INVALID_PARAMETER_VALUE"),
    NotFoundError: ErrorAnswer(404, "not_found", "RESOURCE_DOES_NOT_EXIST"),
    QueryTimeoutError: ErrorAnswer(504, "query_timeout", "DEADLINE_EXCEEDED"),
    LakeError: ErrorAnswer(503, "lake_unavailable", "TEMPORARILY_UNAVAILABLE"),
    ObjectStoreError: ErrorAnswer(503, "object_store_unavailable", "TEMPORARILY_UNAVAILABLE"),
    ServiceError: ErrorAnswer(503, "service_unavailable", "TEMPORARILY_UNAVAILABLE"),
    ConfigError: ErrorAnswer(500, "config_error", "INTERNAL_ERROR"),
    RunstreamError: ErrorAnswer(500, "internal_error", "INTERNAL_ERROR"),
}
"""Domain error -> answer; the most specific class in an exception's MRO wins."""

INTERNAL = ErrorAnswer(500, "internal_error", "INTERNAL_ERROR")

# HTTP-level situations that are not domain errors.
HTTP_ANSWERS: dict[int, ErrorAnswer] = {
    400: ErrorAnswer(400, "invalid_request", "INVALID_PARAMETER_VALUE"),
    401: ErrorAnswer(401, "unauthenticated", "UNAUTHENTICATED"),
    403: ErrorAnswer(403, "permission_denied", "PERMISSION_DENIED"),
    404: ErrorAnswer(404, "endpoint_not_found", "ENDPOINT_NOT_FOUND"),
    405: ErrorAnswer(405, "method_not_allowed", "ENDPOINT_NOT_FOUND"),
    413: ErrorAnswer(413, "request_too_large", "INVALID_PARAMETER_VALUE"),
    501: ErrorAnswer(501, "not_implemented", "NOT_IMPLEMENTED"),
}


def answer_for(exc: BaseException) -> ErrorAnswer:
    """Return the answer for ``exc``: its most specific row, or a plain 500."""
    for klass in type(exc).__mro__:
        found = ERROR_TABLE.get(klass)
        if found is not None:
            return found
    return INTERNAL


def answer_for_status(status: int) -> ErrorAnswer:
    """Return the answer for an HTTP-level status (404 route, 405 method, ...)."""
    if status in HTTP_ANSWERS:
        return HTTP_ANSWERS[status]
    if status >= 500:
        return INTERNAL
    return ErrorAnswer(status, "http_error", "BAD_REQUEST")


def is_mlflow_path(path: str) -> bool:
    """Whether a request path belongs to the MLflow-compatible API."""
    return path.startswith(MLFLOW_PREFIXES)


def error_body(
    path: str, answer: ErrorAnswer, message: str, exc: BaseException | None = None
) -> dict[str, Any]:
    """Build the error envelope of the API that ``path`` belongs to."""
    if is_mlflow_path(path):
        return {"error_code": answer.mlflow_code, "message": message}
    body: dict[str, Any] = {"code": answer.code, "message": message}
    if isinstance(exc, FilterParseError):
        body["position"] = exc.position
        body["expected"] = exc.expected
    return {"error": body}


def public_message(exc: BaseException, answer: ErrorAnswer) -> str:
    """The message a client may see: the domain message, or nothing of a bug's internals."""
    if answer is INTERNAL or not isinstance(exc, RunstreamError):
        return "internal error; the server log has the details"
    return str(exc) or type(exc).__name__


__all__ = [
    "ERROR_TABLE",
    "HTTP_ANSWERS",
    "INTERNAL",
    "MLFLOW_PREFIXES",
    "ErrorAnswer",
    "answer_for",
    "answer_for_status",
    "error_body",
    "is_mlflow_path",
    "public_message",
]
