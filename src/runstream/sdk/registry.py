"""Model-registry writes with MLflow's ``MlflowClient`` names, published as registry events.

Registry events go to the registry topic keyed by model name, so one partition
orders all changes of one model. Version numbers are not chosen here: the
materializer assigns them in topic order. ``create_model_version`` therefore
publishes ``registry.version_requested`` with a fresh ``request_id``, flushes, and
polls the query service (``GET /api/v1/model-versions/by-request/{id}``) until the
number is visible, or fails with a clear error when it does not come in time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from runstream.core.registry import Stage, versions_to_archive
from runstream.errors import (
    AlreadyExistsError,
    InvalidTransitionError,
    NotFoundError,
    ServiceError,
    ValidationError,
)
from runstream.events.codec import make_event
from runstream.events.event_types import EventType
from runstream.events.fields import actor_name
from runstream.events.limits import (
    check_alias,
    check_description,
    check_key,
    check_name,
    check_tag_value,
)
from runstream.sdk.context import user_id
from runstream.sdk.entities import ModelVersion, RegisteredModel, ResolvedModel
from runstream.sdk.session import Session

DEFAULT_AWAIT_S = 300


def _version(version: int | str) -> int:
    """MLflow accepts ``"3"`` as well as ``3``."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ValidationError(
            f"model version must be a positive integer, not {version!r}"
        ) from None
    if number < 1:
        raise ValidationError(f"model version must be >= 1, not {number}")
    return number


def _stage(raw: str) -> Stage:
    """The stage named ``raw``, in any capitalisation (as MLflow accepts)."""
    for stage in Stage:
        if isinstance(raw, str) and stage.value.lower() == raw.lower():
            return stage
    raise InvalidTransitionError(
        f"unknown stage {raw!r}; use None, Staging, Production or Archived"
    )


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        check_key("tag", k): check_tag_value(str(v), scope="registry")
        for k, v in (tags or {}).items()
    }


