"""One table maps every domain error to its HTTP answer, in both envelopes."""

from __future__ import annotations

import inspect

import pytest

import runstream.errors as errors_module
from runstream.errors import (
    ArtifactPathError,
    BufferFullError,
    FilterParseError,
    LakeError,
    NotFoundError,
    PageTokenError,
    QueryTimeoutError,
    RunstreamError,
    SqlRejectedError,
    ValidationError,
)
from runstream.query.http.errors import (
    ERROR_TABLE,
    INTERNAL,
    answer_for,
    answer_for_status,
    error_body,
    public_message,
)

ALL_ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors_module, inspect.isclass)
    if issubclass(cls, RunstreamError)
]


@pytest.mark.parametrize(
    ("exc", "status", "code", "mlflow"),
    [
        (
            FilterParseError("x", position=3, expected="y"),
            400,
            "invalid_filter",
            "INVALID_PARAMETER_VALUE",
        ),
        (PageTokenError("x"), 400, "invalid_page_token", "INVALID_PARAMETER_VALUE"),
        (ArtifactPathError("x"), 400, "invalid_artifact_path", "INVALID_PARAMETER_VALUE"),
        (SqlRejectedError("x"), 400, "sql_rejected", "INVALID_PARAMETER_VALUE"),
        (ValidationError("x"), 400, "invalid_request", "INVALID_PARAMETER_VALUE"),
        (NotFoundError("x"), 404, "not_found", "RESOURCE_DOES_NOT_EXIST"),
        (QueryTimeoutError("x"), 504, "query_timeout", "DEADLINE_EXCEEDED"),
        (LakeError("x"), 503, "lake_unavailable", "TEMPORARILY_UNAVAILABLE"),
        (BufferFullError("x"), 500, "internal_error", "INTERNAL_ERROR"),
        (KeyError("x"), 500, "internal_error", "INTERNAL_ERROR"),
    ],
)
def test_each_error_has_one_answer(exc: Exception, status: int, code: str, mlflow: str) -> None:
    answer = answer_for(exc)
    assert (answer.status, answer.code, answer.mlflow_code) == (status, code, mlflow)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_domain_error_is_answered_without_a_500_unless_it_is_ours(cls: type) -> None:
    answer = answer_for(cls.__new__(cls))
    client_errors = (errors_module.ValidationError, errors_module.NotFoundError)
    if issubclass(cls, client_errors):
        assert 400 <= answer.status < 500
    if issubclass(cls, errors_module.ServiceError):
        assert answer.status in (503, 504)


def test_table_rows_are_all_runstream_errors() -> None:
    assert all(issubclass(cls, RunstreamError) for cls in ERROR_TABLE)


def test_native_envelope_carries_the_parse_position() -> None:
    exc = FilterParseError("bad at 7", position=7, expected="a number")
    body = error_body("/api/v1/runs/search", answer_for(exc), str(exc), exc)
    assert body == {
        "error": {
            "code": "invalid_filter",
            "message": "bad at 7",
            "position": 7,
            "expected": "a number",
        }
    }


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"])
def test_mlflow_envelope(prefix: str) -> None:
    exc = NotFoundError("Run 'x' not found")
    body = error_body(prefix + "runs/get", answer_for(exc), str(exc), exc)
    assert body == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'x' not found"}


def test_bugs_never_leak_their_message() -> None:
    exc = RuntimeError("password=hunter2 at /srv/secret")
    assert "hunter2" not in public_message(exc, answer_for(exc))
    assert answer_for(exc) is INTERNAL


def test_http_statuses() -> None:
    assert answer_for_status(404).mlflow_code == "ENDPOINT_NOT_FOUND"
    assert answer_for_status(401).code == "unauthenticated"
    assert answer_for_status(501).mlflow_code == "NOT_IMPLEMENTED"
    assert answer_for_status(418).status == 418
