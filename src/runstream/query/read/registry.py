"""The model registry: models, versions, aliases, stage history, ``models:/`` URIs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from runstream.auth import EVERYTHING, ReadScope
from runstream.core.registry import Stage
from runstream.core.rows import ModelRow, VersionRow
from runstream.errors import NotFoundError
from runstream.query.read.common import in_ids, key_values
from runstream.query.read.model_uri import ModelUri, parse_model_uri, parse_stage
from runstream.query.read.port import ReadSession, Row
from runstream.query.read.scope import scope_sql
from runstream.query.records import (
    MODEL_COLUMNS,
    VERSION_COLUMNS,
    ModelVersion,
    Page,
    RegisteredModel,
    ResolvedModel,
    StageTransition,
)
from runstream.query.search.paging import next_token, offset_from_token, query_fingerprint
from runstream.query.search.simple_filter import (
    NUMBER_OPS,
    Condition,
    FieldSpec,
    compile_conditions,
    parse_simple_filter,
    parse_simple_order_by,
)

_MODELS = "SELECT " + ", ".join(f"m.{c}" for c in MODEL_COLUMNS) + " FROM registered_models m"
_VERSIONS = "SELECT " + ", ".join(f"v.{c}" for c in VERSION_COLUMNS) + " FROM model_versions v"
_LIVE = "NOT coalesce(v.deleted, FALSE)"

MODEL_FIELDS = {"name": FieldSpec("m.name", lists=True)}
PROMPT_TAG = "mlflow.prompt.is_prompt"
MODEL_ORDER = {
    "name": "m.name",
    "timestamp": "m.last_updated_time",
    "last_updated_timestamp": "m.last_updated_time",
    "creation_timestamp": "m.creation_time",
}
_MODEL_TAGS = "EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.name = m.name AND {cond})"

VERSION_FIELDS = {
    "name": FieldSpec("v.name"),
    "run_id": FieldSpec("v.run_id", ops=frozenset({"=", "!="}), lists=True),
    "source_path": FieldSpec("v.source"),
    "version_number": FieldSpec("v.version", numeric=True, ops=NUMBER_OPS),
    "current_stage": FieldSpec("v.current_stage", lists=True),
}
VERSION_ORDER = {
    "name": "v.name",
    "version_number": "v.version",
    "creation_timestamp": "v.creation_time",
    "last_updated_timestamp": "v.last_updated_time",
    "run_id": "v.run_id",
}
_VERSION_TAGS = (
    "EXISTS (SELECT 1 FROM model_version_tags t"
    " WHERE t.name = v.name AND t.version = v.version AND {cond})"
)


def _prompt_rule(conditions: list[Condition], tag_exists: str) -> tuple[list[Condition], str]:
    """MLflow 3 keeps prompts (tagged ``mlflow.prompt.is_prompt = 'true'``) out of searches.

    Its client adds ``tags.`mlflow.prompt.is_prompt` != 'true'`` to every search,
    which must match items that lack the tag; so, as MLflow's store does, filters
    on that tag are taken out and replaced by "is a prompt" or "is not a prompt".

    Returns:
        The other conditions, and the SQL that keeps prompts in or out.
    """
    rest = [c for c in conditions if c.tag_key != PROMPT_TAG]
    wanted = [c for c in conditions if c.tag_key == PROMPT_TAG and c.op in ("=", "!=")]
    prompts = any(
        (c.op == "=" and str(c.value).lower() == "true")
        or (c.op == "!=" and str(c.value).lower() == "false")
        for c in wanted
    )
    test = tag_exists.format(cond=f"t.\"key\" = '{PROMPT_TAG}' AND t.\"value\" = 'true'")
    return rest, test if prompts else f"NOT {test}"


def _versions(session: ReadSession, rows: Sequence[Row]) -> list[ModelVersion]:
    found = [VersionRow(*row) for row in rows]
    if not found:
        return []
    names = sorted({v.name for v in found})
    tags: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for name, version, key, value in session.fetch(
        f'SELECT name, version, "key", "value" FROM model_version_tags WHERE {in_ids("name")}',
        [names],
    ):
        tags[(name, int(version))][key] = value
    aliases: dict[tuple[str, int], list[str]] = defaultdict(list)
    for name, alias, version in session.fetch(
        "SELECT name, alias, version FROM registered_model_aliases"
        f" WHERE {in_ids('name')} ORDER BY alias",
        [names],
    ):
        aliases[(name, int(version))].append(alias)
    return [
        ModelVersion(v, dict(tags[(v.name, v.version)]), list(aliases[(v.name, v.version)]))
        for v in found
    ]


def _latest_per_stage(session: ReadSession, names: Sequence[str]) -> dict[str, list[ModelVersion]]:
    """The highest live version of each stage of each model (MLflow's latest_versions)."""
    rows = session.fetch(
        f"{_VERSIONS} WHERE {in_ids('v.name')} AND {_LIVE}"
        " QUALIFY row_number() OVER (PARTITION BY v.name, v.current_stage"
        " ORDER BY v.version DESC) = 1 ORDER BY v.name, v.version",
        [list(names)],
    )
    out: dict[str, list[ModelVersion]] = defaultdict(list)
    for version in _versions(session, rows):
        out[version.row.name].append(version)
    return out


def _models(session: ReadSession, rows: Sequence[Row]) -> list[RegisteredModel]:
    found = [ModelRow(*row) for row in rows]
    names = [m.name for m in found]
    tags = key_values(session, "registered_model_tags", "name", names)
    aliases: dict[str, dict[str, int]] = defaultdict(dict)
    if names:
        for name, alias, version in session.fetch(
            "SELECT name, alias, version FROM registered_model_aliases"
            f" WHERE {in_ids('name')} ORDER BY alias",
            [names],
        ):
            aliases[name][alias] = int(version)
    latest = _latest_per_stage(session, names) if names else {}
    return [
        RegisteredModel(m, dict(tags.get(m.name, {})), aliases[m.name], latest.get(m.name, []))
        for m in found
    ]


def search_models(
    session: ReadSession,
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 100,
    page_token: str | None = None,
    scope: ReadScope = EVERYTHING,
    caller: str = "",
) -> Page[RegisteredModel]:
    """Search live registered models (filter on name and tags; name ASC by default).

    Only models in ``scope`` are searched (a condition of the query); a page token
    is ``caller``'s own.

    Raises:
        FilterParseError: a bad filter or order_by.
        PageTokenError: a token of another query.
    """
    conditions, prompt_sql = _prompt_rule(
        parse_simple_filter(filter_string, MODEL_FIELDS), _MODEL_TAGS
    )
    order = parse_simple_order_by(order_by, MODEL_ORDER, ())
    if not any(col == "m.name" for col, _ in order):
        order.append(("m.name", True))
    fp = query_fingerprint("models", conditions, order, *((caller,) if caller else ()))
    offset = offset_from_token(page_token, fp)
    where, params = compile_conditions(conditions, MODEL_FIELDS, _MODEL_TAGS)
    readable, readable_params = scope_sql("m.name", scope)
    where, params = f"{where} AND {prompt_sql} AND {readable}", [*params, *readable_params]
    order_sql = ", ".join(f"{col} {'ASC' if asc else 'DESC'}" for col, asc in order)
    rows = session.fetch(
        f"{_MODELS} WHERE NOT coalesce(m.deleted, FALSE) AND {where}"
        f" ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [*params, max_results + 1, offset],
    )
    return Page(
        _models(session, rows[:max_results]), next_token(fp, offset, max_results, len(rows))
    )


def get_model(session: ReadSession, name: str) -> RegisteredModel:
    """Return one live registered model.

    Raises:
        NotFoundError: no such model (or it was deleted).
    """
    rows = session.fetch(f"{_MODELS} WHERE m.name = ? AND NOT coalesce(m.deleted, FALSE)", [name])
    if not rows:
        raise NotFoundError(f"Registered Model with name={name} not found")
    return _models(session, rows)[0]


def latest_versions(
    session: ReadSession, name: str, stages: Sequence[str] | None = None
) -> list[ModelVersion]:
    """Latest version of each requested stage (every stage when ``stages`` is empty).

    Raises:
        NotFoundError: no such model.
        InvalidTransitionError: an unknown stage name.
    """
    model = get_model(session, name)
    wanted = set(Stage) if not stages else {parse_stage(s) for s in stages}
    return [v for v in model.latest_versions if v.row.current_stage in wanted]


def search_versions(
    session: ReadSession,
    *,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 10_000,
    page_token: str | None = None,
    name: str | None = None,
    scope: ReadScope = EVERYTHING,
    caller: str = "",
) -> Page[ModelVersion]:
    """Search live model versions (MLflow's default order: last updated first).

    ``name`` restricts the search to one model, on top of the filter; only
    versions of models in ``scope`` are searched; a page token is ``caller``'s own.

    Raises:
        FilterParseError: a bad filter or order_by.
        PageTokenError: a token of another query.
    """
    conditions, prompt_sql = _prompt_rule(
        parse_simple_filter(filter_string, VERSION_FIELDS), _VERSION_TAGS
    )
    if name is not None:
        conditions.append(Condition("name", "=", name))
    order = parse_simple_order_by(
        order_by, VERSION_ORDER, ("last_updated_timestamp DESC", "name ASC", "version_number DESC")
    )
    for col in ("v.name", "v.version"):
        if not any(c == col for c, _ in order):
            order.append((col, col == "v.name"))
    fp = query_fingerprint("versions", conditions, order, *((caller,) if caller else ()))
    offset = offset_from_token(page_token, fp)
    where, params = compile_conditions(conditions, VERSION_FIELDS, _VERSION_TAGS)
    readable, readable_params = scope_sql("v.name", scope)
    where, params = f"{where} AND {prompt_sql} AND {readable}", [*params, *readable_params]
    order_sql = ", ".join(f"{col} {'ASC' if asc else 'DESC'}" for col, asc in order)
    rows = session.fetch(
        f"{_VERSIONS} WHERE {_LIVE} AND {where} ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [*params, max_results + 1, offset],
    )
    items = _versions(session, rows[:max_results])
    return Page(items, next_token(fp, offset, max_results, len(rows)))


def get_version(session: ReadSession, name: str, version: int) -> ModelVersion:
    """Return one live model version.

    Raises:
        NotFoundError: no such version.
    """
    rows = session.fetch(
        f"{_VERSIONS} WHERE v.name = ? AND v.version = ? AND {_LIVE}", [name, version]
    )
    if not rows:
        raise NotFoundError(f"Model Version (name={name}, version={version}) not found")
    return _versions(session, rows)[0]


def version_by_alias(session: ReadSession, name: str, alias: str) -> ModelVersion:
    """Return the version an alias points at.

    Raises:
        NotFoundError: no such model or alias.
    """
    rows = session.fetch(
        "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", [name, alias]
    )
    if not rows:
        raise NotFoundError(f"Registered model alias {alias} not found for model {name}")
    return get_version(session, name, int(rows[0][0]))


def version_by_request(session: ReadSession, request_id: str) -> ModelVersion:
    """Return the version created by the SDK request ``request_id``, once numbered.

    Raises:
        NotFoundError: the materializer has not assigned it a number (yet).
    """
    rows = session.fetch(f"{_VERSIONS} WHERE v.request_id = ? LIMIT 1", [request_id])
    if not rows:
        raise NotFoundError(f"No model version for request {request_id} (yet)")
    return _versions(session, rows)[0]


def stage_history(session: ReadSession, name: str, version: int) -> list[StageTransition]:
    """Every stage change of one version, oldest first."""
    rows = session.fetch(
        'SELECT name, version, from_stage, to_stage, reason, event_id, "timestamp"'
        " FROM stage_transitions WHERE name = ? AND version = ?"
        ' ORDER BY "timestamp", event_id',
        [name, version],
    )
    return [StageTransition(r[0], int(r[1]), r[2], r[3], r[4], r[5], int(r[6])) for r in rows]


def resolve(session: ReadSession, uri: str | ModelUri) -> ResolvedModel:
    """Resolve ``models:/name/3``, ``models:/name/Production``, ``models:/name@alias``,
    or ``models:/name/latest`` to one version.

    Raises:
        ValidationError: not a models:/ URI.
        NotFoundError: nothing matches.
    """
    ref = parse_model_uri(uri) if isinstance(uri, str) else uri
    if ref.version is not None:
        found = get_version(session, ref.name, ref.version)
    elif ref.alias is not None:
        found = version_by_alias(session, ref.name, ref.alias)
    else:
        sql = f"{_VERSIONS} WHERE v.name = ? AND {_LIVE}"
        params: list[object] = [ref.name]
        if ref.stage is not None:
            sql += " AND v.current_stage = ?"
            params.append(ref.stage.value)
        rows = session.fetch(sql + " ORDER BY v.version DESC LIMIT 1", params)
        if not rows:
            what = f"in stage {ref.stage.value}" if ref.stage else "at all"
            raise NotFoundError(f"Registered model {ref.name!r} has no version {what}")
        found = _versions(session, rows)[0]
    row = found.row
    return ResolvedModel(row.name, row.version, row.source, row.run_id, row.current_stage)


__all__ = [
    "get_model",
    "get_version",
    "latest_versions",
    "resolve",
    "search_models",
    "search_versions",
    "stage_history",
    "version_by_alias",
    "version_by_request",
]
