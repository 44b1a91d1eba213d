"""Settings: one object per process, built at the process edge.

Settings come from ``RUNSTREAM_*`` environment variables, optionally on top of a
TOML file (``RUNSTREAM_CONFIG``, or ``<home>/runstream.toml`` when it exists).
Environment wins over the file; the file wins over the defaults. A missing or
bad value raises :class:`~runstream.errors.ConfigError` naming the variable.

There is no module-level settings object: the CLI entry points and the app
factory call :func:`load_settings` and pass the result down.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runstream.errors import ConfigError

ENV_PREFIX = "RUNSTREAM_"


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the local stack; every one is chosen explicitly."""

    s3: int = 8333
    kafka: int = 9092
    api: int = 5000
    # SeaweedFS opens many ports; none may be left to its defaults so that
    # stacks (tests, a developer's own) can run side by side.
    weed_master: int = 9333
    weed_master_grpc: int = 19333
    weed_volume: int = 9340
    weed_volume_grpc: int = 19340
    weed_filer: int = 8888
    weed_filer_grpc: int = 18888
    weed_s3_grpc: int = 18333
    weed_admin: int = 23646
    weed_admin_grpc: int = 33646


@dataclass(frozen=True)
class Settings:
    """Everything a Runstream process needs to know, validated.

    Attributes mirror the variables documented in README's configuration table.
    """

    home: Path = Path(".runstream")
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    topic_prefix: str = "runstream"
    partitions: int = 8
    kafka_bootstrap: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = "runstream"
    s3_secret_key: str = "runstream-local-secret"
    s3_region: str = "us-east-1"
    artifacts_bucket: str = "runstream-artifacts"
    lake_bucket: str = "runstream-lake"
    broker_bucket: str = "runstream-broker"
    lake_catalog: str = ""
    lake_data_path: str = ""
    tracking_uri: str = ""
    api_token: str = ""
    offline: bool = False
    spool_dir: str = ""
    enable_system_metrics_logging: bool = False
    system_metrics_sampling_interval: float = 10.0
    system_metrics_samples_before_logging: int = 1
    token: str = ""
    batch_max_events: int = 5000
    batch_max_ms: int = 500
    batch_idle_ms: int = 20
    sql_timeout_s: float = 10.0
    sql_max_rows: int = 10_000
    search_index_max_age_s: float = 2.0
    read_after_timeout_s: float = 5.0
    read_after_broker: bool = False
    startup_timeout_s: float = 60.0
    auth: bool = False
    admin_username: str = "admin"
    admin_password: str = ""
    admin_password_file: str = ""
    auth_default_permission: str = "NO_PERMISSIONS"
    auth_max_failures: int = 10
    auth_window_s: float = 60.0
    session_s: float = 8 * 3600.0
    oidc_issuer: str = ""
    oidc_jwks_url: str = ""
    oidc_audience: str = ""
    oidc_username_claim: str = "preferred_username"
    oidc_groups_claim: str = "groups"
    oidc_admin_group: str = ""

    @property
    def topic_events(self) -> str:
        """Topic of experiment and run events."""
        return f"{self.topic_prefix}.events"

    @property
    def topic_registry(self) -> str:
        """Topic of model-registry events."""
        return f"{self.topic_prefix}.registry"

    @property
    def topic_dlq(self) -> str:
        """Dead-letter topic for rejected events."""
        return f"{self.topic_prefix}.dlq"

    @property
    def bootstrap(self) -> str:
        """Kafka bootstrap address (explicit, or the local broker)."""
        return self.kafka_bootstrap or f"{self.host}:{self.ports.kafka}"

    @property
    def s3_url(self) -> str:
        """S3 endpoint URL (explicit, or the local SeaweedFS)."""
        return self.s3_endpoint or f"http://{self.host}:{self.ports.s3}"

    @property
    def api_url(self) -> str:
        """Base URL of the query service."""
        return self.tracking_uri or f"http://{self.host}:{self.ports.api}"

    @property
    def catalog(self) -> str:
        """DuckLake catalog: a SQLite file path, or a ``postgres:`` connection string."""
        return self.lake_catalog or str(self.home / "lake" / "catalog.sqlite")

    @property
    def data_path(self) -> str:
        """Where the lake's Parquet files live (``s3://...`` or a local folder)."""
        return self.lake_data_path or f"s3://{self.lake_bucket}/data/"

    @property
    def buckets(self) -> tuple[str, ...]:
        """Buckets the local stack creates at start."""
        return (self.artifacts_bucket, self.lake_bucket, self.broker_bucket)


