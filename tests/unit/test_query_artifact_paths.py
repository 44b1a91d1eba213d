"""Artifact paths from URLs: the traversal corpus of MLflow's published advisories.

MLflow's path-traversal CVEs (CVE-2023-1177, CVE-2023-2780, CVE-2023-6909,
CVE-2023-6831, CVE-2024-1483, CVE-2024-1560, CVE-2024-1594, ...) hid ``..`` behind
encodings, backslashes, absolute or drive paths, fragments and NULs.
"""

from __future__ import annotations

import pytest

from runstream.errors import ArtifactPathError
from runstream.query.read.artifact_paths import check_request_path

ATTACKS = [
    "..",
    "../",
    "../../etc/passwd",
    "model/../../other-run/artifacts/x",
    "model/..",
    "./x",
    "a/./b",
    "%2e%2e/x",
    "%2E%2E/x",
    "%2e%2e%2fx",
    "..%2f..%2fetc%2fpasswd",
    "%252e%252e/x",
    "%25252e%25252e/x",
    "model%2f..%2f..%2fx",
    "/etc/passwd",
    "//etc/passwd",
    "%2fetc%2fpasswd",
    "a//b",
    "a/b/",
    "..\\..\\windows\\win.ini",
    "model\\..\\x",
    "a%5c..%5cb",
    "C:/Windows/win.ini",
    "c:\\boot.ini",
    "a\x00.txt",
    "a%00.txt",
    "a%2500.txt",
    "a\nb",
    "a\r\nb",
    "\uff0e\uff0e/x",
    "%ef%bc%8e%ef%bc%8e/x",
    "x" * 5000,
    "%ff%fe",
]

SAFE = [
    "model/MLmodel",
    "plots/loss curve.png",
    "a/b/c.d.e",
    "..hidden-ish",
    "file..txt",
    "data%20set.csv",
    "ünïcödé/файл.txt",
    "x" * 1024,
]


@pytest.mark.parametrize("path", ATTACKS)
def test_escaping_or_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(ArtifactPathError):
        check_request_path(path)
    if path != "a/b/":  # a listing may name a directory with a final '/'
        with pytest.raises(ArtifactPathError):
            check_request_path(path, allow_root=True)


@pytest.mark.parametrize("path", SAFE)
def test_ordinary_paths_pass_unchanged(path: str) -> None:
    assert check_request_path(path) == path


def test_root_is_only_for_listings() -> None:
    assert check_request_path("", allow_root=True) == ""
    assert check_request_path(None, allow_root=True) == ""
    assert check_request_path("model/", allow_root=True) == "model"
    with pytest.raises(ArtifactPathError):
        check_request_path("")
