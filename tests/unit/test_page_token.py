"""Page tokens: opaque, bound to one query, and every bad token is a PageTokenError."""

from __future__ import annotations

import base64
import contextlib
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runstream.errors import PageTokenError
from runstream.query.search.page_token import (
    MAX_TOKEN_LENGTH,
    decode_page_token,
    encode_page_token,
    fingerprint,
)

QUERY = fingerprint("query A")


def _raw_token(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_round_trip_keeps_the_cursor_exactly() -> None:
    cursor = {"k": [[0, 0.1 + 0.2], [0, -math.inf], [1, None], [0, "é'\"`"]], "id": "r1"}
    token = encode_page_token(QUERY, cursor)
    assert decode_page_token(token, QUERY) == cursor
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_fingerprint_is_stable_and_distinguishes_queries() -> None:
    assert fingerprint("query A") == QUERY
    assert fingerprint("query B") != QUERY


def test_token_of_another_query_is_rejected() -> None:
    token = encode_page_token(fingerprint("query B"), [1])
    with pytest.raises(PageTokenError, match="different query"):
        decode_page_token(token, QUERY)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "!!!!",
        "a",
        "bm90IGpzb24",  # base64 of "not json"
        _raw_token([1, 2]),
        _raw_token({"v": 1, "q": QUERY}),
        _raw_token({"v": 1, "q": QUERY, "c": 1, "extra": 2}),
        _raw_token({"v": 2, "q": QUERY, "c": 1}),
        _raw_token({"v": True, "q": QUERY, "c": 1}),
        _raw_token({"offset": 1000}),  # MLflow's own format
        base64.b64encode(json.dumps({"offset": 10}).encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _raw_token({"v": 1, "q": QUERY, "c": 1}) + "*",
        "W" * (MAX_TOKEN_LENGTH + 1),
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),
    ],
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(PageTokenError):
        decode_page_token(token, QUERY)


def test_non_string_token_is_rejected() -> None:
    with pytest.raises(PageTokenError):
        decode_page_token(b"abc", QUERY)  # type: ignore[arg-type]


@given(st.text(max_size=200))
def test_decoding_any_text_raises_only_page_token_errors(text: str) -> None:
    with contextlib.suppress(PageTokenError):
        decode_page_token(text, QUERY)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_any_json_cursor_round_trips(cursor: Any) -> None:
    assert decode_page_token(encode_page_token(QUERY, cursor), QUERY) == cursor