def _parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range [{low}, {high}]")
    return value


def _parse_float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range [{low}, {high}]")
    return value


def _parse_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL")
    return raw.rstrip("/")


def _parse_bootstrap(name: str, raw: str) -> str:
    for hostport in raw.split(","):
        host, sep, port = hostport.strip().rpartition(":")
        if not sep or not host:
            raise ConfigError(f"{name}={raw!r}: expected host:port[,host:port...]")
        _parse_int(name, port, 1, 65535)
    return raw


def _parse_name(name: str, raw: str) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-_")
    if not raw or not set(raw) <= allowed or len(raw) > 63:
        raise ConfigError(f"{name}={raw!r}: use 1-63 of a-z 0-9 . - _")
    return raw


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={raw!r}: use 1/true/on or 0/false/off")


_PERMISSIONS = ("NO_PERMISSIONS", "READ", "EDIT", "MANAGE")


def _parse_permission(name: str, raw: str) -> str:
    if raw.upper() not in _PERMISSIONS:
        raise ConfigError(f"{name}={raw!r}: use one of {', '.join(_PERMISSIONS)}")
    return raw.upper()


def _port(name: str, raw: str) -> int:
    return _parse_int(name, raw, 1, 65535)


def _text(_name: str, raw: str) -> str:
    return raw


