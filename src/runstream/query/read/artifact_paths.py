"""Checks on artifact paths that arrive over HTTP, before they reach the object store.

:func:`runstream.core.limits.check_artifact_path` is the one rule for what an
artifact path is (relative, normalised, no backslash or control character).
A path from a URL needs more, because proxies, browsers and clients decode
percent-escapes a different number of times: MLflow's path-traversal
advisories (CVE-2023-1177, CVE-2023-2780, CVE-2023-6909, CVE-2024-1483,
CVE-2024-1560, ...) all used ``..`` hidden behind one or more rounds of
encoding, a backslash, an absolute or drive-letter path, or a NUL. So:

1. the path, and every further percent-decoding of it (up to a fixed number of
   rounds), and its Unicode NFKC form, must each pass the core rule;
2. a Windows drive prefix (``C:``) is refused;
3. the empty path means the run's artifact root (listing only).

The object key is then built by the caller under the run's own prefix, so a
checked path can only name something inside that run.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from runstream.core.limits import check_artifact_path
from runstream.errors import ArtifactPathError, LimitExceededError

_DECODE_ROUNDS = 4
_DRIVE = re.compile(r"^[A-Za-z]:")


def _variants(path: str) -> list[str]:
    """The path, its successive percent-decodings and their NFKC forms."""
    seen = [path]
    current = path
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(current, errors="strict") if "%" in current else current
        if decoded == current:
            break
        seen.append(decoded)
        current = decoded
    seen += [unicodedata.normalize("NFKC", v) for v in list(seen)]
    return list(dict.fromkeys(seen))


def check_request_path(path: str | None, *, allow_root: bool = False) -> str:
    """Return ``path`` (trailing ``/`` dropped) if it is safe to put under a run's prefix.

    Args:
        path: the path as the HTTP layer decoded it once; None or "" is the root.
        allow_root: accept the empty path (listing the root).

    Raises:
        ArtifactPathError: the path, or a decoding of it, escapes or is malformed.
    """
    if path is None or path in ("", "/"):
        if allow_root:
            return ""
        raise ArtifactPathError("an artifact path is required")
    if not isinstance(path, str):
        raise ArtifactPathError("artifact path must be a string")
    trimmed = path[:-1] if path.endswith("/") and allow_root else path
    try:
        variants = _variants(trimmed)
    except UnicodeDecodeError as exc:
        raise ArtifactPathError(f"artifact path {path[:60]!r} has a bad percent-escape") from exc
    for variant in variants:
        if _DRIVE.match(variant):
            raise ArtifactPathError(f"artifact path {path[:60]!r} is an absolute (drive) path")
        try:
            check_artifact_path(variant)
        except LimitExceededError as exc:
            raise ArtifactPathError(str(exc)) from exc
        except ArtifactPathError as exc:
            shown = "" if variant == trimmed else f" (decoded: {variant[:60]!r})"
            raise ArtifactPathError(f"{exc}{shown}") from exc
    return trimmed


__all__ = ["check_request_path"]
