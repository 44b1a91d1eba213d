"""Projection of model-registry events (topic ``runstream.registry``, keyed by model name).

Version numbers are assigned here, in log order, so every replay of the registry
topic gives every version the same number. Each handler applies one event whole,
or raises :class:`~runstream.core.working.EventRejectedError` before changing
anything. A deleted model keeps its row (``deleted = true``, so the API can say it
is gone) while its versions, tags and aliases are removed, as MLflow removes them;
creating the model again starts from version 1. A stage or alias change also
adds its row to the audit trail (``auth_audit``: who, when, what), once it is
applied; an event that is rejected changed nothing and adds none.
"""

from __future__ import annotations

from typing import Any

from runstream.core.project_tracking import Handler
from runstream.core.registry import (
    REASON_REQUESTED,
    VERSION_STATUS_READY,
    Stage,
    archived_by_reason,
    next_version,
    versions_to_archive,
)
from runstream.core.rows import ModelRow, VersionRow
from runstream.core.working import EventRejectedError, Reason, Working
from runstream.events import Envelope, EventType
from runstream.events.registry_bodies import (
    RegistryAliasDeletedBody,
    RegistryAliasSetBody,
    RegistryDescriptionSetBody,
    RegistryModelCreatedBody,
    RegistryModelDeletedBody,
    RegistryModelTagDeletedBody,
    RegistryModelTagSetBody,
    RegistryStageChangedBody,
    RegistryVersionDeletedBody,
    RegistryVersionRequestedBody,
    RegistryVersionTagDeletedBody,
    RegistryVersionTagSetBody,
)


def _name(env: Envelope[Any]) -> str:
    if env.model_name is None:
        raise EventRejectedError(Reason.MALFORMED, f"{env.type} without model_name")
    return env.model_name


def _touch_model(w: Working, name: str, at: int) -> None:
    w.models[name].last_updated_time = at
    w.touch("registered_models", (name,))


def _touch_version(w: Working, row: VersionRow, at: int) -> None:
    row.last_updated_time = at
    w.touch("model_versions", (row.name, row.version))


def _audit(w: Working, env: Envelope[Any], subject: str) -> None:
    """One audit row: the event, when, who (None when the producer did not say), what."""
    row = (env.event_id, env.produced_at, env.body.actor, env.type.value, subject)
    w.appends["auth_audit"].append(row)


def model_created(w: Working, env: Envelope[RegistryModelCreatedBody]) -> None:
    """``registry.model_created``: a new model, or a deleted one created again."""
    name, body = _name(env), env.body
    existing = w.models.get(name)
    if existing is not None and not existing.deleted:
        raise EventRejectedError(Reason.MODEL_EXISTS, f"registered model {name!r} already exists")
    w.models[name] = ModelRow(name, body.description, env.produced_at, env.produced_at, False)
    w.touch("registered_models", (name,))
    for key, value in body.tags.items():
        w.set_kv("registered_model_tags", (name, key), (name, key, value))


def model_deleted(w: Working, env: Envelope[RegistryModelDeletedBody]) -> None:
    """``registry.model_deleted``: the model is marked deleted; its versions are removed."""
    model = w.live_model(_name(env))
    model.deleted = True
    _touch_model(w, model.name, env.produced_at)
    w.purge_model(model.name)


def version_requested(w: Working, env: Envelope[RegistryVersionRequestedBody]) -> None:
    """``registry.version_requested``: the next version number of the model, in log order."""
    model = w.live_model(_name(env))
    body = env.body
    numbers = [v for (n, v) in w.versions if n == model.name]
    for number in numbers:
        if w.versions[(model.name, number)].request_id == body.request_id:
            raise EventRejectedError(
                Reason.DUPLICATE_REQUEST,
                f"request {body.request_id} already created version {number} of {model.name!r}",
            )
    version = next_version(numbers)
    w.versions[(model.name, version)] = VersionRow(
        name=model.name,
        version=version,
        request_id=body.request_id,
        source=body.source,
        run_id=body.run_id,
        status=VERSION_STATUS_READY,
        current_stage=Stage.NONE.value,
        description=body.description,
        creation_time=env.produced_at,
        last_updated_time=env.produced_at,
        deleted=False,
    )
    w.touch("model_versions", (model.name, version))
    _touch_model(w, model.name, env.produced_at)
    for key, value in body.tags.items():
        row = (model.name, version, key, value)
        w.set_kv("model_version_tags", row[:3], row)


