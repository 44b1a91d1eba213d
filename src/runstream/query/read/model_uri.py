"""Parse ``models:/`` URIs the way MLflow writes them.

Forms: ``models:/<name>/<version>``, ``models:/<name>/<stage>`` (any
capitalisation), ``models:/<name>/latest`` (the highest live version) and
``models:/<name>@<alias>``. MLflow 3's ``models:/<model_id>`` (a logged model,
not a registered one) is not a registry reference and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from runstream.core.registry import Stage
from runstream.errors import ValidationError

_PREFIX = "models:/"


def parse_stage(raw: str) -> Stage:
    """Return the stage named ``raw`` in any capitalisation (MLflow's canonical stage).

    Raises:
        ValidationError: not None, Staging, Production or Archived.
    """
    for stage in Stage:
        if stage.value.lower() == raw.strip().lower():
            return stage
    raise ValidationError(f"Invalid stage {raw!r}; use one of None, Staging, Production, Archived")


@dataclass(frozen=True)
class ModelUri:
    """A parsed reference: exactly one of version, stage, alias is set, or none (latest)."""

    name: str
    version: int | None = None
    stage: Stage | None = None
    alias: str | None = None


def _bad(uri: str, why: str) -> ValidationError:
    return ValidationError(
        f"Invalid model URI {uri!r}: {why}; expected models:/<name>/<version>, "
        "models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>"
    )


def parse_model_uri(uri: str) -> ModelUri:
    """Parse a registry URI.

    Raises:
        ValidationError: not one of the four forms.
    """
    if not isinstance(uri, str) or not uri.startswith(_PREFIX) or len(uri) > 2048:
        raise _bad(str(uri)[:200], "it must start with models:/")
    path = unquote(uri[len(_PREFIX) :]).strip("/")
    if "/" in path:
        name, _, ref = path.rpartition("/")
        if not name or "/" in name or not ref:
            raise _bad(uri, "the name must not contain '/'")
        if ref.isdigit():
            version = int(ref)
            if version < 1:
                raise _bad(uri, "versions start at 1")
            return ModelUri(name, version=version)
        if ref.lower() == "latest":
            return ModelUri(name)
        try:
            return ModelUri(name, stage=parse_stage(ref))
        except ValidationError as exc:
            raise _bad(uri, f"{ref!r} is not a version number, a stage or 'latest'") from exc
    if "@" in path:
        name, _, alias = path.rpartition("@")
        if not name or not alias:
            raise _bad(uri, "empty name or alias")
        return ModelUri(name, alias=alias)
    raise _bad(uri, "no version, stage or alias")


__all__ = ["ModelUri", "parse_model_uri", "parse_stage"]
