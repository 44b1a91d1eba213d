"""compose/ cannot run here (no Docker engine): check that it says what production needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def _load() -> dict[str, Any]:
    data = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_services_present() -> None:
    services = _load()["services"]
    assert {"kafka", "minio", "minio-buckets", "postgres", "materializer", "query"} <= set(services)


def test_kafka_is_single_node_kraft() -> None:
    env = _load()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith("1@kafka:")
    assert "9092:9092" in _load()["services"]["kafka"]["ports"]


def test_applications_point_at_the_production_services() -> None:
    services = _load()["services"]
    for name in ("materializer", "query"):
        env = services[name]["environment"]
        assert env["RUNSTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["RUNSTREAM_S3_ENDPOINT"] == "http://minio:9000"
        assert env["RUNSTREAM_LAKE_CATALOG"].startswith("postgres:")
        assert services[name]["build"]["dockerfile"] == "compose/Dockerfile"
    assert services["materializer"]["command"] == ["runstream", "materialize"]
    assert services["materializer"]["deploy"]["replicas"] >= 2
    assert "5000:5000" in services["query"]["ports"]


def test_buckets_created_and_every_variable_is_a_setting() -> None:
    from runstream.config import load_settings

    data = _load()
    assert "runstream-lake" in data["services"]["minio-buckets"]["entrypoint"]
    env = {
        k: v.replace("${POSTGRES_PASSWORD:-change-me}", "x")
        for k, v in data["services"]["query"]["environment"].items()
    }
    env = {k: v.split("${")[0] or "x" for k, v in env.items()}
    settings = load_settings(env)  # raises ConfigError on an unknown or bad variable
    assert settings.partitions == 8


def test_dockerfile_installs_the_project() -> None:
    text = (COMPOSE / "Dockerfile").read_text()
    assert "pip install" in text and "COPY src" in text and "schemas" in text
