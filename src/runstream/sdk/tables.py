"""``log_table`` and ``load_table``: tables stored as run artifacts, as MLflow stores them.

A table is a ``.json`` (pandas ``split`` orientation) or ``.parquet`` artifact; logging
to a file the run already has appends the new rows. The run's ``mlflow.loggedArtifacts``
tag lists its tables (``[{"path": ..., "type": "table"}]``), which is how
``load_table`` finds the runs of an experiment holding one, with a search through
the query service, exactly as MLflow's client does.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from pathlib import Path
from typing import Any

from runstream.errors import NotFoundError, ValidationError
from runstream.sdk import frames, validate
from runstream.sdk.read_client import ReadClient
from runstream.sdk.run_artifacts import RunArtifacts
from runstream.sdk.run_client import RunClient
from runstream.sdk.session import Session

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
_FORBIDDEN = ('"', "'", ",", ":", "[", "]", "{", "}")


def _check_file(artifact_file: str) -> str:
    for char in _FORBIDDEN:
        if char in artifact_file:
            raise ValidationError(f"The artifact_file contains forbidden character: {char}")
    frames.check_table_file(artifact_file)
    return artifact_file


class TableClient:
    """Tables of runs, over the run, artifact and read parts of a client.

    Args:
        session: the client's connections (for downloads).
        runs: run writes (the tag listing a run's tables).
        artifacts: uploads.
        reads: artifact lists, runs and searches through the query service.
    """

    def __init__(
        self, session: Session, runs: RunClient, artifacts: RunArtifacts, reads: ReadClient
    ) -> None:
        self._session = session
        self._runs = runs
        self._artifacts = artifacts
        self._reads = reads

    def _download(self, run_id: str, artifact_file: str, folder: Path) -> Path:
        root = self._runs.artifact_root(run_id)
        return self._session.uploader.download(root, artifact_file, folder)

    def _has_file(self, run_id: str, artifact_file: str) -> bool:
        folder = posixpath.dirname(posixpath.normpath(artifact_file)) or None
        try:
            listing = self._reads.list_artifacts(run_id, folder)
        except NotFoundError:
            return False
        return any(f.path == artifact_file and not f.is_dir for f in listing)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Stores a DataFrame or a dict of columns as a table artifact, appending to one there.

        Raises:
            ValidationError: a bad file name or data.
            ConfigError: pandas is not installed.
        """
        validate.run_id(run_id)
        _check_file(artifact_file)
        frame = frames.table_frame(data)
        pd = frames.require_pandas("log_table")
        with tempfile.TemporaryDirectory(prefix="runstream-table-") as tmp:
            if self._has_file(run_id, artifact_file):
                existing = frames.read_table(self._download(run_id, artifact_file, Path(tmp)))
                frame = pd.concat([existing, frame], ignore_index=True)
            target = Path(tmp) / "out" / posixpath.basename(artifact_file)
            target.parent.mkdir()
            frames.write_table(frame, target)
            root = self._runs.artifact_root(run_id)
            self._artifacts.log_bytes(root, run_id, target.read_bytes(), artifact_file)
        self._tag_table(run_id, artifact_file)

    def _tag_table(self, run_id: str, artifact_file: str) -> None:
        local = self._runs.local_run(run_id)
        run = local if local is not None else self._reads.run(run_id)
        current = run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]") if run is not None else "[]"
        listed: list[dict[str, str]] = json.loads(current)
        entry = {"path": artifact_file, "type": "table"}
        if entry not in listed:
            listed.append(entry)
            self._runs.set_tags(run_id, [(LOGGED_ARTIFACTS_TAG, json.dumps(listed))])

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: list[str] | None = None,
        extra_columns: list[str] | None = None,
    ) -> Any:
        """The rows of one table from every run of an experiment holding it, concatenated.

        Args:
            experiment_id: where to look.
            artifact_file: the table's artifact path.
            run_ids: only these runs.
            extra_columns: columns of ``search_runs``'s frame to add to each row
                (``run_id``, ``tags.x``, ...); a name the table has gets a ``_`` suffix.

        Raises:
            NotFoundError: no run of the experiment holds the table.
            ConfigError: pandas is not installed.
        """
        pd = frames.require_pandas("load_table")
        _check_file(artifact_file)
        pattern = f'"path"%:%"{artifact_file}",%"type"%:%"table"'
        filter_string = f"tags.{LOGGED_ARTIFACTS_TAG} LIKE '%{pattern}%'"
        if run_ids:
            filter_string += f" and attributes.run_id IN ({','.join(map(repr, run_ids))})"
        found = self._reads.search_runs([str(experiment_id)], filter_string, max_results=50_000)
        if not found:
            raise NotFoundError("No runs found with the corresponding table artifact.")
        runs = frames.runs_frame(found)
        parts = []
        with tempfile.TemporaryDirectory(prefix="runstream-table-") as tmp:
            for index, row in runs.iterrows():
                run_id = str(row["run_id"])
                if not self._has_file(run_id, artifact_file):
                    raise NotFoundError(f"Artifact {artifact_file} not found for run {run_id}.")
                folder = Path(tmp) / str(index)
                table = frames.read_table(self._download(run_id, artifact_file, folder))
                for column in extra_columns or ():
                    name = f"{column}_" if column in table else column
                    table[name] = row[column]
                parts.append(table)
        return pd.concat(parts, ignore_index=True)


__all__ = ["LOGGED_ARTIFACTS_TAG", "TableClient"]
