"""The v1 event types: one name per change the log can carry (docs/contracts.md)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EventType"]


class EventType(StrEnum):
    """Every v1 event type; the value is the ``type`` field on the wire.

    Members are ``str``, so ``EventType.RUN_METRICS == "run.metrics"`` and a dict
    keyed by ``EventType`` can be read with plain strings.
    """

    EXPERIMENT_CREATED = "experiment.created"
    EXPERIMENT_RENAMED = "experiment.renamed"
    EXPERIMENT_TAG_SET = "experiment.tag_set"
    EXPERIMENT_TAG_DELETED = "experiment.tag_deleted"
    EXPERIMENT_DELETED = "experiment.deleted"
    EXPERIMENT_RESTORED = "experiment.restored"
    RUN_STARTED = "run.started"
    RUN_PARAMS = "run.params"
    RUN_METRICS = "run.metrics"
    RUN_TAGS = "run.tags"
    RUN_TAG_DELETED = "run.tag_deleted"
    RUN_ENDED = "run.ended"
    RUN_DELETED = "run.deleted"
    RUN_RESTORED = "run.restored"
    RUN_INPUTS = "run.inputs"
    RUN_OUTPUTS = "run.outputs"
    RUN_MODEL_INPUTS = "run.model_inputs"
    ARTIFACT_LOGGED = "artifact.logged"
    MODEL_LOGGED = "model.logged"
    LOGGED_MODEL_CREATED = "logged_model.created"
    LOGGED_MODEL_FINALIZED = "logged_model.finalized"
    LOGGED_MODEL_TAGS_SET = "logged_model.tags_set"
    LOGGED_MODEL_TAG_DELETED = "logged_model.tag_deleted"
    LOGGED_MODEL_PARAMS = "logged_model.params"
    LOGGED_MODEL_METRICS = "logged_model.metrics"
    LOGGED_MODEL_DELETED = "logged_model.deleted"
    REGISTRY_MODEL_CREATED = "registry.model_created"
    REGISTRY_MODEL_DELETED = "registry.model_deleted"
    REGISTRY_MODEL_RENAMED = "registry.model_renamed"
    REGISTRY_VERSION_REQUESTED = "registry.version_requested"
    REGISTRY_STAGE_CHANGED = "registry.stage_changed"
    REGISTRY_ALIAS_SET = "registry.alias_set"
    REGISTRY_ALIAS_DELETED = "registry.alias_deleted"
    REGISTRY_MODEL_TAG_SET = "registry.model_tag_set"
    REGISTRY_MODEL_TAG_DELETED = "registry.model_tag_deleted"
    REGISTRY_VERSION_TAG_SET = "registry.version_tag_set"
    REGISTRY_VERSION_TAG_DELETED = "registry.version_tag_deleted"
    REGISTRY_DESCRIPTION_SET = "registry.description_set"
    REGISTRY_VERSION_DELETED = "registry.version_deleted"
    AUTH_CHANGED = "auth.changed"
    PREDICTIONS_LOGGED = "predictions.logged"
