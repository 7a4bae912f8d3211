"""Safe text and JSON intake: size limits, decoding, extraction from LLM chatter."""

from __future__ import annotations

import json
import re
from typing import Any

from brickfield.core.errors import InputTooLargeError, ParseError

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_JSON_DEPTH = 64

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)


def ensure_text(data: str | bytes, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "input") -> str:
    """Decode bytes as UTF-8 (replacing bad bytes) and refuse anything over `max_bytes`.

    The size check happens before any other work so huge inputs are refused in O(1).
    """
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise InputTooLargeError(len(data), max_bytes, what)
        return data.decode("utf-8", errors="replace")
    if not isinstance(data, str):
        raise ParseError("bad_type", f"{what} must be str or bytes, got {type(data).__name__}")
    # len(str) <= utf-8 length <= 4*len(str): cheap bounds before encoding.
    if len(data) > max_bytes:
        raise InputTooLargeError(len(data), max_bytes, what)
    if len(data) * 4 > max_bytes:
        size = len(data.encode("utf-8", errors="replace"))
        if size > max_bytes:
            raise InputTooLargeError(size, max_bytes, what)
    return data


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """All ``` fenced blocks in `text` as (language tag, body)."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


def _depth_ok(text: str, max_depth: int) -> bool:
    depth = 0
    in_str = False
    escape = False
    for ch in text:
        if in_str:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads_json(text: str, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> Any:
    """json.loads with a nesting-depth limit (deep nesting would otherwise hit RecursionError).

    Raises ParseError(code="bad_json") with line and column on malformed input.
    """
    if not _depth_ok(text, max_depth):
        raise ParseError("too_deep", f"JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("bad_json", f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except (RecursionError, ValueError) as exc:
        raise ParseError("bad_json", f"invalid JSON: {exc}") from None
