"""What a new run records about where it came from: user, source, git commit, name.

MLflow records the same facts as ``mlflow.*`` system tags; the SDK puts them in the
``run.started`` body and repeats them as those tags, so MLflow clients that read
Runstream find them where they look. The git commit is read from the ``.git``
folder (no subprocess, no git binary needed).
"""

from __future__ import annotations

import getpass
import os
import random
import sys
from pathlib import Path

from runstream.events.limits import LIMITS

_ADJECTIVES = (
    "amazing",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "crisp",
    "eager",
    "fair",
    "gentle",
    "glad",
    "grand",
    "keen",
    "kind",
    "lucky",
    "merry",
    "nimble",
    "proud",
    "quick",
    "quiet",
    "rare",
    "shy",
    "sleek",
    "smart",
    "swift",
    "tidy",
    "vivid",
    "wise",
)
_NOUNS = (
    "ant",
    "bass",
    "bat",
    "bear",
    "colt",
    "crab",
    "crow",
    "deer",
    "dove",
    "duck",
    "eel",
    "fawn",
    "finch",
    "fox",
    "frog",
    "goat",
    "hare",
    "hawk",
    "hen",
    "lark",
    "lynx",
    "mole",
    "moth",
    "newt",
    "owl",
    "ram",
    "seal",
    "shrew",
    "snail",
    "swan",
    "toad",
    "wolf",
    "wren",
)


def random_run_name() -> str:
    """A readable run name like MLflow's (``bold-finch-417``)."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


def user_id() -> str:
    """The login name (MLflow's ``mlflow.user``), or ``unknown``."""
    try:
        return getpass.getuser()[: LIMITS.text_length] or "unknown"
    except (OSError, KeyError):
        return "unknown"


def source_name() -> str:
    """The running script, as MLflow's ``mlflow.source.name`` (``<console>`` when none)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not argv0 or argv0 == "-c":
        return "<console>"
    path = os.path.abspath(argv0)
    # Keep the end, which names the script, when a path is longer than the limit.
    return path[-LIMITS.text_length :]


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text.removeprefix("gitdir:").strip()).resolve()
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    for base in (git_dir, _common_dir(git_dir)):
        loose = base / ref
        if loose.is_file():
            return loose.read_text().strip() or None
        packed = base / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(errors="replace").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref:
                    return sha
    return None


def _common_dir(git_dir: Path) -> Path:
    common = git_dir / "commondir"
    if common.is_file():
        return (git_dir / common.read_text().strip()).resolve()
    return git_dir


def git_commit(start: str | None = None) -> str | None:
    """The commit checked out around the running script, or None outside a repository."""
    try:
        origin = Path(start or os.path.dirname(os.path.abspath(sys.argv[0] or "."))).resolve()
        git_dir = _git_dir(origin)
        if git_dir is None:
            return None
        head = (git_dir / "HEAD").read_text().strip()
        if head.startswith("ref:"):
            return _resolve_ref(git_dir, head.removeprefix("ref:").strip())
        return head or None
    except OSError:
        return None


__all__ = ["git_commit", "random_run_name", "source_name", "user_id"]
