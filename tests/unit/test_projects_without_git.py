"""``runstream run`` without the git command: local folders run, git URIs say what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_FETCH = """
import sys
from pathlib import Path
from runstream.errors import RunstreamError
from runstream.projects.fetch import fetch
try:
    got = fetch(sys.argv[1], None, Path(sys.argv[2]))
except RunstreamError as exc:
    print("error:", exc)
else:
    print("fetched:", got.work_dir.name, got.commit)
"""


def _fetch_without_git(uri: str, scratch: Path) -> str:
    bin_dir = scratch.parent / "bin"  # a PATH with Python's folder and no git
    bin_dir.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("GIT_PYTHON_REFRESH", None)
    out = subprocess.run([sys.executable, "-c", _FETCH, uri, str(scratch)], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_a_local_folder_needs_no_git(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "MLproject").write_text("name: p\nentry_points:\n  main:\n    command: 'true'\n")
    (tmp_path / "scratch").mkdir()
    assert _fetch_without_git(str(project), tmp_path / "scratch") == "fetched: proj None"


def test_a_git_uri_says_git_is_missing(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    answer = _fetch_without_git(f"git+file://{tmp_path}/repo", tmp_path / "scratch")
    assert answer.startswith("error: cannot fetch git+file://")
    assert "the git command is not installed" in answer
