"""MLflow's model-registry read endpoints."""

from __future__ import annotations

from typing import Any

from runstream.config import Settings
from runstream.core.artifact_uris import to_proxy_uri
from runstream.events import ResourceType
from runstream.query.http.access import Access
from runstream.query.http.mlflow import convert
from runstream.query.http.mlflow.args import Args
from runstream.query.read import registry as reader
from runstream.query.read.port import ReadSession

# MLflow's limits (mlflow.store.model_registry).
MAX_MODELS_PAGE = 1000
MAX_VERSIONS_PAGE = 200_000
DEFAULT_VERSIONS_PAGE = 10_000


MODEL = ResourceType.REGISTERED_MODEL


def _version_number(args: Args) -> int:
    version = args.integer("version", low=1, high=2**31 - 1)
    if version is None:
        args.required("version")
    assert version is not None
    return version


def search_registered_models(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``registered-models/search``."""
    page = reader.search_models(
        session,
        filter_string=args.text("filter"),
        order_by=args.strings("order_by", limit=8),
        max_results=args.integer("max_results", default=100, low=1, high=MAX_MODELS_PAGE) or 100,
        page_token=args.text("page_token"),
        scope=access.models,
        caller=access.caller,
    )
    models = [convert.registered_model(m, _s.artifacts_bucket) for m in page.items]
    out: dict[str, Any] = {"registered_models": models}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_registered_model(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``registered-models/get``."""
    name = args.required("name")
    access.require(MODEL, name)
    model = reader.get_model(session, name)
    return {"registered_model": convert.registered_model(model, _s.artifacts_bucket)}


def get_latest_versions(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``registered-models/get-latest-versions``."""
    name = args.required("name")
    access.require(MODEL, name)
    versions = reader.latest_versions(session, name, args.strings("stages", limit=8))
    return {"model_versions": [convert.model_version(v, _s.artifacts_bucket) for v in versions]}


def get_model_version_by_alias(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``registered-models/alias`` (GET)."""
    name = args.required("name")
    access.require(MODEL, name)
    version = reader.version_by_alias(session, name, args.required("alias"))
    return {"model_version": convert.model_version(version, _s.artifacts_bucket)}


def search_model_versions(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``model-versions/search``."""
    size = (
        args.integer("max_results", default=DEFAULT_VERSIONS_PAGE, low=1, high=MAX_VERSIONS_PAGE)
        or DEFAULT_VERSIONS_PAGE
    )
    page = reader.search_versions(
        session,
        filter_string=args.text("filter"),
        order_by=args.strings("order_by", limit=8),
        max_results=size,
        page_token=args.text("page_token"),
        scope=access.models,
        caller=access.caller,
    )
    bucket = _s.artifacts_bucket
    out: dict[str, Any] = {"model_versions": [convert.model_version(v, bucket) for v in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_model_version(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``model-versions/get``."""
    name = args.required("name")
    access.require(MODEL, name)
    version = reader.get_version(session, name, _version_number(args))
    return {"model_version": convert.model_version(version, _s.artifacts_bucket)}


def get_model_version_download_uri(
    session: ReadSession, args: Args, _s: Settings, access: Access
) -> dict[str, Any]:
    """``model-versions/get-download-uri``: the version's source."""
    name = args.required("name")
    access.require(MODEL, name)
    version = reader.get_version(session, name, _version_number(args))
    return {"artifact_uri": to_proxy_uri(version.row.source, _s.artifacts_bucket) or ""}


__all__ = [
    "get_latest_versions",
    "get_model_version",
    "get_model_version_by_alias",
    "get_model_version_download_uri",
    "get_registered_model",
    "search_model_versions",
    "search_registered_models",
]
