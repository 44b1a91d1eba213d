"""Every lake table, defined once: columns, types, keys and sort order.

This module is the single definition of the lake's shape. The DDL, the writer's
upsert keys and ``schemas/lake.md`` (checked by a drift test) all derive from
:data:`TABLES`; docs/contracts.md lists the same columns for the other teams.
Times are BIGINT milliseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

V = "VARCHAR"
I64 = "BIGINT"
I32 = "INTEGER"
F64 = "DOUBLE"
BOOL = "BOOLEAN"


@dataclass(frozen=True)
class Table:
    """One lake table.

    Attributes:
        name: table name inside the lake catalog.
        columns: ``(name, DuckDB type)`` in storage order.
        key: columns that identify a row for upserts; empty for append-only tables.
        sorted_by: DuckLake sort order applied when Parquet files are written.
        doc: one line for ``schemas/lake.md``.
        options: DuckLake table options (``set_option``), e.g. the inlining limit.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...] = ()
    sorted_by: tuple[str, ...] = ()
    doc: str = ""
    options: tuple[tuple[str, int | bool | str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in storage order."""
        return tuple(name for name, _ in self.columns)


def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    """Parse ``"a, b BIGINT, c"`` (type defaults to VARCHAR) into column pairs."""
    out: list[tuple[str, str]] = []
    for part in spec.split(","):
        name, _, typ = part.strip().partition(" ")
        out.append((name, typ.strip() or V))
    return tuple(out)


TABLES: tuple[Table, ...] = (
    Table(
        "events",
        _cols(
            "event_id, type, topic, partition INTEGER, offset BIGINT, produced_at BIGINT, "
            "experiment_id, run_id, model_name, payload"
        ),
        # Not sorted: rows keep the order they were projected in (DuckLake's rowid),
        # which is the order `rebuild` replays them in.
        doc="Raw archive of every accepted event (JSON payload as received), in projection order.",
        # No inlining option here: the writer inlines only batches of a few small
        # payloads (``writer.EVENTS_INLINE_ROWS`` / ``EVENTS_INLINE_BYTES``).
        # Small row groups: a metric event is ~50 KB (up to 1 MiB), and compaction holds
        # a whole row group's payloads in memory (2048 rows needed 117 MiB at once).
        # zstd: half the bytes of the default snappy (JSON compresses well) for about
        # 10 ms more per 15 MB batch; fewer bytes to upload outweigh it.
        options=(("parquet_row_group_size", 64), ("parquet_compression", "zstd")),
    ),
    Table(
        "experiments",
        _cols(
            "experiment_id, name, artifact_location, lifecycle_stage, "
            "creation_time BIGINT, last_update_time BIGINT"
        ),
        key=("experiment_id",),
        doc="One row per experiment; experiment `0` named `Default` always exists.",
    ),
    Table(
        "experiment_tags",
        _cols("experiment_id, key, value"),
        key=("experiment_id", "key"),
        doc="Experiment tags, last write wins.",
    ),
    Table(
        "runs",
        _cols(
            "run_id, experiment_id, run_name, user_id, status, start_time BIGINT, "
            "end_time BIGINT, lifecycle_stage, source_name, source_type, git_commit, "
            "parent_run_id, artifact_uri, description"
        ),
        key=("run_id",),
        doc="One row per run; status RUNNING, FINISHED, FAILED or KILLED.",
    ),
    Table(
        "params",
        _cols("run_id, key, value"),
        key=("run_id", "key"),
        doc="Run params; immutable once logged.",
    ),
    Table(
        "tags",
        _cols("run_id, key, value"),
        key=("run_id", "key"),
        doc="Run tags, last write wins; deleted tags are removed.",
    ),
    Table(
        "metrics",
        _cols("run_id, key, value DOUBLE, step BIGINT, timestamp BIGINT"),
        sorted_by=("run_id", "key", "step"),
        # Sorting every batch doubled its insert time; batches arrive grouped by run
        # (the writer orders them), and compaction writes fully sorted files. DuckLake
        # ignores this option while inlining is on: see ``LakeWriter._inlining``.
        options=(("sort_on_insert", False),),
        doc="Full metric history; NaN and +-Inf kept as doubles.",
    ),
    Table(
        "latest_metrics",
        _cols(
            "run_id, key, value DOUBLE, step BIGINT, timestamp BIGINT, "
            "min_value DOUBLE, max_value DOUBLE, count BIGINT"
        ),
        key=("run_id", "key"),
        doc="Latest value by (step, timestamp, value); min/max ignore NaN; count of points.",
    ),
    Table(
        "artifacts",
        _cols("run_id, path, uri, size BIGINT, sha256, media_type, logged_at BIGINT"),
        key=("run_id", "path"),
        doc="Artifacts of a run; logging a path again replaces it.",
    ),
    Table(
        "logged_models",
        _cols(
            "run_id, artifact_path, model_uuid, flavors, signature, input_example, "
            "logged_at BIGINT"
        ),
        key=("run_id", "artifact_path"),
        doc="Models logged by runs; flavors, signature and input_example are JSON text.",
    ),
    Table(
        "dataset_inputs",
        _cols(
            "run_id, dataset_name, dataset_digest, dataset_source_type, dataset_source, "
            "dataset_schema, dataset_profile, context, tags, logged_at BIGINT"
        ),
        key=("run_id", "dataset_name", "dataset_digest"),
        doc="Datasets runs used (MLflow's dataset inputs); source, schema, profile and "
        "tags are JSON text; context is the mlflow.data.context tag.",
    ),
    Table(
        "mlflow_logged_models",
        _cols(
            "model_id, experiment_id, name, source_run_id, model_type, artifact_location, "
            "status, lifecycle_stage, creation_time BIGINT, last_updated_time BIGINT"
        ),
        key=("model_id",),
        doc="MLflow 3 logged models (`logged_model.*`); status PENDING, READY or FAILED; "
        "soft delete.",
    ),
    Table(
        "logged_model_params",
        _cols("model_id, key, value"),
        key=("model_id", "key"),
        doc="Params of MLflow 3 logged models.",
    ),
    Table(
        "logged_model_tags",
        _cols("model_id, key, value"),
        key=("model_id", "key"),
        doc="Tags of MLflow 3 logged models.",
    ),
    Table(
        "logged_model_metrics",
        _cols(
            "model_id, key, value DOUBLE, timestamp BIGINT, step BIGINT, run_id, "
            "dataset_name, dataset_digest"
        ),
        key=("model_id", "key", "timestamp", "step", "run_id"),
        doc="Metric points linked to MLflow 3 logged models (`logged_model.metrics`): "
        "every point, as MLflow's logged_model_metrics; the run keeps them in `metrics` too.",
    ),
    Table(
        "logged_model_outputs",
        _cols("run_id, model_id, step BIGINT"),
        key=("run_id", "model_id"),
        doc="Logged models a run produced (`run.outputs`, MLflow's LoggedModelOutput).",
    ),
    Table(
        "logged_model_inputs",
        _cols("run_id, model_id, logged_at BIGINT"),
        key=("run_id", "model_id"),
        doc="Logged models a run used (`run.model_inputs`, MLflow's LoggedModelInput).",
    ),
    Table(
        "registered_models",
        _cols("name, description, creation_time BIGINT, last_updated_time BIGINT, deleted BOOLEAN"),
        key=("name",),
        doc="Registered models (soft delete).",
    ),
    Table(
        "registered_model_tags",
        _cols("name, key, value"),
        key=("name", "key"),
        doc="Registered model tags.",
    ),
    Table(
        "registered_model_aliases",
        _cols("name, alias, version INTEGER"),
        key=("name", "alias"),
        doc="Aliases, unique per model; setting an alias again moves it.",
    ),
    Table(
        "model_versions",
        _cols(
            "name, version INTEGER, request_id, source, run_id, status, current_stage, "
            "description, creation_time BIGINT, last_updated_time BIGINT, deleted BOOLEAN"
        ),
        key=("name", "version"),
        doc="Model versions, numbered in registry-topic order per model (soft delete).",
    ),
    Table(
        "model_version_tags",
        _cols("name, version INTEGER, key, value"),
        key=("name", "version", "key"),
        doc="Model version tags.",
    ),
    Table(
        "stage_transitions",
        _cols("name, version INTEGER, from_stage, to_stage, reason, event_id, timestamp BIGINT"),
        doc="Stage history; reason `requested` or `archived_by_version_N`.",
    ),
    Table(
        "predictions",
        _cols(
            "served_at BIGINT, request_id, model_uri, model_name, model_version, arm, "
            "status INTEGER, latency_ms DOUBLE, request, response, truncated BOOLEAN, event_id"
        ),
        doc="The prediction log of model servers (append-only): one row per answered "
        "request; request and response are text, cut at 16,384 characters (truncated).",
    ),
    Table(
        "auth_users",
        _cols("username, password_hash, is_admin BOOLEAN, updated_at BIGINT, updated_by"),
        key=("username",),
        doc="Users (from `auth.changed`); password_hash is argon2id, null for SSO-only users.",
    ),
    Table(
        "auth_group_members",
        _cols("group_name, username, added_at BIGINT"),
        key=("group_name", "username"),
        doc="Group memberships of users.",
    ),
    Table(
        "auth_tokens",
        _cols(
            "token_id, token_hash, username, scopes, expires_at BIGINT, issued_at BIGINT, "
            "issued_by"
        ),
        key=("token_id",),
        doc="Service tokens: sha256 of the secret, owner, comma-separated scopes, expiry.",
    ),
    Table(
        "auth_token_revocations",
        _cols("token_id, revoked_at BIGINT, revoked_by"),
        key=("token_id",),
        doc="Revoked service tokens.",
    ),
    Table(
        "auth_permissions",
        _cols(
            "resource_type, resource_id, principal_type, principal, permission, "
            "updated_at BIGINT, updated_by"
        ),
        key=("resource_type", "resource_id", "principal_type", "principal"),
        doc="Grants: READ, EDIT, MANAGE or NO_PERMISSIONS on an experiment or registered model.",
    ),
    Table(
        "auth_audit",
        _cols("event_id, at BIGINT, actor, action, subject"),
        doc="Who changed users, groups, tokens or permissions, or a registered model's "
        "stages or aliases, and when (no secrets); action `registry.*` for the registry's.",
    ),
    Table(
        "consumer_offsets",
        _cols("topic, partition INTEGER, next_offset BIGINT, max_event_id"),
        key=("topic", "partition"),
        doc=(
            "Next Kafka offset to read per partition, committed with the rows, and the "
            "largest event id stored from the partition (the duplicate check's floor)."
        ),
    ),
    Table(
        "rejected_events",
        _cols(
            "event_id, topic, partition INTEGER, offset BIGINT, reason, payload, "
            "rejected_at BIGINT"
        ),
        doc="Events sent to the dead-letter topic, with the reason.",
    ),
    Table(
        "materializer_status",
        _cols(
            "member_id, updated_at BIGINT, events_per_s DOUBLE, rows_per_s DOUBLE, "
            "last_commit_ms DOUBLE, rejected_total BIGINT, lag_json"
        ),
        key=("member_id",),
        doc="One row per materializer process: throughput, commit latency, lag per partition.",
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def quote_ident(name: str) -> str:
    """Quote an identifier (``partition``, ``offset``, ``key`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(table: Table, catalog: str) -> list[str]:
    """Return the statements that create ``table`` in ``catalog`` if it is missing."""
    cols = ", ".join(f"{quote_ident(n)} {t}" for n, t in table.columns)
    stmts = [f"CREATE TABLE IF NOT EXISTS {catalog}.{table.name} ({cols})"]
    if table.sorted_by:
        order = ", ".join(quote_ident(c) for c in table.sorted_by)
        stmts.append(f"ALTER TABLE {catalog}.{table.name} SET SORTED BY ({order})")
    return stmts


def _option_sql(value: int | bool | str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value).lower()


def table_option_sql(table: Table, catalog: str) -> list[str]:
    """Return the statements that set the table's DuckLake options (after it is committed)."""
    return [
        f"CALL {catalog}.set_option('{name}', {_option_sql(value)}, table_name => '{table.name}')"
        for name, value in table.options
    ]


def render_markdown() -> str:
    """Render ``schemas/lake.md`` from :data:`TABLES` (the drift test compares them)."""
    lines = [
        "# Lake tables (generated from `runstream.lake.tables`; do not edit by hand)",
        "",
        "DuckLake tables, catalog `lake`. Times are BIGINT milliseconds since the epoch.",
        "Regenerate with `python -m runstream.lake.tables > schemas/lake.md`.",
        "",
    ]
    for table in TABLES:
        lines.append(f"## `{table.name}`")
        lines.append("")
        lines.append(table.doc)
        lines.append("")
        if table.key:
            lines.append(f"Key: ({', '.join(table.key)}).")
        if table.sorted_by:
            lines.append(f"Sorted by: ({', '.join(table.sorted_by)}).")
        for name, value in table.options:
            lines.append(f"Option: `{name}` = {_option_sql(value)}.")
        if table.key or table.sorted_by or table.options:
            lines.append("")
        lines.append("| column | type |")
        lines.append("|--------|------|")
        lines.extend(f"| `{name}` | {typ} |" for name, typ in table.columns)
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")


__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "TABLES",
    "TABLES_BY_NAME",
    "Table",
    "create_table_sql",
    "quote_ident",
    "render_markdown",
    "table_option_sql",
]
