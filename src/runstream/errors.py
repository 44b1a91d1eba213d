"""The one error hierarchy of Runstream.

Every error raised on purpose by Runstream derives from :class:`RunstreamError`.
Library errors (aiokafka, minio, duckdb, ...) are translated at the adapter that
calls the library, with ``raise ... from exc``, so callers never catch a
third-party exception type.

::

    RunstreamError
    ├── ConfigError                 bad or missing setting (names the variable)
    │   └── ExtraMissingError       an optional extra is not installed (names it)
    ├── ValidationError             input that breaks a contract or a limit
    │   ├── EventDecodeError        bytes that are not a valid v1 event
    │   ├── LimitExceededError      a size or length limit from events.limits
    │   ├── ParamConflictError      a param logged again with another value
    │   ├── InvalidTransitionError  a run status or model stage change not allowed
    │   ├── FilterParseError        a search filter / order_by that does not parse
    │   ├── PageTokenError          a page token that is not one we issued
    │   ├── ArtifactPathError       an artifact path that is absolute or escapes
    │   ├── SqlRejectedError        SQL that is not one read-only statement
    │   ├── SqlTimeLimitError       SQL that ran past the statement time limit
    │   ├── AlreadyExistsError      a name that is taken (experiment, registered model)
    │   └── ProjectError            an MLproject, entry point or parameter that cannot run
    ├── NotFoundError               experiment, run, model, version, artifact
    ├── AuthenticationError         no, bad, expired or revoked credentials
    │   └── TooManyAttemptsError    failed logins over the limit for a user or address
    ├── PermissionDeniedError       an authenticated caller without the permission
    ├── ProjectEnvError             a project's or served model's environment that cannot be built
    ├── ServiceError                a service that is down, slow or misbehaving
    │   ├── StackError              a local service that did not start or stop
    │   │   └── PortInUseError      a port the stack needs is taken
    │   ├── BrokerError             Kafka-protocol broker failures
    │   ├── ObjectStoreError        S3 failures
    │   └── LakeError               DuckDB / DuckLake failures
    │       ├── LakeConflictError   a commit that met another writer (retry at once)
    │       ├── QueryTimeoutError   a read that ran past its time limit
    │       └── StatementError      a statement DuckDB cannot parse, bind or may not run
    └── DeliveryError               the SDK could not deliver events
        └── BufferFullError         the SDK buffer stayed full past the timeout
"""

from __future__ import annotations


class RunstreamError(Exception):
    """Base of every error Runstream raises on purpose."""


class ConfigError(RunstreamError):
    """A setting is missing or has a bad value; the message names the variable."""


class ExtraMissingError(ConfigError):
    """An optional extra (e.g. ``runstream[models]``) is needed and not installed."""


class ValidationError(RunstreamError):
    """Input breaks a contract or a limit."""


class EventDecodeError(ValidationError):
    """Bytes that are not a valid v1 event.

    Attributes:
        reason: short machine-readable reason (``not_json``, ``schema``, ...).
        path: JSON path of the offending field, when known.
    """

    def __init__(self, message: str, *, reason: str = "invalid", path: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.path = path


class LimitExceededError(ValidationError):
    """A size or length limit from ``runstream.events.limits`` was exceeded."""


class ParamConflictError(ValidationError):
    """A param key was logged again in the same run with a different value."""


class InvalidTransitionError(ValidationError):
    """A run status or model stage transition that is not allowed."""


class FilterParseError(ValidationError):
    """A search filter or order_by clause that does not parse.

    Attributes:
        position: 0-based character offset where parsing failed.
        expected: what the parser expected at that position.
    """

    def __init__(self, message: str, *, position: int = 0, expected: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.expected = expected


class PageTokenError(ValidationError):
    """A page token that is malformed or was not issued for this query."""


class ArtifactPathError(ValidationError):
    """An artifact path that is absolute, escapes its prefix, or holds bad characters."""


class SqlRejectedError(ValidationError):
    """SQL that is not exactly one read-only statement over the lake views."""


class AlreadyExistsError(ValidationError):
    """A name that is already taken: an experiment's or a registered model's."""


class SqlTimeLimitError(ValidationError):
    """A SQL statement ran past its time limit (the caller's to shorten); names the limit."""


class AuthenticationError(RunstreamError):
    """The caller's credentials are missing, wrong, expired or revoked (HTTP 401)."""


class TooManyAttemptsError(AuthenticationError):
    """Too many failed logins for one user or one address; wait and retry (HTTP 429).

    Attributes:
        retry_after_s: seconds until a new attempt is accepted.
    """

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermissionDeniedError(RunstreamError):
    """An authenticated caller lacks the permission the request needs (HTTP 403)."""


class ProjectError(ValidationError):
    """An MLproject, entry point, parameter or project URI that cannot run (nothing ran)."""


class NotFoundError(RunstreamError):
    """An experiment, run, model, version or artifact that does not exist."""


class ProjectEnvError(RunstreamError):
    """A project's or served model's environment that cannot be built (tool, Python, install)."""


class ServiceError(RunstreamError):
    """A service that is down, slow or misbehaving."""


class StackError(ServiceError):
    """A local service that did not start, did not become ready, or did not stop."""


class PortInUseError(StackError):
    """A port the local stack needs is already taken."""


class BrokerError(ServiceError):
    """A failure talking to the Kafka-protocol broker."""


class ObjectStoreError(ServiceError):
    """A failure talking to the S3 object store."""


class LakeError(ServiceError):
    """A failure in DuckDB or the DuckLake catalog."""


class LakeConflictError(LakeError):
    """A lake commit lost to another writer (catalog lock, DuckLake conflict).

    Nothing of the transaction is visible; running it again on the new snapshot is
    expected to succeed.
    """


class QueryTimeoutError(LakeError):
    """A read that ran past its time limit and was interrupted."""


class StatementError(LakeError):
    """A statement the database cannot parse or bind, or is not allowed to run.

    The lake is fine; the statement is wrong. Where the statement is the user's
    own SQL, the query service answers :class:`SqlRejectedError` with ``reason``.

    Attributes:
        reason: the database's one-line explanation.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class DeliveryError(RunstreamError):
    """The SDK could not deliver some events; the message gives the count."""


class BufferFullError(DeliveryError):
    """The SDK's bounded buffer stayed full past the configured timeout."""


__all__ = [
    "AlreadyExistsError",
    "ArtifactPathError",
    "AuthenticationError",
    "BrokerError",
    "BufferFullError",
    "ConfigError",
    "DeliveryError",
    "EventDecodeError",
    "ExtraMissingError",
    "FilterParseError",
    "InvalidTransitionError",
    "LakeConflictError",
    "LakeError",
    "LimitExceededError",
    "NotFoundError",
    "ObjectStoreError",
    "PageTokenError",
    "ParamConflictError",
    "PermissionDeniedError",
    "PortInUseError",
    "ProjectEnvError",
    "ProjectError",
    "QueryTimeoutError",
    "RunstreamError",
    "ServiceError",
    "SqlRejectedError",
    "SqlTimeLimitError",
    "StackError",
    "StatementError",
    "TooManyAttemptsError",
    "ValidationError",
]
