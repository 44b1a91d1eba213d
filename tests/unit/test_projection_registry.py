"""The reducer on registry events: numbering, stages, aliases, deletes, renames."""

from __future__ import annotations

import random
import uuid
from typing import Any

from projection_support import MemoryLake, deliver, ev, reg

from runstream.core.working import ModelMove
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
    assert result.model_moves == [ModelMove("m")]
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


def _filled(lake: MemoryLake, name: str) -> None:
    """A model with two versions, tags on both levels, an alias and a stage change."""
    lake.feed(
        deliver(
            reg(T.REGISTRY_MODEL_CREATED, name, description="d", tags={"team": "a"}),
            _request(name),  # type: ignore[arg-type]
            _request(name),  # type: ignore[arg-type]
            reg(T.REGISTRY_VERSION_TAG_SET, name, version=2, key="ok", value="yes"),
            reg(T.REGISTRY_ALIAS_SET, name, alias="champion", version=2),
            reg(
                T.REGISTRY_STAGE_CHANGED,
                name,
                version=2,
                stage="Production",
                archive_existing_versions=False,
            ),
        )
    )


def _rows_of(lake: MemoryLake, name: str) -> dict[str, list[tuple[Any, ...]]]:
    tables = (
        "model_versions",
        "model_version_tags",
        "registered_model_tags",
        "registered_model_aliases",
    )
    out = {t: sorted(r[1:] for k, r in lake.tables[t].items() if k[0] == name) for t in tables}
    out["stage_transitions"] = [r[1:4] for r in lake.appends["stage_transitions"] if r[0] == name]
    return out


def test_a_renamed_model_takes_its_versions_tags_aliases_and_history() -> None:
    lake = MemoryLake()
    _filled(lake, "old")
    before = _rows_of(lake, "old")
    created = lake.row("registered_models", "old")
    assert created is not None
    later = created[3] + 60_000
    renamed = ev(
        T.REGISTRY_MODEL_RENAMED,
        {"old_name": "old", "actor": "ana"},
        model_name="new",
        produced_at=later,
    )
    result = lake.feed(deliver(renamed))
    assert result.rejections == [] and result.model_moves == [ModelMove("old", "new")]
    moved = _rows_of(lake, "new")
    # Versions keep everything but their name and update time.
    assert [r[:6] for r in moved.pop("model_versions")] == [
        r[:6] for r in before.pop("model_versions")
    ]
    assert moved == before and moved["registered_model_aliases"] == [("champion", 2)]
    assert _rows_of(lake, "old") == {t: [] for t in moved} | {"model_versions": []}
    old, new = lake.row("registered_models", "old"), lake.row("registered_models", "new")
    assert old is not None and new is not None
    assert old[4] is True and new[4] is False and new[1] == "d"
    assert (new[2], new[3]) == (created[2], later)  # created before, updated by the rename
    assert {r[9] for r in lake.tables["model_versions"].values()} == {later}
    assert lake.appends["auth_audit"][-1][1:] == (
        later,
        "ana",
        "registry.model_renamed",
        "model old renamed to new",
    )
    # The old name is free; the new one numbers on from 3.
    lake.feed(deliver(reg(T.REGISTRY_MODEL_CREATED, "old"), _request("old"), _request("new")))  # type: ignore[arg-type]
    assert sorted(k for k in lake.tables["model_versions"]) == [
        ("new", 1),
        ("new", 2),
        ("new", 3),
        ("old", 1),
    ]


def test_a_rename_needs_a_live_model_and_a_free_name() -> None:
    lake = MemoryLake()
    _filled(lake, "a")
    _filled(lake, "b")
    result = lake.feed(
        deliver(
            reg(T.REGISTRY_MODEL_RENAMED, "b", old_name="a"),  # taken
            reg(T.REGISTRY_MODEL_RENAMED, "c", old_name="nope"),  # unknown
            reg(T.REGISTRY_MODEL_RENAMED, "a", old_name="a"),  # itself: taken too
            reg(T.REGISTRY_MODEL_DELETED, "b"),
            reg(T.REGISTRY_MODEL_RENAMED, "b", old_name="a"),  # a deleted name is free
            reg(T.REGISTRY_MODEL_TAG_SET, "a", key="k", value="v"),  # gone
        )
    )
    assert [r.reason for r in result.rejections] == [
        "model_exists",
        "unknown_model",
        "model_exists",
        "unknown_model",
    ]
    assert _rows_of(lake, "b")["registered_model_aliases"] == [("champion", 2)]
    assert [r for r in lake.appends["stage_transitions"] if r[0] == "a"] == []


def _registry_stream(seed: int) -> list[Envelope[Any]]:
    """Random changes of three names: creates, deletes, renames, versions, tags, aliases."""
    rng = random.Random(seed)
    names = ("a", "b", "c")
    out: list[Envelope[Any]] = []
    for _ in range(400):
        name, other = rng.sample(names, 2)
        roll = rng.random()
        if roll < 0.08:
            out.append(reg(T.REGISTRY_MODEL_CREATED, name, tags={"t": str(rng.random())}))
        elif roll < 0.14:
            out.append(reg(T.REGISTRY_MODEL_DELETED, name))
        elif roll < 0.3:
            out.append(reg(T.REGISTRY_MODEL_RENAMED, name, old_name=other))
        elif roll < 0.45:
            out.append(_request(name))  # type: ignore[arg-type]
        elif roll < 0.6:
            key = rng.choice("kl")
            if rng.random() < 0.7:
                out.append(reg(T.REGISTRY_MODEL_TAG_SET, name, key=key, value=str(rng.random())))
            else:
                out.append(reg(T.REGISTRY_MODEL_TAG_DELETED, name, key=key))
        elif roll < 0.75:
            version, key = rng.randrange(1, 4), rng.choice("kl")
            out.append(
                reg(
                    T.REGISTRY_VERSION_TAG_SET,
                    name,
                    version=version,
                    key=key,
                    value=str(rng.random()),
                )
            )
        elif roll < 0.85:
            out.append(
                reg(
                    T.REGISTRY_ALIAS_SET,
                    name,
                    alias=rng.choice(["x", "y"]),
                    version=rng.randrange(1, 4),
                )
            )
        else:
            out.append(
                reg(
                    T.REGISTRY_STAGE_CHANGED,
                    name,
                    version=rng.randrange(1, 4),
                    stage=rng.choice(["Staging", "Production"]),
                    archive_existing_versions=rng.random() < 0.5,
                )
            )
    return out


def test_renames_and_deletes_give_the_same_lake_in_any_cut_into_batches() -> None:
    for seed in range(6):
        delivered = deliver(*_registry_stream(seed))
        whole = MemoryLake()
        reference = whole.feed(delivered)
        renamed = [d for d in reference.accepted if d.event.type is T.REGISTRY_MODEL_RENAMED]
        assert len(renamed) > 10
        rng = random.Random(seed)
        for _ in range(4):
            lake, rejected, at = MemoryLake(), 0, 0
            while at < len(delivered):
                size = rng.randrange(1, 30)
                rejected += len(lake.feed(delivered[at : at + size]).rejections)
                at += size
            assert rejected == len(reference.rejections)
            assert dict(lake.tables) == dict(whole.tables)
            assert dict(lake.appends) == dict(whole.appends)


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
