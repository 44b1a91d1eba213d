"""The body models of the ``registry.*`` event types (the registry topic).

Registry events are keyed by model name, so one partition orders all the changes
of one registered model; version numbers are assigned by the materializer in
that order, which is why ``registry.version_requested`` carries a ``request_id``
and no number. Stage and alias changes may name their ``actor`` (the user who
made them, as the write gateway authenticated them or the SDK's login name); the
materializer records them in the audit trail with or without one.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from runstream.events.bodies import EventBody, ModelStage
from runstream.events.event_types import EventType
from runstream.events.fields import (
    Alias,
    Bool,
    Description,
    PrincipalName,
    RegistryTags,
    RegistryTagValue,
    RequestId,
    RunId,
    TagKey,
    Uri,
    Version,
)

__all__ = [
    "RegistryAliasDeletedBody",
    "RegistryAliasSetBody",
    "RegistryDescriptionSetBody",
    "RegistryModelCreatedBody",
    "RegistryModelDeletedBody",
    "RegistryModelTagDeletedBody",
    "RegistryModelTagSetBody",
    "RegistryStageChangedBody",
    "RegistryVersionDeletedBody",
    "RegistryVersionRequestedBody",
    "RegistryVersionTagDeletedBody",
    "RegistryVersionTagSetBody",
]


class RegistryModelCreatedBody(EventBody):
    """``registry.model_created``: a new registered model (the envelope's model name)."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_MODEL_CREATED
    description: Description | None = None
    tags: RegistryTags = Field(default_factory=dict)


class RegistryModelDeletedBody(EventBody):
    """``registry.model_deleted``: deletes the registered model and its versions."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_MODEL_DELETED


class RegistryVersionRequestedBody(EventBody):
    """``registry.version_requested``: asks for a new version; the materializer numbers it.

    ``request_id`` lets the SDK find the number it was given through the API.
    """

    event_type: ClassVar[EventType] = EventType.REGISTRY_VERSION_REQUESTED
    request_id: RequestId
    source: Uri
    run_id: RunId | None = None
    description: Description | None = None
    tags: RegistryTags = Field(default_factory=dict)


class RegistryStageChangedBody(EventBody):
    """``registry.stage_changed``: moves a version to a stage, optionally archiving others."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_STAGE_CHANGED
    version: Version
    stage: ModelStage
    archive_existing_versions: Bool
    actor: PrincipalName | None = None


class RegistryAliasSetBody(EventBody):
    """``registry.alias_set``: points an alias at a version (moves it if set elsewhere)."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_ALIAS_SET
    alias: Alias
    version: Version
    actor: PrincipalName | None = None


class RegistryAliasDeletedBody(EventBody):
    """``registry.alias_deleted``: removes an alias."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_ALIAS_DELETED
    alias: Alias
    actor: PrincipalName | None = None


class RegistryModelTagSetBody(EventBody):
    """``registry.model_tag_set``: sets one registered model tag."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_MODEL_TAG_SET
    key: TagKey
    value: RegistryTagValue


class RegistryModelTagDeletedBody(EventBody):
    """``registry.model_tag_deleted``: removes one registered model tag."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_MODEL_TAG_DELETED
    key: TagKey


class RegistryVersionTagSetBody(EventBody):
    """``registry.version_tag_set``: sets one model version tag."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_VERSION_TAG_SET
    version: Version
    key: TagKey
    value: RegistryTagValue


class RegistryVersionTagDeletedBody(EventBody):
    """``registry.version_tag_deleted``: removes one model version tag."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_VERSION_TAG_DELETED
    version: Version
    key: TagKey


class RegistryDescriptionSetBody(EventBody):
    """``registry.description_set``: the description of a version, or of the model if null."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_DESCRIPTION_SET
    description: Description
    version: Version | None = None


class RegistryVersionDeletedBody(EventBody):
    """``registry.version_deleted``: deletes one model version."""

    event_type: ClassVar[EventType] = EventType.REGISTRY_VERSION_DELETED
    version: Version
