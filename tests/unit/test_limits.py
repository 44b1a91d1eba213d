"""The size and name limits of events.limits: values, checks, messages, MLflow parity."""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runstream.errors import ArtifactPathError, LimitExceededError, ValidationError
from runstream.events import limits
from runstream.events.limits import (
    ALIAS_PATTERN,
    KEY_PATTERN,
    LIMITS,
    check_alias,
    check_artifact_path,
    check_batch_size,
    check_description,
    check_json_value,
    check_key,
    check_message_size,
    check_metric_value,
    check_name,
    check_param_value,
    check_tag_value,
)


def test_limits_are_mlflows_where_mlflow_has_them() -> None:
    assert (LIMITS.key_length, LIMITS.param_value_length, LIMITS.tag_value_length) == (
        250,
        6000,
        8000,
    )
    assert LIMITS.experiment_tag_value_length == 20_000
    assert LIMITS.registry_tag_value_length == 100_000
    assert (LIMITS.name_length, LIMITS.model_name_length, LIMITS.alias_length) == (500, 256, 255)
    assert (LIMITS.params_per_batch, LIMITS.tags_per_batch, LIMITS.metrics_per_batch) == (
        100,
        100,
        1000,
    )
    assert LIMITS.metric_points_per_event == 10_000
    assert LIMITS.message_bytes == 1_048_576
    assert LIMITS.artifact_path_length == 1024
    assert LIMITS.description_length == 5000


def test_limits_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LIMITS.key_length = 10_000  # type: ignore[misc]


def test_every_limit_is_documented_in_the_class_docstring() -> None:
    doc = limits.Limits.__doc__ or ""
    for field in dataclasses.fields(limits.Limits):
        assert f"{field.name}:" in doc, field.name


VALID_KEYS = [
    "loss",
    "train/loss",
    "val loss",
    "a.b-c_d",
    "gpu:0/util",
    "précision",
    "a/..b",  # dots that are not a whole segment are fine
    "a.",
    "k" * 250,
]
INVALID_KEYS = [
    ("", "must not be empty"),
    ("/abs", "normalised relative path"),
    ("a/", "normalised relative path"),
    ("a//b", "normalised relative path"),
    (".", "normalised relative path"),
    ("..", "normalised relative path"),
    ("./a", "normalised relative path"),
    ("a/./b", "normalised relative path"),
    ("a/../b", "normalised relative path"),
    ("a/..", "normalised relative path"),
    ("..a", "normalised relative path"),  # MLflow rejects a leading ".." too
    ("...", "normalised relative path"),
    ("a\n", "character that is not allowed"),
    ("a\tb", "character that is not allowed"),
    ("a%b", "character that is not allowed"),
    ("a\\b", "character that is not allowed"),
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_check_key_accepts_mlflow_keys(key: str) -> None:
    assert check_key("metric", key) == key


@pytest.mark.parametrize(("key", "words"), INVALID_KEYS)
def test_check_key_rejects_bad_keys_saying_why(key: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as info:
        check_key("param", key)
    assert not isinstance(info.value, LimitExceededError)
    assert str(info.value).startswith("param key")


def test_check_key_over_the_limit_names_kind_and_limit() -> None:
    with pytest.raises(LimitExceededError, match=r"tag key .* 251 characters .* limit is 250"):
        check_key("tag", "k" * 251)


@pytest.mark.parametrize("value", [None, 3, b"loss", ["loss"]])
def test_check_key_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValidationError, match="must be a string"):
        check_key("metric", value)


_KEY_ALPHABET = st.sampled_from(list("ab/. :-_é\n\t%\\"))


@settings(max_examples=400, deadline=None)
@given(st.text(_KEY_ALPHABET, max_size=8))
def test_key_pattern_and_check_key_agree(key: str) -> None:
    """The schema files carry KEY_PATTERN; check_key must say the same."""
    by_pattern = re.search(KEY_PATTERN, key) is not None
    try:
        check_key("metric", key)
        by_check = True
    except ValidationError:
        by_check = False
    assert by_pattern == by_check


@settings(max_examples=400, deadline=None)
@given(st.text(_KEY_ALPHABET, min_size=1, max_size=8))
def test_check_key_agrees_with_mlflows_own_rules(key: str) -> None:
    # MLflow's regex ends in a bare "$", which also matches before a final newline,
    # so MLflow accepts "loss\n"; we reject it on purpose.
    assume(not key.endswith("\n"))
    validation = pytest.importorskip("mlflow.utils.validation")
    try:
        validation._validate_param_name(key)
        mlflow_ok = True
    except Exception:
        mlflow_ok = False
    try:
        check_key("param", key)
        ours_ok = True
    except ValidationError:
        ours_ok = False
    assert ours_ok == mlflow_ok


def test_value_checks_apply_each_scopes_limit() -> None:
    assert check_param_value("v" * 6000)
    with pytest.raises(LimitExceededError, match=r"param value .* limit is 6000"):
        check_param_value("v" * 6001)
    assert check_tag_value("v" * 8000)
    with pytest.raises(LimitExceededError, match=r"run tag value .* limit is 8000"):
        check_tag_value("v" * 8001)
    assert check_tag_value("v" * 20_000, scope="experiment")
    with pytest.raises(LimitExceededError, match="experiment tag value"):
        check_tag_value("v" * 20_001, scope="experiment")
    assert check_tag_value("v" * 100_000, scope="registry")
    with pytest.raises(LimitExceededError, match="registry tag value"):
        check_tag_value("v" * 100_001, scope="registry")
    with pytest.raises(ValidationError, match="param value must be a string, not int"):
        check_param_value(3)


@pytest.mark.parametrize("value", [0, -3, 1.5, math.nan, math.inf, -math.inf, 2**62])
def test_check_metric_value_accepts_numbers_including_non_finite(value: float) -> None:
    result = check_metric_value(value)
    assert isinstance(result, float)
    assert (math.isnan(result) and math.isnan(value)) or result == value


@pytest.mark.parametrize("value", [True, False, "1.0", None, [1.0], 10**400])
def test_check_metric_value_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValidationError, match="metric value"):
        check_metric_value(value)


