"""Artifact paths, digests, media types and the folder walk (no object store needed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from runstream.errors import ArtifactPathError, ValidationError
from runstream.sdk.artifacts import (
    ArtifactRoot,
    artifact_dir,
    file_digest,
    iter_files,
    join_path,
    media_type,
)
from runstream.sdk.experiments import run_artifact_root


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, ""), ("", ""), (".", ""), ("plots", "plots"), ("plots/", "plots"), ("a/b", "a/b")],
)
def test_artifact_dirs_are_normalised(given: str | None, expected: str) -> None:
    assert artifact_dir(given) == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "../x",
        "a/../../x",
        "/etc",
        "a//b",
        "a/./b",
        "..",
        "a\\..\\b",
        "C:\\x",
        "a/\x00b",
        "a/..",
        "./a",
    ],
)
def test_traversal_and_absolute_paths_are_rejected(hostile: str) -> None:
    with pytest.raises(ArtifactPathError):
        artifact_dir(hostile)
    with pytest.raises(ArtifactPathError):
        join_path("ok", hostile)


def test_join_checks_the_file_name_too() -> None:
    assert join_path("", "report.txt") == "report.txt"
    assert join_path("out", "report.txt") == "out/report.txt"
    with pytest.raises(ArtifactPathError):
        join_path("out", "..")


def test_digest_and_size_of_a_file(tmp_path: Path) -> None:
    data = b"x" * (3 * 1024 * 1024 + 5)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_digest(path) == (hashlib.sha256(data).hexdigest(), len(data))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.png", "image/png"),
        ("r.txt", "text/plain"),
        ("c.json", "application/json"),
        ("c.yaml", "application/yaml"),
        ("m.pkl", "application/octet-stream"),
        ("noext", "application/octet-stream"),
        ("x.html", "text/html"),
    ],
)
def test_media_types_are_guessed(name: str, kind: str) -> None:
    assert media_type(name) == kind


def test_a_folder_walk_keeps_relative_structure(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "b.txt").write_text("b")
    (tmp_path / "sub" / "deep" / "c.txt").write_text("c")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    assert [rel for _, rel in iter_files(tmp_path)] == ["a.txt", "sub/b.txt", "sub/deep/c.txt"]


def test_artifact_roots_follow_the_contract_layout() -> None:
    root = ArtifactRoot.for_run("bucket", "exp1", "r" * 32)
    assert root.uri == f"s3://bucket/exp1/{'r' * 32}/artifacts"
    assert root.key("model/MLmodel") == f"exp1/{'r' * 32}/artifacts/model/MLmodel"
    assert ArtifactRoot.from_uri("s3://b/p/q/") == ArtifactRoot("b", "p/q")
    custom = run_artifact_root("bucket", "exp1", "r" * 32, "s3://other/team")
    assert custom.uri == f"s3://other/team/{'r' * 32}/artifacts"
    with pytest.raises(ValidationError):
        ArtifactRoot.from_uri("file:///tmp/x")
