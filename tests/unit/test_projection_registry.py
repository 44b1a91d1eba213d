"""The reducer on registry events: numbering, stages, aliases, deletes."""

from __future__ import annotations

import uuid
from typing import Any

from projection_support import MemoryLake, deliver, reg

from runstream.events import Envelope
from runstream.events import EventType as T


def _request(name: str, request_id: str | None = None) -> object:
    return reg(
        T.REGISTRY_VERSION_REQUESTED,
        name,
        request_id=request_id or str(uuid.uuid4()),
        source="s3://b/model",
    )


def _stage(lake: MemoryLake, name: str) -> dict[int, str]:
    return {k[1]: r[6] for k, r in lake.tables["model_versions"].items() if k[0] == name}


def test_versions_are_numbered_in_log_order_and_duplicates_refused() -> None:
    lake = MemoryLake()
    rid = str(uuid.uuid4())
    result = lake.feed(
        deliver(
            _request("m"),  # before the model exists
            reg(T.REGISTRY_MODEL_CREATED, "m", description="d", tags={"team": "a"}),
            _request("m", rid),
            _request("m"),
            _request("m", rid),  # the same request again, under a new event id
            reg(T.REGISTRY_MODEL_CREATED, "m"),
        )
    )
    assert [r.reason for r in result.rejections] == [
        "unknown_model",
        "duplicate_request",
        "model_exists",
    ]
    assert sorted(k[1] for k in lake.tables["model_versions"]) == [1, 2]
    v1 = lake.row("model_versions", "m", 1)
    assert v1 is not None and v1[2] == rid and v1[5:7] == ("READY", "None")
    assert lake.row("registered_model_tags", "m", "team") == ("m", "team", "a")
    lake.feed(deliver(_request("m")))  # numbering carries on across batches
    assert sorted(k[1] for k in lake.tables["model_versions"]) == [1, 2, 3]


def test_archive_existing_versions_archives_only_the_target_stage() -> None:
    lake = MemoryLake()
    lake.feed(deliver(reg(T.REGISTRY_MODEL_CREATED, "m"), *[_request("m") for _ in range(3)]))  # type: ignore[arg-type]
    change = T.REGISTRY_STAGE_CHANGED
    result = lake.feed(
        deliver(
            reg(change, "m", version=1, stage="Production", archive_existing_versions=False),
            reg(change, "m", version=2, stage="Staging", archive_existing_versions=False),
            reg(change, "m", version=3, stage="Production", archive_existing_versions=True),
            reg(change, "m", version=2, stage="Archived", archive_existing_versions=True),
            reg(change, "m", version=9, stage="Staging", archive_existing_versions=False),
        )
    )
    assert [r.reason for r in result.rejections] == ["bad_transition", "unknown_version"]
    assert _stage(lake, "m") == {1: "Archived", 2: "Staging", 3: "Production"}
    moves = [(v, a, b, why) for (_, v, a, b, why, _, _) in lake.appends["stage_transitions"]]
    assert moves == [
        (1, "None", "Production", "requested"),
        (2, "None", "Staging", "requested"),
        (1, "Production", "Archived", "archived_by_version_3"),
        (3, "None", "Production", "requested"),
    ]


def test_an_alias_is_unique_per_model_and_moves() -> None:
    lake = MemoryLake()
    lake.feed(deliver(reg(T.REGISTRY_MODEL_CREATED, "m"), _request("m"), _request("m")))  # type: ignore[arg-type]
    lake.feed(
        deliver(
            reg(T.REGISTRY_ALIAS_SET, "m", alias="champion", version=1),
            reg(T.REGISTRY_ALIAS_SET, "m", alias="champion", version=2),
            reg(T.REGISTRY_ALIAS_SET, "m", alias="backup", version=1),
        )
    )
    assert lake.row("registered_model_aliases", "m", "champion") == ("m", "champion", 2)
    result = lake.feed(
        deliver(
            reg(T.REGISTRY_VERSION_DELETED, "m", version=1),
            reg(T.REGISTRY_ALIAS_SET, "m", alias="x", version=1),
            _request("m"),
        )
    )
    assert [r.reason for r in result.rejections] == ["unknown_version"]
    assert lake.row("registered_model_aliases", "m", "backup") is None  # went with version 1
    v1 = lake.row("model_versions", "m", 1)
    assert v1 is not None and v1[10] is True
    assert lake.row("model_versions", "m", 3) is not None  # deleted numbers are not reused
    lake.feed(deliver(reg(T.REGISTRY_ALIAS_DELETED, "m", alias="champion")))
    assert lake.row("registered_model_aliases", "m", "champion") is None