def stage_changed(w: Working, env: Envelope[RegistryStageChangedBody]) -> None:
    """``registry.stage_changed``: moves a version, archiving the others if asked."""
    name, body = _name(env), env.body
    row = w.live_version(name, body.version)
    target = Stage(body.stage)
    stages = {v: r.current_stage for (n, v), r in w.versions.items() if n == name and not r.deleted}
    # Raises InvalidTransitionError (-> bad_transition) before anything changes.
    archived = versions_to_archive(target, body.archive_existing_versions, body.version, stages)
    at = env.produced_at
    transitions = w.appends["stage_transitions"]
    for number in archived:
        other = w.versions[(name, number)]
        transitions.append(
            (name, number, other.current_stage, Stage.ARCHIVED.value,
             archived_by_reason(body.version), env.event_id, at)
        )
        other.current_stage = Stage.ARCHIVED.value
        _touch_version(w, other, at)
    transitions.append(
        (name, body.version, row.current_stage, target.value, REASON_REQUESTED, env.event_id, at)
    )
    subject = f"model {name} v{body.version} {row.current_stage} -> {target.value}"
    if archived:
        subject += " (archived " + ", ".join(f"v{n}" for n in archived) + ")"
    row.current_stage = target.value
    _touch_version(w, row, at)
    _touch_model(w, name, at)
    _audit(w, env, subject)


def alias_set(w: Working, env: Envelope[RegistryAliasSetBody]) -> None:
    """``registry.alias_set``: an alias names one version; setting it again moves it."""
    name, body = _name(env), env.body
    w.live_version(name, body.version)
    w.aliases[(name, body.alias)] = body.version
    w.set_kv("registered_model_aliases", (name, body.alias), (name, body.alias, body.version))
    _touch_model(w, name, env.produced_at)
    _audit(w, env, f"model {name} alias {body.alias} -> v{body.version}")


def alias_deleted(w: Working, env: Envelope[RegistryAliasDeletedBody]) -> None:
    """``registry.alias_deleted``: removes the alias (a missing alias is not an error)."""
    model = w.live_model(_name(env))
    w.aliases.pop((model.name, env.body.alias), None)
    w.set_kv("registered_model_aliases", (model.name, env.body.alias), None)
    _touch_model(w, model.name, env.produced_at)
    _audit(w, env, f"model {model.name} alias {env.body.alias} removed")


def model_tag_set(w: Working, env: Envelope[RegistryModelTagSetBody]) -> None:
    """``registry.model_tag_set``: last write wins."""
    model = w.live_model(_name(env))
    key, value = env.body.key, env.body.value
    w.set_kv("registered_model_tags", (model.name, key), (model.name, key, value))


def model_tag_deleted(w: Working, env: Envelope[RegistryModelTagDeletedBody]) -> None:
    """``registry.model_tag_deleted``: removes the tag."""
    model = w.live_model(_name(env))
    w.set_kv("registered_model_tags", (model.name, env.body.key), None)


def version_tag_set(w: Working, env: Envelope[RegistryVersionTagSetBody]) -> None:
    """``registry.version_tag_set``: last write wins."""
    name, b = _name(env), env.body
    w.live_version(name, b.version)
    w.set_kv("model_version_tags", (name, b.version, b.key), (name, b.version, b.key, b.value))


def version_tag_deleted(w: Working, env: Envelope[RegistryVersionTagDeletedBody]) -> None:
    """``registry.version_tag_deleted``: removes the tag."""
    name, b = _name(env), env.body
    w.live_version(name, b.version)
    w.set_kv("model_version_tags", (name, b.version, b.key), None)


def description_set(w: Working, env: Envelope[RegistryDescriptionSetBody]) -> None:
    """``registry.description_set``: of a version, or of the model when version is null."""
    name, b = _name(env), env.body
    if b.version is None:
        model = w.live_model(name)
        model.description = b.description
        _touch_model(w, name, env.produced_at)
        return
    row = w.live_version(name, b.version)
    row.description = b.description
    _touch_version(w, row, env.produced_at)


def version_deleted(w: Working, env: Envelope[RegistryVersionDeletedBody]) -> None:
    """``registry.version_deleted``: the number stays taken; the version's aliases go."""
    name, b = _name(env), env.body
    row = w.live_version(name, b.version)
    row.deleted = True
    _touch_version(w, row, env.produced_at)
    for key in [k for k, v in w.aliases.items() if k[0] == name and v == b.version]:
        del w.aliases[key]
        w.set_kv("registered_model_aliases", key, None)
    _touch_model(w, name, env.produced_at)


HANDLERS: dict[EventType, Handler] = {
    EventType.REGISTRY_MODEL_CREATED: model_created,
    EventType.REGISTRY_MODEL_DELETED: model_deleted,
    EventType.REGISTRY_VERSION_REQUESTED: version_requested,
    EventType.REGISTRY_STAGE_CHANGED: stage_changed,
    EventType.REGISTRY_ALIAS_SET: alias_set,
    EventType.REGISTRY_ALIAS_DELETED: alias_deleted,
    EventType.REGISTRY_MODEL_TAG_SET: model_tag_set,
    EventType.REGISTRY_MODEL_TAG_DELETED: model_tag_deleted,
    EventType.REGISTRY_VERSION_TAG_SET: version_tag_set,
    EventType.REGISTRY_VERSION_TAG_DELETED: version_tag_deleted,
    EventType.REGISTRY_DESCRIPTION_SET: description_set,
    EventType.REGISTRY_VERSION_DELETED: version_deleted,
}

__all__ = ["HANDLERS"]
