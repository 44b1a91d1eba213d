"""Experiment writes and look-ups with MLflow's ``MlflowClient`` names.

The ids are deterministic (see ``runstream.sdk.experiments`` for why): creating an
experiment needs no server round trip, and two processes creating the same name
agree on its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runstream.errors import ValidationError
from runstream.events.codec import make_event
from runstream.events.event_types import EventType
from runstream.events.limits import check_key, check_name, check_tag_value
from runstream.sdk.artifacts import ArtifactRoot
from runstream.sdk.entities import Experiment
from runstream.sdk.experiments import (
    DEFAULT_EXPERIMENT_NAME,
    default_experiment,
    experiment_from_json,
    experiment_id_for,
)
from runstream.sdk.session import Session


class ExperimentClient:
    """Experiments: created, looked up, tagged, renamed, deleted.

    Args:
        session: the connections shared by every part of the client.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._experiments: dict[str, Experiment] = {}

    def location_of(self, experiment_id: str) -> str | None:
        """The artifact location of an experiment this client created or looked up."""
        for experiment in self._experiments.values():
            if experiment.experiment_id == experiment_id:
                return experiment.artifact_location
        return None

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, from the query service (None if none).

        Raises:
            ServiceError: the query service does not answer.
        """
        if name == DEFAULT_EXPERIMENT_NAME:
            return default_experiment()
        body = self._session.query().experiment_by_name(check_name("experiment", name))
        return None if body is None else experiment_from_json(body)

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Creates an experiment and returns its id (deterministic: see ``sdk.experiments``).

        Raises:
            ValidationError: a bad name, location or tag; or the name is taken.
        """
        check_name("experiment", name)
        if artifact_location is not None:
            ArtifactRoot.from_uri(artifact_location)
        answered, found = self._session.optional_query(lambda q: q.experiment_by_name(name))
        if answered and found is not None:
            raise ValidationError(
                f"experiment {name!r} already exists (id {found.get('experiment_id')})"
            )
        experiment_id = experiment_id_for(name)
        clean = {
            check_key("tag", k): check_tag_value(str(v), scope="experiment")
            for k, v in (tags or {}).items()
        }
        body = {"name": name, "artifact_location": artifact_location, "tags": clean}
        self._session.publish(
            make_event(EventType.EXPERIMENT_CREATED, body, experiment_id=experiment_id)
        )
        self._experiments[name] = Experiment(experiment_id, name, artifact_location, tags=clean)
        return experiment_id

    def resolve_experiment(self, name: str) -> Experiment:
        """The experiment named ``name``, created when missing (``set_experiment``'s rule).

        Looks the name up through the query service; when it is not there, or no
        optional query service answers, publishes ``experiment.created`` with the
        name's deterministic id.
        """
        if name == DEFAULT_EXPERIMENT_NAME:
            return default_experiment()
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        check_name("experiment", name)
        answered, found = self._session.optional_query(lambda q: q.experiment_by_name(name))
        if answered and found is not None:
            experiment = experiment_from_json(found)
            self._experiments[name] = experiment
            return experiment
        experiment_id = experiment_id_for(name)
        body: dict[str, Any] = {"name": name, "artifact_location": None, "tags": {}}
        self._session.publish(
            make_event(EventType.EXPERIMENT_CREATED, body, experiment_id=experiment_id)
        )
        experiment = self._experiments[name] = Experiment(experiment_id, name)
        return experiment

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Sets a tag on an experiment."""
        body = {
            "key": check_key("tag", key),
            "value": check_tag_value(str(value), scope="experiment"),
        }
        self._publish_experiment(EventType.EXPERIMENT_TAG_SET, experiment_id, body)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Removes a tag from an experiment (a missing tag is not an error)."""
        body = {"key": check_key("tag", key)}
        self._publish_experiment(EventType.EXPERIMENT_TAG_DELETED, experiment_id, body)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Renames an experiment."""
        body = {"name": check_name("experiment", new_name)}
        self._publish_experiment(EventType.EXPERIMENT_RENAMED, experiment_id, body)
        self._experiments = {
            n: e for n, e in self._experiments.items() if e.experiment_id != experiment_id
        }

    def delete_experiment(self, experiment_id: str) -> None:
        """Moves an experiment to the deleted stage."""
        self._publish_experiment(EventType.EXPERIMENT_DELETED, experiment_id, {})

    def restore_experiment(self, experiment_id: str) -> None:
        """Restores a deleted experiment."""
        self._publish_experiment(EventType.EXPERIMENT_RESTORED, experiment_id, {})

    def _publish_experiment(
        self, kind: EventType, experiment_id: str, body: dict[str, Any]
    ) -> None:
        self._session.publish(make_event(kind, body, experiment_id=str(experiment_id)))


__all__ = ["ExperimentClient"]
