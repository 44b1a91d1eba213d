"""A run's artifacts: directory listings from the lake, and where each file lives.

The lake's ``artifacts`` table is the index (one row per file, written from
``artifact.logged`` events); directories are derived from the paths. Before a
file is served, its object key must lie under the run's own artifact prefix
(``<experiment_id>/<run_id>/artifacts/``) in the artifacts bucket, whatever the
row says, so a forged event cannot make the service read another run's files.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from runstream.errors import ArtifactPathError, NotFoundError
from runstream.query.read.artifact_paths import check_request_path
from runstream.query.read.port import ReadSession
from runstream.query.records import ArtifactEntry, ArtifactObject, Page
from runstream.query.search.paging import next_token, offset_from_token, query_fingerprint


def _split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ArtifactPathError(f"not an s3:// URI: {uri[:200]!r}")
    return parts.netloc, parts.path.lstrip("/")


def artifact_root(session: ReadSession, run_id: str, bucket: str) -> str:
    """The run's artifact URI; ``s3://<bucket>/<exp>/<run>/artifacts`` when the row has none.

    Raises:
        NotFoundError: no such run.
    """
    rows = session.fetch("SELECT artifact_uri, experiment_id FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise NotFoundError(f"Run with id={run_id!r} not found")
    uri, experiment_id = rows[0]
    return str(uri or f"s3://{bucket}/{experiment_id}/{run_id}/artifacts")


def list_artifacts(
    session: ReadSession,
    run_id: str,
    path: str | None = None,
    *,
    bucket: str,
    recursive: bool = False,
    max_results: int = 1000,
    page_token: str | None = None,
) -> tuple[str, Page[ArtifactEntry]]:
    """List the files and directories right under ``path`` (or every file, if recursive).

    Returns:
        The run's artifact root URI and one page of entries, sorted by path.

    Raises:
        ArtifactPathError: a path that escapes or is malformed.
        NotFoundError: no such run.
        PageTokenError: a token of another listing.
    """
    root = artifact_root(session, run_id, bucket)
    base = check_request_path(path, allow_root=True)
    prefix = f"{base}/" if base else ""
    fp = query_fingerprint("artifacts", run_id, prefix, recursive)
    offset = offset_from_token(page_token, fp)
    cols = "size, sha256, media_type, logged_at"
    if recursive:
        sql = (
            f"SELECT path, FALSE, {cols} FROM artifacts WHERE run_id = ? AND starts_with(path, ?)"
            " ORDER BY path LIMIT ? OFFSET ?"
        )
        params: list[object] = [run_id, prefix, max_results + 1, offset]
    else:
        # One row per direct child; a child that has children of its own is a directory.
        sql = (
            "SELECT ? || child, bool_or(is_nested), any_value(size) FILTER (NOT is_nested),"
            " any_value(sha256) FILTER (NOT is_nested),"
            " any_value(media_type) FILTER (NOT is_nested),"
            " max(logged_at) FROM (SELECT split_part(rest, '/', 1) AS child,"
            " contains(rest, '/') AS is_nested, size, sha256, media_type, logged_at"
            " FROM (SELECT substr(path, ?) AS rest, * FROM artifacts"
            "  WHERE run_id = ? AND starts_with(path, ?)))"
            " GROUP BY child ORDER BY child LIMIT ? OFFSET ?"
        )
        params = [prefix, len(prefix) + 1, run_id, prefix, max_results + 1, offset]
    rows = session.fetch(sql, params)
    entries = [
        ArtifactEntry(
            str(p),
            bool(is_dir),
            None if is_dir else size,
            sha,
            media,
            None if logged is None else int(logged),
        )
        for p, is_dir, size, sha, media, logged in rows[:max_results]
    ]
    return root, Page(entries, next_token(fp, offset, max_results, len(rows)))


def locate_artifact(session: ReadSession, run_id: str, path: str, bucket: str) -> ArtifactObject:
    """Find the object holding one artifact file of a run.

    Args:
        session: the read session.
        run_id: the run.
        path: the artifact path as received (checked here).
        bucket: the artifacts bucket; objects elsewhere are refused.

    Raises:
        ArtifactPathError: a bad path, or an object outside the run's prefix.
        NotFoundError: no such run or artifact.
    """
    checked = check_request_path(path)
    root_bucket, root_key = _split_s3(artifact_root(session, run_id, bucket))
    prefix = root_key.rstrip("/") + "/"
    if root_bucket != bucket:
        raise ArtifactPathError(f"run {run_id} keeps its artifacts outside bucket {bucket}")
    rows = session.fetch(
        "SELECT uri, size, media_type FROM artifacts WHERE run_id = ? AND path = ?",
        [run_id, checked],
    )
    if not rows:
        raise NotFoundError(f"No artifact {checked!r} in run {run_id}")
    uri, size, media_type = rows[0]
    obj_bucket, key = _split_s3(str(uri))
    if obj_bucket != bucket or not key.startswith(prefix) or ".." in key.split("/"):
        raise ArtifactPathError(f"artifact {checked!r} points outside the run's artifact root")
    return ArtifactObject(
        run_id, checked, bucket, key, int(size or 0), str(media_type or "application/octet-stream")
    )


__all__ = ["artifact_root", "list_artifacts", "locate_artifact"]