def test_check_name_per_kind() -> None:
    assert check_name("experiment", "n" * 500)
    assert check_name("run", "any text: even / and \n")
    with pytest.raises(LimitExceededError, match=r"experiment name .* limit is 500"):
        check_name("experiment", "n" * 501)
    with pytest.raises(ValidationError, match="run name must not be empty"):
        check_name("run", "")
    assert check_name("model", "churn-classifier v2")
    with pytest.raises(LimitExceededError, match=r"model name .* limit is 256"):
        check_name("model", "m" * 257)


@pytest.mark.parametrize("name", ["a/b", "a:b", "   ", ".", "..x", "a\nb"])
def test_check_name_rejects_model_names_mlflow_rejects(name: str) -> None:
    with pytest.raises(ValidationError, match="model name"):
        check_name("model", name)


def test_check_description() -> None:
    assert check_description("") == ""
    with pytest.raises(LimitExceededError, match=r"description .* limit is 5000"):
        check_description("d" * 5001)


@pytest.mark.parametrize("alias", ["champion", "prod-2", "a_b", "v", "v1x", "latest2", "é"])
def test_check_alias_accepts(alias: str) -> None:
    assert check_alias(alias) == alias
    assert re.search(ALIAS_PATTERN, alias)


@pytest.mark.parametrize("alias", ["", "latest", "LaTeSt", "v1", "V42", "a b", "a/b", "a\n"])
def test_check_alias_rejects_reserved_and_bad_aliases(alias: str) -> None:
    with pytest.raises(ValidationError, match="alias"):
        check_alias(alias)


def test_check_alias_limit() -> None:
    with pytest.raises(LimitExceededError, match="limit is 255"):
        check_alias("a" * 256)


@pytest.mark.parametrize("path", ["model", "plots/roc curve.png", "a/.b", "..b/c", "é/ü"])
def test_check_artifact_path_accepts_relative_paths(path: str) -> None:
    assert check_artifact_path(path) == path


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../x", "a/../b", "a/..", "./a", "a//b", "a/", "a\\b", "a\x00b"]
)
def test_check_artifact_path_rejects_escapes(path: str) -> None:
    with pytest.raises(ArtifactPathError, match="artifact path"):
        check_artifact_path(path)


def test_check_artifact_path_limit_and_type() -> None:
    with pytest.raises(LimitExceededError, match="limit is 1024"):
        check_artifact_path("p" * 1025)
    with pytest.raises(ArtifactPathError, match="must be a string"):
        check_artifact_path(Path("a"))


def test_batch_and_message_limits() -> None:
    assert check_batch_size("params", 100) == 100
    with pytest.raises(LimitExceededError, match="101 params in one batch; the limit is 100"):
        check_batch_size("params", 101)
    with pytest.raises(LimitExceededError, match="1001 metrics"):
        check_batch_size("metrics", 1001)
    with pytest.raises(LimitExceededError, match="10001 metric points"):
        check_batch_size("metric points", 10_001)
    assert check_message_size(1_048_576)
    with pytest.raises(LimitExceededError, match="1048577 bytes; the limit is 1048576"):
        check_message_size(1_048_577)


def test_check_json_value() -> None:
    deep: list[object] = []
    for _ in range(LIMITS.json_depth - 1):
        deep = [deep]
    assert check_json_value("x", {"a": [1, 2.5, "s", None, True, {"b": 2**64 - 1}]})
    assert check_json_value("x", deep) is deep  # exactly the depth limit
    with pytest.raises(LimitExceededError, match="nested more than 64 levels"):
        check_json_value("input example", [deep])
    for bad in ({1: "a"}, {"a": {1, 2}}, [math.nan], [2**64], (1, 2)):
        with pytest.raises(ValidationError):
            check_json_value("x", bad)


def test_limits_module_is_pure() -> None:
    """Only the standard library and runstream.errors: no I/O, usable everywhere."""
    tree = ast.parse(Path(limits.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "posixpath", "re", "dataclasses", "typing", "runstream"}
