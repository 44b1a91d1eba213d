"""The reducer's working state: the state view, changed by each accepted event.

The reducer copies the rows it was given, applies events one by one, and records
what changed per table. At the end, :meth:`Working.changes` returns the final row
of every changed key (None for a deleted one); :attr:`Working.moves` holds the
models whose registry rows were purged or renamed, in log order, and
:attr:`Working.appends` the rows to append. The lake writer applies these in that
order: moves (one after the other), then deletes and upserts by key, then appends.
The changes pending in the batch already carry the names the moves give them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from runstream.core.rows import (
    ExperimentRow,
    LoggedModelRow,
    MetricBlock,
    ModelRow,
    RunRow,
    VersionRow,
)
from runstream.errors import ValidationError

Key = tuple[Any, ...]
Row = tuple[Any, ...]


class Reason(StrEnum):
    """Why an event was rejected (first word of ``rejected_events.reason``)."""

    MALFORMED = "malformed"
    PARAM_CONFLICT = "param_conflict"
    UNKNOWN_RUN = "unknown_run"
    RUN_EXISTS = "run_exists"
    RUN_DELETED = "run_deleted"
    UNKNOWN_EXPERIMENT = "unknown_experiment"
    EXPERIMENT_EXISTS = "experiment_exists"
    EXPERIMENT_NAME_TAKEN = "experiment_name_taken"
    EXPERIMENT_DELETED = "experiment_deleted"
    UNKNOWN_MODEL = "unknown_model"
    MODEL_EXISTS = "model_exists"
    UNKNOWN_VERSION = "unknown_version"
    DUPLICATE_REQUEST = "duplicate_request"
    BAD_TRANSITION = "bad_transition"
    UNKNOWN_LOGGED_MODEL = "unknown_logged_model"
    LOGGED_MODEL_EXISTS = "logged_model_exists"


class EventRejectedError(ValidationError):
    """An event the projection refuses; the batch goes on without it.

    Attributes:
        reason: the machine-readable reason.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class StateView:
    """What the lake holds about the entities a batch touches (see ``state_keys``).

    Attributes:
        experiments: experiments by id (those named or referenced by the batch).
        runs: runs by id.
        params: param values by ``(run_id, key)`` for runs that log params.
        models: registered models by name.
        versions: every version of those models by ``(name, version)``.
        aliases: alias -> version by ``(name, alias)``.
        logged_models: MLflow 3 logged models by id.
        seen_event_ids: ids of the batch that the lake already holds.
    """

    experiments: dict[str, ExperimentRow] = field(default_factory=dict)
    runs: dict[str, RunRow] = field(default_factory=dict)
    params: dict[tuple[str, str], str] = field(default_factory=dict)
    models: dict[str, ModelRow] = field(default_factory=dict)
    versions: dict[tuple[str, int], VersionRow] = field(default_factory=dict)
    aliases: dict[tuple[str, str], int] = field(default_factory=dict)
    logged_models: dict[str, LoggedModelRow] = field(default_factory=dict)
    seen_event_ids: set[str] = field(default_factory=set)


# Key-value tables and the registry tables a model purge clears (all keyed by name first).
KV_TABLES = (
    "experiment_tags",
    "params",
    "tags",
    "artifacts",
    "logged_models",
    "dataset_inputs",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "logged_model_outputs",
    "logged_model_inputs",
    "registered_model_tags",
    "registered_model_aliases",
    "model_version_tags",
    "auth_users",
    "auth_group_members",
    "auth_tokens",
    "auth_token_revocations",
    "auth_permissions",
)
PURGED_ON_MODEL_DELETE = (
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "registered_model_tags",
)
# A renamed model takes its stage history along; a deleted one leaves it.
RENAMED_WITH_MODEL = (*PURGED_ON_MODEL_DELETE, "stage_transitions")


@dataclass(frozen=True, slots=True)
class ModelMove:
    """A change to every lake row of one model in the registry tables, keyed by name first.

    Attributes:
        name: the model whose rows move.
        new_name: the name the rows take (a rename, tables ``RENAMED_WITH_MODEL``), or
            None: the rows are deleted (a purge, tables ``PURGED_ON_MODEL_DELETE``).
    """

    name: str
    new_name: str | None = None


