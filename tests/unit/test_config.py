"""Settings: defaults, environment, TOML file, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from runstream.config import Settings, load_settings, settings_to_env
from runstream.errors import ConfigError


def test_defaults_are_the_local_stack() -> None:
    s = load_settings({})
    assert s.bootstrap == "127.0.0.1:9092"
    assert s.s3_url == "http://127.0.0.1:8333"
    assert s.api_url == "http://127.0.0.1:5000"
    assert (s.topic_events, s.topic_registry, s.topic_dlq) == (
        "runstream.events",
        "runstream.registry",
        "runstream.dlq",
    )
    assert s.partitions == 8
    assert s.catalog == str(Path(".runstream") / "lake" / "catalog.sqlite")
    assert s.data_path == "s3://runstream-lake/data/"


def test_environment_overrides() -> None:
    s = load_settings(
        {
            "RUNSTREAM_PARTITIONS": "3",
            "RUNSTREAM_PORT_API": "5555",
            "RUNSTREAM_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092",
            "RUNSTREAM_S3_ENDPOINT": "http://minio:9000/",
            "RUNSTREAM_TOPIC_PREFIX": "team-a",
        }
    )
    assert s.partitions == 3
    assert s.ports.api == 5555 and s.api_url == "http://127.0.0.1:5555"
    assert s.bootstrap == "kafka-1:9092,kafka-2:9092"
    assert s.s3_url == "http://minio:9000"
    assert s.topic_events == "team-a.events"


def test_toml_file_under_environment(tmp_path: Path) -> None:
    config = tmp_path / "runstream.toml"
    config.write_text('partitions = 5\ntopic_prefix = "from-file"\n[port]\napi = 6001\n')
    s = load_settings({"RUNSTREAM_CONFIG": str(config), "RUNSTREAM_TOPIC_PREFIX": "from-env"})
    assert s.partitions == 5
    assert s.ports.api == 6001
    assert s.topic_prefix == "from-env"


def test_toml_in_home_is_read(tmp_path: Path) -> None:
    (tmp_path / "runstream.toml").write_text("batch_max_events = 77\n")
    assert load_settings({"RUNSTREAM_HOME": str(tmp_path)}).batch_max_events == 77


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RUNSTREAM_PARTITIONS": "many"}, "RUNSTREAM_PARTITIONS"),
        ({"RUNSTREAM_PARTITIONS": "0"}, "RUNSTREAM_PARTITIONS"),
        ({"RUNSTREAM_PORT_KAFKA": "99999"}, "RUNSTREAM_PORT_KAFKA"),
        ({"RUNSTREAM_S3_ENDPOINT": "minio:9000"}, "RUNSTREAM_S3_ENDPOINT"),
        ({"RUNSTREAM_KAFKA_BOOTSTRAP": "no-port"}, "RUNSTREAM_KAFKA_BOOTSTRAP"),
        ({"RUNSTREAM_TOPIC_PREFIX": "Bad Name"}, "RUNSTREAM_TOPIC_PREFIX"),
        ({"RUNSTREAM_PORTS_API": "1"}, "RUNSTREAM_PORTS_API"),
        ({"RUNSTREAM_PORT_API": "9092"}, "RUNSTREAM_PORT_API"),
        ({"RUNSTREAM_LAKE_BUCKET": "runstream-artifacts"}, "RUNSTREAM_*_BUCKET"),
        ({"RUNSTREAM_AUTH": "1"}, "RUNSTREAM_ADMIN_PASSWORD"),
        ({"RUNSTREAM_AUTH": "maybe"}, "RUNSTREAM_AUTH"),
        ({"RUNSTREAM_AUTH_DEFAULT_PERMISSION": "ALL"}, "RUNSTREAM_AUTH_DEFAULT_PERMISSION"),
        ({"RUNSTREAM_OIDC_ISSUER": "https://idp"}, "RUNSTREAM_OIDC_JWKS_URL"),
        (
            {"RUNSTREAM_AUTH": "1", "RUNSTREAM_ADMIN_PASSWORD_FILE": "/nonexistent/pw"},
            "RUNSTREAM_ADMIN_PASSWORD_FILE",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("*", r"\*")):
        load_settings(env)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("partitions = = 3")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings({"RUNSTREAM_CONFIG": str(config)})


def test_settings_survive_the_trip_to_a_child_process_environment() -> None:
    original = load_settings(
        {
            "RUNSTREAM_PARTITIONS": "2",
            "RUNSTREAM_PORT_S3": "18000",
            "RUNSTREAM_LAKE_DATA_PATH": "/data/lake",
        }
    )
    rebuilt = load_settings(settings_to_env(original))
    assert rebuilt == original
    assert isinstance(rebuilt, Settings)


def test_a_model_server_worker_reads_its_settings_beside_its_options() -> None:
    from runstream.serving.options import ENV_VAR, ServeOptions

    original = load_settings({"RUNSTREAM_PARTITIONS": "2"})
    worker_env = {**settings_to_env(original), ENV_VAR: ServeOptions((("m", 1.0),)).to_json()}
    assert load_settings(worker_env) == original


def test_auth_is_off_by_default_and_the_admin_password_may_come_from_a_file(
    tmp_path: Path,
) -> None:
    assert load_settings({}).auth is False
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-file-123\n")
    settings = load_settings(
        {"RUNSTREAM_AUTH": "on", "RUNSTREAM_ADMIN_PASSWORD_FILE": str(secret)}
    )
    assert settings.auth and settings.admin_password == "from-a-file-123"
    assert settings.auth_default_permission == "NO_PERMISSIONS"
