"""Errors to MLflow's HTTP answers, for the write gateway: one table, one envelope.

MLflow's envelope is ``{"error_code": "...", "message": "..."}`` with the status
MLflow's server uses for the code (``mlflow.exceptions``). The most specific class
in an exception's MRO wins; anything that is not a
:class:`~runstream.errors.RunstreamError` is a bug and says nothing of its internals.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response

from runstream.errors import (
    AlreadyExistsError,
    ArtifactPathError,
    InvalidTransitionError,
    NotFoundError,
    ObjectStoreError,
    ParamConflictError,
    PermissionDeniedError,
    RunstreamError,
    ServiceError,
    ValidationError,
)

log = logging.getLogger("runstream.gateway")

MLFLOW_ANSWERS: dict[type[BaseException], tuple[int, str]] = {
    AlreadyExistsError: (400, "RESOURCE_ALREADY_EXISTS"),
    ParamConflictError: (400, "INVALID_PARAMETER_VALUE"),
    InvalidTransitionError: (400, "INVALID_PARAMETER_VALUE"),
    ArtifactPathError: (400, "INVALID_PARAMETER_VALUE"),
    ValidationError: (400, "INVALID_PARAMETER_VALUE"),
    NotFoundError: (404, "RESOURCE_DOES_NOT_EXIST"),
    PermissionDeniedError: (403, "PERMISSION_DENIED"),
    ObjectStoreError: (503, "TEMPORARILY_UNAVAILABLE"),
    ServiceError: (503, "TEMPORARILY_UNAVAILABLE"),
    RunstreamError: (500, "INTERNAL_ERROR"),
}
"""Error class -> (HTTP status, MLflow ``error_code``)."""


class InvalidStateError(ValidationError):
    """A write the target's state does not allow (a deleted run, an archived model)."""


def answer_of(exc: BaseException) -> tuple[int, str]:
    """The (status, error code) of ``exc``: its most specific row, or a 500."""
    for klass in type(exc).__mro__:
        if klass in MLFLOW_ANSWERS:
            return MLFLOW_ANSWERS[klass]
    return (500, "INTERNAL_ERROR")


def mlflow_json(body: Any, status: int = 200) -> Response:
    """A JSON response (orjson; NaN and infinities never reach here)."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def error_response(exc: BaseException, where: str) -> Response:
    """MLflow's error envelope for ``exc`` raised while answering ``where``."""
    status, code = answer_of(exc)
    if status >= 500:
        if isinstance(exc, RunstreamError):
            log.warning("%s: %s", where, exc)
        else:
            log.exception("unhandled error on %s", where, exc_info=exc)
    known = isinstance(exc, RunstreamError) and code != "INTERNAL_ERROR"
    message = str(exc) if known else "internal error; the server log has the details"
    return mlflow_json({"error_code": code, "message": message}, status)


__all__ = ["MLFLOW_ANSWERS", "InvalidStateError", "answer_of", "error_response", "mlflow_json"]