# variable suffix -> (field, parser); ports live in the nested Ports object.
_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "HOME": ("home", lambda _n, raw: Path(raw)),
    "HOST": ("host", _text),
    "TOPIC_PREFIX": ("topic_prefix", _parse_name),
    "PARTITIONS": ("partitions", lambda n, raw: _parse_int(n, raw, 1, 1024)),
    "KAFKA_BOOTSTRAP": ("kafka_bootstrap", _parse_bootstrap),
    "S3_ENDPOINT": ("s3_endpoint", _parse_url),
    "S3_ACCESS_KEY": ("s3_access_key", _text),
    "S3_SECRET_KEY": ("s3_secret_key", _text),
    "S3_REGION": ("s3_region", _text),
    "ARTIFACTS_BUCKET": ("artifacts_bucket", _parse_name),
    "LAKE_BUCKET": ("lake_bucket", _parse_name),
    "BROKER_BUCKET": ("broker_bucket", _parse_name),
    "LAKE_CATALOG": ("lake_catalog", _text),
    "LAKE_DATA_PATH": ("lake_data_path", _text),
    "TRACKING_URI": ("tracking_uri", _parse_url),
    "API_TOKEN": ("api_token", _text),
    "OFFLINE": ("offline", _parse_bool),
    "SPOOL_DIR": ("spool_dir", _text),
    "ENABLE_SYSTEM_METRICS_LOGGING": ("enable_system_metrics_logging", _parse_bool),
    "SYSTEM_METRICS_SAMPLING_INTERVAL": (
        "system_metrics_sampling_interval",
        lambda n, raw: _parse_float(n, raw, 0.01, 86_400),
    ),
    "SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING": (
        "system_metrics_samples_before_logging",
        lambda n, raw: _parse_int(n, raw, 1, 10_000),
    ),
    "TOKEN": ("token", _text),
    "BATCH_MAX_EVENTS": ("batch_max_events", lambda n, raw: _parse_int(n, raw, 1, 1_000_000)),
    "BATCH_MAX_MS": ("batch_max_ms", lambda n, raw: _parse_int(n, raw, 10, 600_000)),
    "BATCH_IDLE_MS": ("batch_idle_ms", lambda n, raw: _parse_int(n, raw, 0, 600_000)),
    "SQL_TIMEOUT_S": ("sql_timeout_s", lambda n, raw: _parse_float(n, raw, 0.1, 3600)),
    "SQL_MAX_ROWS": ("sql_max_rows", lambda n, raw: _parse_int(n, raw, 1, 10_000_000)),
    "SEARCH_INDEX_MAX_AGE_S": (
        "search_index_max_age_s",
        lambda n, raw: _parse_float(n, raw, 0, 3600),
    ),
    "READ_AFTER_TIMEOUT_S": (
        "read_after_timeout_s",
        lambda n, raw: _parse_float(n, raw, 0, 300),
    ),
    "READ_AFTER_BROKER": ("read_after_broker", _parse_bool),
    "STARTUP_TIMEOUT_S": ("startup_timeout_s", lambda n, raw: _parse_float(n, raw, 1, 3600)),
    "AUTH": ("auth", _parse_bool),
    "ADMIN_USERNAME": ("admin_username", _text),
    "ADMIN_PASSWORD": ("admin_password", _text),
    "ADMIN_PASSWORD_FILE": ("admin_password_file", _text),
    "AUTH_DEFAULT_PERMISSION": ("auth_default_permission", _parse_permission),
    "AUTH_MAX_FAILURES": ("auth_max_failures", lambda n, raw: _parse_int(n, raw, 1, 1_000_000)),
    "AUTH_WINDOW_S": ("auth_window_s", lambda n, raw: _parse_float(n, raw, 1, 86_400)),
    "SESSION_S": ("session_s", lambda n, raw: _parse_float(n, raw, 60, 30 * 86_400)),
    "OIDC_ISSUER": ("oidc_issuer", _text),
    "OIDC_JWKS_URL": ("oidc_jwks_url", _parse_url),
    "OIDC_AUDIENCE": ("oidc_audience", _text),
    "OIDC_USERNAME_CLAIM": ("oidc_username_claim", _text),
    "OIDC_GROUPS_CLAIM": ("oidc_groups_claim", _text),
    "OIDC_ADMIN_GROUP": ("oidc_admin_group", _text),
}

_PORT_FIELDS = {f.name for f in dataclasses.fields(Ports)}


def _flatten_toml(data: Mapping[str, Any], source: str) -> dict[str, str]:
    """Turn ``{port = {api = 5000}, partitions = 8}`` into variable-style keys."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for sub, subvalue in _flatten_toml(value, source).items():
                flat[f"{key}_{sub}".upper()] = subvalue
        elif isinstance(value, bool | int | float | str):
            flat[key.upper()] = str(value)
        else:
            raise ConfigError(f"{source}: {key} must be a string or a number")
    return flat


def _read_toml(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as handle:
            return _flatten_toml(tomllib.load(handle), str(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"RUNSTREAM_CONFIG={path}: cannot read: {exc}") from exc


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Build the settings of this process from the environment and an optional TOML file.

    Args:
        environ: the process environment (``os.environ`` at the edge, a dict in tests).
        **overrides: fields set by the caller (a CLI flag, a test fixture); they win.

    Returns:
        Validated settings.

    Raises:
        ConfigError: a value is bad or an unknown ``RUNSTREAM_`` variable is set;
            the message names the variable.
    """
    values: dict[str, str] = {}
    config_file = environ.get(f"{ENV_PREFIX}CONFIG")
    home = Path(environ.get(f"{ENV_PREFIX}HOME", ".runstream"))
    if config_file:
        values.update(_read_toml(Path(config_file)))
    elif (home / "runstream.toml").is_file():
        values.update(_read_toml(home / "runstream.toml"))
    for key, raw in environ.items():
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}CONFIG":
            values[key.removeprefix(ENV_PREFIX)] = raw

    kwargs: dict[str, Any] = {}
    ports: dict[str, int] = {}
    for suffix, raw in values.items():
        name = f"{ENV_PREFIX}{suffix}"
        if suffix in _FIELDS:
            attr, parse = _FIELDS[suffix]
            kwargs[attr] = parse(name, raw.strip())
        elif suffix.startswith("PORT_") and suffix.removeprefix("PORT_").lower() in _PORT_FIELDS:
            ports[suffix.removeprefix("PORT_").lower()] = _port(name, raw.strip())
        elif suffix in _IGNORED:
            continue
        else:
            raise ConfigError(f"{name} is not a Runstream setting (see README, Configuration)")
    if ports:
        kwargs["ports"] = Ports(**ports)
    kwargs.update(overrides)
    if kwargs.get("admin_password_file") and not kwargs.get("admin_password"):
        kwargs["admin_password"] = _read_secret(
            f"{ENV_PREFIX}ADMIN_PASSWORD_FILE", Path(kwargs["admin_password_file"])
        )
    settings = Settings(**kwargs)
    _check_consistency(settings)
    return settings


