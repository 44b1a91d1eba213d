"""Where the SDK sends events and artifacts, resolved once per client.

Like MLflow, one URI is enough. The rules, in order:

1. Explicit :class:`~runstream.config.Settings` handed to the client win: broker,
   topics, bucket and S3 endpoint come from them and the query service is optional
   (used for look-ups when it answers).
2. Otherwise settings are loaded from the environment (``RUNSTREAM_*``, the TOML
   file). The tracking URI is the one given to ``set_tracking_uri``, else
   ``RUNSTREAM_TRACKING_URI``, else ``MLFLOW_TRACKING_URI``.
3. With a tracking URI, the SDK reads the query service's ingest configuration
   (``GET /api/v1/ingest-config``); any ``RUNSTREAM_*`` variable that is set
   (``KAFKA_BOOTSTRAP``, ``TOPIC_PREFIX``, ``ARTIFACTS_BUCKET``, ``S3_ENDPOINT``,
   ``S3_REGION``) overrides what it says. If the service does not answer and
   ``RUNSTREAM_KAFKA_BOOTSTRAP`` is set, the SDK carries on with the settings;
   otherwise it fails with a message naming the URI.
4. Without a tracking URI the SDK talks to the local stack of the settings
   (``runstream up`` defaults) and uses the query service only when it answers.
5. S3 credentials never come from the service: ``RUNSTREAM_S3_ACCESS_KEY`` /
   ``_SECRET_KEY``, else ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, else the
   local stack's defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from runstream.config import ENV_PREFIX, Settings, load_settings
from runstream.errors import ConfigError, ServiceError
from runstream.sdk.entities import IngestConfig

DEFAULT_BUFFER_EVENTS = 500_000
DEFAULT_BUFFER_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Endpoints:
    """Everything a client needs to publish, upload and look up.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        topic_events: topic of experiment and run events.
        topic_registry: topic of registry events.
        artifacts_bucket: bucket of run artifacts.
        s3_endpoint: S3 endpoint URL.
        s3_access_key: S3 access key.
        s3_secret_key: S3 secret key.
        s3_region: S3 region.
        tracking_uri: base URL of the query service.
        tracking_required: True when the user named a tracking URI, so a query
            service that does not answer is an error rather than an optional extra.
        api_token: bearer token for the query service.
        buffer_events: capacity of the SDK buffer (``RUNSTREAM_SDK_BUFFER_EVENTS``).
        buffer_timeout_s: wait for room in a full buffer (``RUNSTREAM_SDK_BUFFER_TIMEOUT_S``).
    """

    bootstrap: str
    topic_events: str
    topic_registry: str
    artifacts_bucket: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    tracking_uri: str
    tracking_required: bool
    api_token: str = ""
    buffer_events: int = DEFAULT_BUFFER_EVENTS
    buffer_timeout_s: float = DEFAULT_BUFFER_TIMEOUT_S


def _buffer_options(environ: Mapping[str, str]) -> tuple[int, float]:
    """Reads the two SDK buffer variables (config.py leaves them to the SDK)."""
    events_var, timeout_var = f"{ENV_PREFIX}SDK_BUFFER_EVENTS", f"{ENV_PREFIX}SDK_BUFFER_TIMEOUT_S"
    try:
        events = int(environ.get(events_var, DEFAULT_BUFFER_EVENTS))
    except ValueError as exc:
        raise ConfigError(f"{events_var}={environ[events_var]!r} is not an integer") from exc
    try:
        timeout = float(environ.get(timeout_var, DEFAULT_BUFFER_TIMEOUT_S))
    except ValueError as exc:
        raise ConfigError(f"{timeout_var}={environ[timeout_var]!r} is not a number") from exc
    if not 1 <= events <= 100_000_000:
        raise ConfigError(f"{events_var}={events} is out of range [1, 100000000]")
    if not 0 <= timeout <= 86_400:
        raise ConfigError(f"{timeout_var}={timeout} is out of range [0, 86400]")
    return events, timeout


def check_tracking_uri(uri: str, variable: str) -> str:
    """Accepts an ``http(s)://host[:port]`` tracking URI.

    Raises:
        ConfigError: another scheme (``file:``, ``databricks``, ...), naming ``variable``.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{variable}={uri!r}: Runstream needs the http(s) URL of its query service "
            "(e.g. http://127.0.0.1:5000)"
        )
    return uri.rstrip("/")