def test_a_deleted_model_loses_its_versions_and_starts_again_at_one() -> None:
    lake = MemoryLake()
    lake.feed(
        deliver(
            reg(T.REGISTRY_MODEL_CREATED, "m", tags={"a": "b"}),
            _request("m"),  # type: ignore[arg-type]
            reg(T.REGISTRY_ALIAS_SET, "m", alias="live", version=1),
            reg(T.REGISTRY_VERSION_TAG_SET, "m", version=1, key="k", value="v"),
        )
    )
    result = lake.feed(
        deliver(
            reg(T.REGISTRY_MODEL_DELETED, "m"),
            reg(T.REGISTRY_MODEL_TAG_SET, "m", key="k", value="v"),
            reg(T.REGISTRY_MODEL_CREATED, "m"),
            _request("m"),  # type: ignore[arg-type]
        )
    )
    assert [r.reason for r in result.rejections] == ["unknown_model"]
    assert result.purges["model_versions"] == {"m"}
    assert list(lake.tables["model_versions"]) == [("m", 1)]
    assert lake.tables["registered_model_aliases"] == {}
    assert lake.tables["model_version_tags"] == {}
    assert lake.tables["registered_model_tags"] == {}
    model = lake.row("registered_models", "m")
    assert model is not None and model[4] is False


def test_descriptions_and_tags_of_models_and_versions() -> None:
    lake = MemoryLake()
    result = lake.feed(
        deliver(
            reg(T.REGISTRY_MODEL_CREATED, "m"),
            _request("m"),  # type: ignore[arg-type]
            reg(T.REGISTRY_DESCRIPTION_SET, "m", description="model d"),
            reg(T.REGISTRY_DESCRIPTION_SET, "m", version=1, description="v1 d"),
            reg(T.REGISTRY_DESCRIPTION_SET, "m", version=2, description="nope"),
            reg(T.REGISTRY_VERSION_TAG_SET, "m", version=1, key="k", value="v"),
            reg(T.REGISTRY_VERSION_TAG_DELETED, "m", version=1, key="k"),
            reg(T.REGISTRY_MODEL_TAG_SET, "m", key="k", value="v"),
            reg(T.REGISTRY_MODEL_TAG_DELETED, "m", key="gone"),
        )
    )
    assert [r.reason for r in result.rejections] == ["unknown_version"]
    model = lake.row("registered_models", "m")
    assert model is not None and model[1] == "model d"
    version = lake.row("model_versions", "m", 1)
    assert version is not None and version[7] == "v1 d"
    assert lake.row("model_version_tags", "m", 1, "k") is None
    assert lake.row("registered_model_tags", "m", "k") == ("m", "k", "v")


def test_stage_and_alias_changes_are_audited_with_who_did_them() -> None:
    lake = MemoryLake()
    lake.feed(deliver(reg(T.REGISTRY_MODEL_CREATED, "m"), _request("m"), _request("m")))  # type: ignore[arg-type]

    def stage(version: int, to: str, actor: str) -> Envelope[Any]:
        change = T.REGISTRY_STAGE_CHANGED
        return reg(
            change, "m", version=version, stage=to, archive_existing_versions=True, actor=actor
        )

    result = lake.feed(
        deliver(
            stage(1, "Production", "alice"),
            stage(2, "Production", "bob@example.com"),
            stage(2, "Archived", "bob@example.com"),  # refused: changes nothing, audits nothing
            reg(T.REGISTRY_ALIAS_SET, "m", alias="champion", version=2, actor="carol"),
            reg(T.REGISTRY_ALIAS_DELETED, "m", alias="champion"),  # an older producer: no actor
        )
    )
    assert [r.reason for r in result.rejections] == ["bad_transition"]
    audit = [row[2:] for row in lake.appends["auth_audit"]]
    assert audit == [
        ("alice", "registry.stage_changed", "model m v1 None -> Production"),
        (
            "bob@example.com",
            "registry.stage_changed",
            "model m v2 None -> Production (archived v1)",
        ),
        ("carol", "registry.alias_set", "model m alias champion -> v2"),
        (None, "registry.alias_deleted", "model m alias champion removed"),
    ]
    assert len({row[0] for row in lake.appends["auth_audit"]}) == 4  # one row per event