class ModelRegistryClient:
    """Registry writes and look-ups, published to the registry topic.

    Args:
        session: the connections shared with the tracking parts of the client.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def resolve_model_uri(self, uri: str) -> ResolvedModel | None:
        """Resolves a ``models:/`` URI through the query service (None if it names nothing)."""
        return self._session.query().resolve_model_uri(uri)

    def _publish(self, kind: EventType, name: str, body: dict[str, Any]) -> None:
        self._session.publish(make_event(kind, body, model_name=check_name("model", name)))

    def _publish_audited(self, kind: EventType, name: str, body: dict[str, Any]) -> None:
        """A stage or alias change, naming its actor: the login name, as runs name their user."""
        self._publish(kind, name, {**body, "actor": actor_name(user_id())})

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Creates a registered model."""
        if description is not None:
            check_description(description)
        clean = _tags(tags)
        body = {"description": description, "tags": clean}
        self._publish(EventType.REGISTRY_MODEL_CREATED, name, body)
        return RegisteredModel(name, description, clean)

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = DEFAULT_AWAIT_S,
    ) -> ModelVersion:
        """Requests a new version of a model and returns it with its assigned number.

        Args:
            name: the registered model.
            source: where the model lives (``runs:/...`` or ``s3://...``).
            run_id: the run that logged it.
            tags: version tags.
            run_link: accepted for MLflow compatibility; not stored.
            description: version description.
            await_creation_for: seconds to wait for the number; 0 returns at once
                with ``version=None``.

        Raises:
            ServiceError: the number did not become visible in time (is the
                materializer running?), or the query service does not answer.
            DeliveryError: the request could not be delivered to the broker.
        """
        del run_link
        if description is not None:
            check_description(description)
        request_id = str(uuid.uuid4())
        clean = _tags(tags)
        body: dict[str, Any] = {
            "request_id": request_id,
            "source": source,
            "run_id": run_id,
            "description": description,
            "tags": clean,
        }
        self._publish(EventType.REGISTRY_VERSION_REQUESTED, name, body)
        version = None
        if await_creation_for > 0:
            version = self._await_version(name, request_id, float(await_creation_for))
        return ModelVersion(
            name, version, source, run_id, description=description, tags=body["tags"]
        )

    def _await_version(self, name: str, request_id: str, timeout_s: float) -> int:
        """Flushes, then polls the query service until the request has its number."""
        deadline = time.monotonic() + timeout_s
        self._session.flush(timeout_s)
        query = self._session.query()
        delay = 0.1
        while True:
            found = query.model_version_by_request(request_id)
            if found is not None and found.get("version") is not None:
                return int(found["version"])
            if time.monotonic() + delay > deadline:
                raise ServiceError(
                    f"model {name!r}: version request {request_id} was delivered but no "
                    f"version number is visible through {self._session.endpoints.tracking_uri} "
                    f"after {timeout_s:g}s; is the materializer running?"
                )
            time.sleep(delay)
            delay = min(1.0, delay * 1.5)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Moves a version to a stage (None, Staging, Production, Archived).

        Raises:
            InvalidTransitionError: an unknown stage, or archiving with a stage other
                than Staging or Production.
        """
        target = _stage(stage)
        number = _version(version)
        # Raises for archiving with a stage other than Staging or Production.
        versions_to_archive(target, bool(archive_existing_versions), number, {})
        body = {
            "version": number,
            "stage": target.value,
            "archive_existing_versions": bool(archive_existing_versions),
        }
        self._publish_audited(EventType.REGISTRY_STAGE_CHANGED, name, body)
        return ModelVersion(name, number, "", current_stage=target.value)

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Points an alias (e.g. ``champion``) at a version."""
        body = {"alias": check_alias(alias), "version": _version(version)}
        self._publish_audited(EventType.REGISTRY_ALIAS_SET, name, body)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Removes an alias."""
        self._publish_audited(EventType.REGISTRY_ALIAS_DELETED, name, {"alias": check_alias(alias)})

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Sets a tag on a registered model."""
        ((k, v),) = _tags({key: value}).items()
        self._publish(EventType.REGISTRY_MODEL_TAG_SET, name, {"key": k, "value": v})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Removes a tag of a registered model."""
        self._publish(EventType.REGISTRY_MODEL_TAG_DELETED, name, {"key": check_key("tag", key)})

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Sets a tag on a model version."""
        ((k, v),) = _tags({key: value}).items()
        body = {"version": _version(version), "key": k, "value": v}
        self._publish(EventType.REGISTRY_VERSION_TAG_SET, name, body)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Removes a tag of a model version."""
        body = {"version": _version(version), "key": check_key("tag", key)}
        self._publish(EventType.REGISTRY_VERSION_TAG_DELETED, name, body)

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        """Sets the description of a registered model."""
        body = {"version": None, "description": check_description(description)}
        self._publish(EventType.REGISTRY_DESCRIPTION_SET, name, body)
        return RegisteredModel(name, description)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Renames a model; its versions, tags, aliases and stage history go with it.

        The query service is asked first, after this client's own writes are in the
        lake (read-your-writes): a model created just before is found, and nothing
        still on its way under the old name lands after the rename. Without a query
        service the rename is published unchecked, and the materializer rejects it if
        ``name`` does not exist or ``new_name`` does.

        Raises:
            NotFoundError: no model is named ``name``.
            AlreadyExistsError: a model is named ``new_name`` already.
        """
        old, new = check_name("model", name), check_name("model", new_name)
        if new != old:
            answered, found = self._session.optional_query(
                lambda q: (q.registered_model_exists(old), q.registered_model_exists(new))
            )
            if answered and not found[0]:
                raise NotFoundError(f"Registered Model with name={old} not found")
            if answered and found[1]:
                raise AlreadyExistsError(f"Registered Model (name={new}) already exists.")
            self._publish_audited(EventType.REGISTRY_MODEL_RENAMED, new, {"old_name": old})
        return RegisteredModel(new)

    def update_model_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        """Sets the description of a model version."""
        number = _version(version)
        body = {"version": number, "description": check_description(description)}
        self._publish(EventType.REGISTRY_DESCRIPTION_SET, name, body)
        return ModelVersion(name, number, "", description=description)

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Deletes a model version (its number is never reused)."""
        self._publish(EventType.REGISTRY_VERSION_DELETED, name, {"version": _version(version)})

    def delete_registered_model(self, name: str) -> None:
        """Deletes a registered model and all its versions."""
        self._publish(EventType.REGISTRY_MODEL_DELETED, name, {})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at, through the query service.

        Raises:
            NotFoundError: no such model or alias.
        """
        resolved = self.resolve_model_uri(f"models:/{name}@{check_alias(alias)}")
        if resolved is None:
            raise NotFoundError(f"model {name!r} has no alias {alias!r}")
        return ModelVersion(resolved.name, resolved.version, resolved.source, resolved.run_id)

    def registered_model_exists(self, name: str) -> bool | None:
        """Whether the model exists per the query service; None when it cannot tell."""
        answered, exists = self._session.optional_query(
            lambda q: q.registered_model_exists(check_name("model", name))
        )
        return bool(exists) if answered else None


__all__ = ["DEFAULT_AWAIT_S", "ModelRegistryClient"]