# Variables read by other parts (the SDK, the test suite) rather than by Settings.
# Read elsewhere: by the test suite, the SDK's buffer, logging, and the SDK's start_run
# (RUN_ID: the run `runstream run` created for its command), and by the worker processes
# of `runstream models serve --workers N` (SERVE_OPTIONS: the options they serve with).
_IGNORED = frozenset(
    {"SLOW_TESTS", "SDK_BUFFER_EVENTS", "SDK_BUFFER_TIMEOUT_S", "LOG_LEVEL", "RUN_ID",
     "SERVE_OPTIONS"}
)


def _read_secret(name: str, path: Path) -> str:
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{name}={path}: cannot read: {exc}") from exc
    if not secret:
        raise ConfigError(f"{name}={path}: the file is empty")
    return secret


def _check_auth(settings: Settings) -> None:
    """Auth on means nothing open: a first admin must exist, an issuer needs its keys."""
    if settings.auth and len(settings.admin_password) < 8:
        raise ConfigError(
            "RUNSTREAM_AUTH=1 needs the first admin's password (at least 8 characters) in "
            "RUNSTREAM_ADMIN_PASSWORD or RUNSTREAM_ADMIN_PASSWORD_FILE"
        )
    if settings.oidc_issuer and not settings.oidc_jwks_url:
        raise ConfigError("RUNSTREAM_OIDC_ISSUER needs RUNSTREAM_OIDC_JWKS_URL (the issuer's keys)")


def _check_consistency(settings: Settings) -> None:
    _check_auth(settings)
    used: dict[int, str] = {}
    for port_field in dataclasses.fields(Ports):
        port = getattr(settings.ports, port_field.name)
        if port in used:
            raise ConfigError(
                f"RUNSTREAM_PORT_{port_field.name.upper()}={port} is also used by "
                f"RUNSTREAM_PORT_{used[port].upper()}"
            )
        used[port] = port_field.name
    if len(set(settings.buckets)) != len(settings.buckets):
        raise ConfigError("RUNSTREAM_*_BUCKET: artifacts, lake and broker buckets must differ")





def settings_to_env(settings: Settings) -> dict[str, str]:
    """The ``RUNSTREAM_*`` variables that rebuild these settings in a child process."""
    env: dict[str, str] = {}
    for suffix, (attr, _parse) in _FIELDS.items():
        value = getattr(settings, attr)
        if value not in ("", None):
            env[f"{ENV_PREFIX}{suffix}"] = str(value)
    for port_field in dataclasses.fields(Ports):
        env[f"{ENV_PREFIX}PORT_{port_field.name.upper()}"] = str(
            getattr(settings.ports, port_field.name)
        )
    return env

__all__ = ["ENV_PREFIX", "Ports", "Settings", "load_settings", "settings_to_env"]
