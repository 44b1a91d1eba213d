"""Tokenizer of the run-search language (filters and order_by clauses).

The lexer knows no keywords: ``AND``, ``LIKE``, ``ASC``... arrive as one-segment
paths and the parser recognises them by position, case-insensitively. A *path*
is what MLflow calls an identifier: segments joined by dots with no spaces,
each segment either a bare word (``\\w+``) or quoted with a backtick, a double
quote or a single quote. A one-segment quoted path is also how a string value
arrives; the parser decides which it is.

Inside quotes, the quote character is written twice (``'it''s'``) or escaped
with a backslash (``'it\\'s'``); ``\\\\`` is one backslash; any other backslash
is an ordinary character, so LIKE patterns keep theirs.

Numbers: an optional ``-``, digits with an optional fraction (``1``, ``1.``,
``.5``, ``1.5``) and an optional exponent (``1e5``, ``2.5E-3``). A number must
not run into a word (``1AND`` is an error, as in MLflow).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass

from runstream.errors import FilterParseError

__all__ = ["Segment", "TokKind", "Token", "iter_tokens", "quote", "tokenize"]

_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"\w+")
_OPERATORS = ("<=", ">=", "!=", "<", ">", "=")
_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}
_QUOTES = "`\"'"


class TokKind(enum.Enum):
    """Lexical category of a token."""

    PATH = "path"
    NUMBER = "number"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end of input"


@dataclass(frozen=True)
class Segment:
    """One dot-separated part of a path.

    Attributes:
        text: the segment's text, unquoted and unescaped.
        quote: the quote character used, or ``""`` for a bare word.
        position: 0-based offset of the segment's first character.
    """

    text: str
    quote: str
    position: int


@dataclass(frozen=True)
class Token:
    """A lexical token with its source text and 0-based position."""

    kind: TokKind
    text: str
    position: int
    segments: tuple[Segment, ...] = ()

    @property
    def word(self) -> str | None:
        """The upper-cased bare word, if the token is a one-segment unquoted path."""
        if self.kind is TokKind.PATH and len(self.segments) == 1 and not self.segments[0].quote:
            return self.segments[0].text.upper()
        return None

    def shown(self) -> str:
        """Quote the token for an error message."""
        return "end of input" if self.kind is TokKind.EOF else repr(self.text)


def quote(text: str, char: str = "'") -> str:
    """Quote ``text`` for a filter: ``'`` or ``"`` for values and keys, a backtick for keys."""
    if len(char) != 1 or char not in _QUOTES:
        raise ValueError(f"not a quote character: {char!r}")
    return char + text.replace("\\", "\\\\").replace(char, char * 2) + char


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with one EOF token.

    Raises:
        FilterParseError: on an unterminated quote, a stray character, or a
            number that runs into a word.
    """
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text`` lazily, ending with one EOF token.

    The parser pulls tokens one at a time, so errors come out in reading order:
    in ``'a'b'`` the stray ``b`` is reported, not the quote left open after it.

    Raises:
        FilterParseError: as :func:`tokenize`, when the bad token is reached.
    """
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            yield Token(TokKind.EOF, "", end)
            return
        char = text[pos]
        if char in _PUNCTUATION:
            yield Token(TokKind[_PUNCTUATION[char]], char, pos)
            pos += 1
        elif (op := next((o for o in _OPERATORS if text.startswith(o, pos)), None)) is not None:
            yield Token(TokKind.OP, op, pos)
            pos += len(op)
        elif (number := _NUMBER.match(text, pos)) is not None:
            after = number.end()
            if after < end and (_WORD.match(text, after) or text[after] in _QUOTES + "."):
                raise FilterParseError(
                    f"Unexpected {text[after]!r} right after the number "
                    f"{number.group()!r} at position {after}",
                    position=after,
                    expected="a space, an operator or a parenthesis after a number",
                )
            yield Token(TokKind.NUMBER, number.group(), pos)
            pos = after
        elif char in _QUOTES or (char.isidentifier() and _WORD.match(text, pos)):
            token = _read_path(text, pos)
            yield token
            pos += len(token.text)
        else:
            raise FilterParseError(
                f"Unexpected character {char!r} at position {pos}"
                " (quote keys that hold special characters, e.g. metrics.`my-key`)",
                position=pos,
                expected="an identifier, a value, an operator or a parenthesis",
            )


def _read_path(text: str, start: int) -> Token:
    """Read dot-joined segments starting at ``start`` (a word or a quote)."""
    segments: list[Segment] = []
    pos = start
    while True:
        if pos < len(text) and text[pos] in _QUOTES:
            value, pos_after = _read_quoted(text, pos)
            segments.append(Segment(value, text[pos], pos))
        else:
            word = _WORD.match(text, pos)
            if word is None:
                shown = repr(text[pos]) if pos < len(text) else "end of input"
                raise FilterParseError(
                    f"Expected a key right after '.' at position {pos}, found {shown}",
                    position=pos,
                    expected='a key (a word, or quoted with ` or ")',
                )
            segments.append(Segment(word.group(), "", pos))
            pos_after = word.end()
        pos = pos_after
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return Token(TokKind.PATH, text[start:pos], start, tuple(segments))


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted segment at ``start``; return its unescaped text and the end offset."""
    quote = text[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            if text.startswith(quote, pos + 1):
                out.append(quote)
                pos += 2
                continue
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in (quote, "\\"):
            out.append(text[pos + 1])
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise FilterParseError(
        f"Unterminated quoted text starting at position {start}: {text[start : start + 30]!r}",
        position=start,
        expected=f"a closing {quote}",
    )
