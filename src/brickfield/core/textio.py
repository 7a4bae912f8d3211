"""Safe text and JSON intake: size limits, decoding, extraction from LLM chatter."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from brickfield.core.errors import InputTooLargeError, ParseError

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_JSON_DEPTH = 64

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)


def ensure_text(data: str | bytes, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "input") -> str:
    """Decode bytes as UTF-8 (replacing bad bytes) and refuse anything over `max_bytes`.

    The size check happens before any other work so huge inputs are refused in O(1). Every parser's
    text intake, so it also normalises what no parser should have to see: a leading UTF-8 byte-order
    mark is dropped (editors on Windows write one; ``json.loads`` refuses it) and lone surrogates
    (a ``str`` can hold them, UTF-8 cannot) become U+FFFD, so later encoding never fails.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > max_bytes:
            raise InputTooLargeError(len(data), max_bytes, what)
        return _normalise(bytes(data).decode("utf-8", errors="replace"))
    if not isinstance(data, str):
        raise ParseError("bad_type", f"{what} must be str or bytes, got {type(data).__name__}")
    # len(str) <= utf-8 length <= 4*len(str): cheap bounds before encoding.
    if len(data) > max_bytes:
        raise InputTooLargeError(len(data), max_bytes, what)
    if len(data) * 4 > max_bytes:
        size = len(data.encode("utf-8", errors="replace"))
        if size > max_bytes:
            raise InputTooLargeError(size, max_bytes, what)
    return _normalise(data)


_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _normalise(text: str) -> str:
    """Drop one leading byte-order mark; replace lone surrogates with U+FFFD (C-speed checks)."""
    if text.startswith(_BOM):
        text = text[1:]
    if not text.isascii() and _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    return text


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """All ``` fenced blocks in `text` as (language tag, body)."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


# A quoted string with backslash escapes, for each quote character. An unterminated string runs to
# the end of the text: once a match starts it cannot fail, which keeps every scan linear.
_STRING = {q: f"{q}(?:[^{q}\\\\]|\\\\[\\s\\S])*+(?:{q}|\\\\?\\Z)" for q in "\"'"}


def _strings_pattern(quotes: str) -> str:
    return "|".join(_STRING[q] for q in quotes)


def max_nesting(text: str, quotes: str = '"', opens: str = "[{", closes: str = "]}") -> int:
    """Deepest bracket nesting of `text`, ignoring brackets inside quoted strings.

    Runs at C speed (one regex pass and a cumulative sum), so it can guard a parser against deeply
    nested input before the parser recurses.
    """
    bare = re.sub(_strings_pattern(quotes), "", text)
    table = {1: "\x00", 2: "\x00"} | {ord(c): "\x01" for c in opens} | {ord(c): "\x02" for c in closes}
    marks = np.frombuffer(bare.translate(table).encode("utf-8", "replace"), dtype=np.uint8)
    steps = np.where(marks == 1, 1, 0) - np.where(marks == 2, 1, 0)
    return int(np.cumsum(steps).max(initial=0))


def strip_trailing_commas(text: str, quotes: str = '"') -> str:
    """Drop commas directly before `]` or `}` outside quoted strings (LLMs write `[1, 2,]`)."""
    pattern = re.compile(f"({_strings_pattern(quotes)})|,\\s*([\\]}}])")
    return pattern.sub(lambda m: m.group(1) or m.group(2), text)


def loads_json(text: str, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> Any:
    """json.loads with a nesting-depth limit (deep nesting would otherwise hit RecursionError).

    Raises ParseError(code="bad_json") with line and column on malformed input.
    """
    if max_nesting(text) > max_depth:
        raise ParseError("too_deep", f"JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("bad_json", f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except (RecursionError, ValueError) as exc:
        raise ParseError("bad_json", f"invalid JSON: {exc}") from None


def short_repr(value: Any, limit: int = 40) -> str:
    """A bounded repr for error messages: scalars clipped to about ``limit`` characters, containers
    and other objects by type name. Never recurses (a deeply nested list cannot raise RecursionError
    here) and never fails (a 5,000-digit int has no ``repr`` under Python's int-to-str limit)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 128:
            return f"<int of {value.bit_length()} bits>"
        text = repr(int(value))
    elif isinstance(value, float):
        text = repr(float(value))
    elif isinstance(value, (str, bytes)):
        text = repr(value[:limit + 1])
    else:
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."