def _from_settings(
    settings: Settings, environ: Mapping[str, str], tracking_uri: str, required: bool
) -> Endpoints:
    events, timeout = _buffer_options(environ)
    has = environ.__contains__
    access = settings.s3_access_key
    secret = settings.s3_secret_key
    if not has(f"{ENV_PREFIX}S3_ACCESS_KEY") and environ.get("AWS_ACCESS_KEY_ID"):
        access = environ["AWS_ACCESS_KEY_ID"]
    if not has(f"{ENV_PREFIX}S3_SECRET_KEY") and environ.get("AWS_SECRET_ACCESS_KEY"):
        secret = environ["AWS_SECRET_ACCESS_KEY"]
    return Endpoints(
        bootstrap=settings.bootstrap,
        topic_events=settings.topic_events,
        topic_registry=settings.topic_registry,
        artifacts_bucket=settings.artifacts_bucket,
        s3_endpoint=settings.s3_url,
        s3_access_key=access,
        s3_secret_key=secret,
        s3_region=settings.s3_region,
        tracking_uri=tracking_uri,
        tracking_required=required,
        api_token=caller_token(settings, environ),
        buffer_events=events,
        buffer_timeout_s=timeout,
    )


def caller_token(settings: Settings, environ: Mapping[str, str]) -> str:
    """The bearer token reads send: ``RUNSTREAM_TOKEN``, else MLflow's
    ``MLFLOW_TRACKING_TOKEN``, else the operator's ``RUNSTREAM_API_TOKEN``."""
    return settings.token or environ.get("MLFLOW_TRACKING_TOKEN", "") or settings.api_token


def resolve_endpoints(
    environ: Mapping[str, str],
    *,
    settings: Settings | None = None,
    tracking_uri: str | None = None,
    fetch_ingest_config: Callable[[str, str], IngestConfig] | None = None,
) -> Endpoints:
    """Applies the module's rules.

    Args:
        environ: the process environment.
        settings: explicit settings (rule 1), or None to load them from ``environ``.
        tracking_uri: a URI given to ``set_tracking_uri`` (wins over the variables).
        fetch_ingest_config: ``(uri, token) -> IngestConfig``; the HTTP client by default.

    Raises:
        ConfigError: a bad variable or tracking URI.
        ServiceError: a tracking URI whose service does not answer (rule 3).
    """
    if settings is not None:
        given = tracking_uri or settings.tracking_uri
        return _from_settings(settings, environ, given or settings.api_url, bool(given))
    loaded = load_settings(environ)
    uri = tracking_uri or ""
    if not uri and environ.get(f"{ENV_PREFIX}TRACKING_URI"):
        uri = loaded.tracking_uri
    if not uri and environ.get("MLFLOW_TRACKING_URI"):
        uri = check_tracking_uri(environ["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI")
    if not uri:
        return _from_settings(loaded, environ, loaded.api_url, False)
    fetch = fetch_ingest_config or _fetch_over_http
    try:
        ingest = fetch(uri, caller_token(loaded, environ))
    except ServiceError as exc:
        if environ.get(f"{ENV_PREFIX}KAFKA_BOOTSTRAP"):
            return _from_settings(loaded, environ, uri, True)
        raise ServiceError(
            f"{exc}. The SDK reads the broker and bucket from the tracking URI {uri}; "
            f"to log without the query service set {ENV_PREFIX}KAFKA_BOOTSTRAP "
            f"(and {ENV_PREFIX}S3_ENDPOINT)"
        ) from exc
    return _merge(loaded, environ, uri, ingest)


def _merge(
    loaded: Settings, environ: Mapping[str, str], uri: str, ingest: IngestConfig
) -> Endpoints:
    """Rule 3: the service's answer, overridden by every variable that is set."""
    base = _from_settings(loaded, environ, uri, True)

    def explicit(suffix: str) -> bool:
        return f"{ENV_PREFIX}{suffix}" in environ

    changes: dict[str, Any] = {}
    if not explicit("KAFKA_BOOTSTRAP"):
        changes["bootstrap"] = ingest.bootstrap_servers
    if not explicit("TOPIC_PREFIX"):
        changes["topic_events"] = ingest.topic_events
        changes["topic_registry"] = ingest.topic_registry
    if not explicit("ARTIFACTS_BUCKET"):
        changes["artifacts_bucket"] = ingest.artifacts_bucket
    if not explicit("S3_ENDPOINT") and ingest.s3_endpoint:
        changes["s3_endpoint"] = ingest.s3_endpoint
    if not explicit("S3_REGION") and ingest.s3_region:
        changes["s3_region"] = ingest.s3_region
    return dataclasses.replace(base, **changes)


def _fetch_over_http(uri: str, token: str) -> IngestConfig:
    """Reads the ingest configuration with a short-lived HTTP client."""
    from runstream.sdk.query_client import QueryClient

    client = QueryClient(uri, token=token, timeout_s=5.0)
    try:
        return client.ingest_config()
    finally:
        client.close()


__all__ = [
    "DEFAULT_BUFFER_EVENTS",
    "DEFAULT_BUFFER_TIMEOUT_S",
    "Endpoints",
    "caller_token",
    "check_tracking_uri",
    "resolve_endpoints",
]