class Working:
    """Mutable state of one reduction; see the module docstring."""

    def __init__(self, state: StateView, artifact_root: str) -> None:
        self.artifact_root = artifact_root
        self.experiments = {k: v.copy() for k, v in state.experiments.items()}
        self.runs = {k: v.copy() for k, v in state.runs.items()}
        self.params = dict(state.params)
        self.models = {k: v.copy() for k, v in state.models.items()}
        self.versions = {k: v.copy() for k, v in state.versions.items()}
        self.aliases = dict(state.aliases)
        self.logged_models = {k: v.copy() for k, v in state.logged_models.items()}
        self.dirty: dict[str, set[Key]] = defaultdict(set)
        self.kv: dict[str, dict[Key, Row | None]] = defaultdict(dict)
        self.appends: dict[str, list[Row]] = defaultdict(list)
        self.moves: list[ModelMove] = []
        self.blocks: list[MetricBlock] = []

    # -- lookups that reject -------------------------------------------------------

    def active_run(self, run_id: str | None) -> RunRow:
        """Return the run, refusing unknown and deleted runs."""
        run = self.runs.get(run_id or "")
        if run is None:
            raise EventRejectedError(Reason.UNKNOWN_RUN, f"run {run_id!r} was never started")
        if run.lifecycle_stage == "deleted":
            raise EventRejectedError(Reason.RUN_DELETED, f"run {run_id} is deleted")
        return run

    def experiment(self, experiment_id: str | None) -> ExperimentRow:
        """Return the experiment, refusing unknown ones."""
        exp = self.experiments.get(experiment_id or "")
        if exp is None:
            raise EventRejectedError(
                Reason.UNKNOWN_EXPERIMENT, f"experiment {experiment_id!r} does not exist"
            )
        return exp

    def live_model(self, name: str | None) -> ModelRow:
        """Return the registered model, refusing unknown and deleted ones."""
        model = self.models.get(name or "")
        if model is None or model.deleted:
            raise EventRejectedError(Reason.UNKNOWN_MODEL, f"registered model {name!r} not found")
        return model

    def live_version(self, name: str | None, version: int) -> VersionRow:
        """Return a version of a live model, refusing unknown and deleted versions."""
        self.live_model(name)
        row = self.versions.get((name or "", version))
        if row is None or row.deleted:
            raise EventRejectedError(
                Reason.UNKNOWN_VERSION, f"model {name!r} has no version {version}"
            )
        return row

    # -- changes ---------------------------------------------------------------------

    def touch(self, table: str, key: Key) -> None:
        """Mark an entity row as changed; its final state is written at the end."""
        self.dirty[table].add(key)

    def set_kv(self, table: str, key: Key, row: Row | None) -> None:
        """Upsert (``row``) or delete (None) one row of a key-value table."""
        self.kv[table][key] = row

    def purge_model(self, name: str) -> None:
        """Remove every version, tag and alias of a model (MLflow deletes them for good)."""
        self.moves.append(ModelMove(name))
        for table in PURGED_ON_MODEL_DELETE:
            pending = self.kv.get(table, {})
            for key in [k for k in pending if k[0] == name]:
                del pending[key]
        for key in [k for k in self.versions if k[0] == name]:
            del self.versions[key]
        self.dirty["model_versions"] = {k for k in self.dirty["model_versions"] if k[0] != name}
        for key in [k for k in self.aliases if k[0] == name]:
            del self.aliases[key]

    def rename_model(self, old: str, new: str, at: int) -> None:
        """Move a model and every version, tag, alias and stage change of it to ``new``.

        The model keeps its creation time; it and its versions are updated at ``at``
        (as MLflow's store does). ``old`` is left as a deleted model, so the name is
        free again; the lake's rows follow in the writer (:class:`ModelMove`).
        """
        model = self.models[old]
        self.models[new] = replace(model, name=new, last_updated_time=at, deleted=False)
        model.deleted = True
        model.last_updated_time = at
        self.touch("registered_models", (old,))
        self.touch("registered_models", (new,))
        self.moves.append(ModelMove(old, new))
        for name, number in [k for k in self.versions if k[0] == old]:
            version = self.versions.pop((name, number))
            version.name = new
            version.last_updated_time = at
            self.versions[(new, number)] = version
            self.touch("model_versions", (new, number))
        self.dirty["model_versions"] = {k for k in self.dirty["model_versions"] if k[0] != old}
        for name, alias in [k for k in self.aliases if k[0] == old]:
            self.aliases[(new, alias)] = self.aliases.pop((name, alias))
        for table in PURGED_ON_MODEL_DELETE:
            pending = self.kv.get(table, {})
            for key in [k for k in pending if k[0] == old]:
                row = pending.pop(key)
                pending[(new, *key[1:])] = None if row is None else (new, *row[1:])
        transitions = self.appends["stage_transitions"]
        transitions[:] = [(new, *r[1:]) if r[0] == old else r for r in transitions]

    def changes(self) -> dict[str, dict[Key, Row | None]]:
        """Return the final row (None: deleted) of every changed key, per table."""
        out: dict[str, dict[Key, Row | None]] = {t: dict(rows) for t, rows in self.kv.items()}
        sources: dict[str, dict[Any, Any]] = {
            "experiments": self.experiments,
            "runs": self.runs,
            "registered_models": self.models,
            "model_versions": self.versions,
            "mlflow_logged_models": self.logged_models,
        }
        for table, keys in self.dirty.items():
            rows = sources[table]
            target = out.setdefault(table, {})
            for key in keys:
                lookup = key[0] if len(key) == 1 else key
                target[key] = rows[lookup].astuple()
        return {t: rows for t, rows in out.items() if rows}


__all__ = [
    "KV_TABLES",
    "PURGED_ON_MODEL_DELETE",
    "RENAMED_WITH_MODEL",
    "EventRejectedError",
    "ModelMove",
    "Reason",
    "StateView",
    "Working",
]
