"""Parse and format BrickGPT's brick text (`HxW (x,y,z)` per line) and StableLego's JSON form.

`parse_text` is tolerant of what LLMs emit around a brick list (code fences, prose, bullets, blank
lines, Windows line ends) and reports every malformed brick line with its line number. `strict=True`
accepts only the exact format: one `HxW (x,y,z)` per line, nothing else but a final newline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from brickfield.core.errors import ParseError, ParseIssue
from brickfield.core.textio import _FENCE, DEFAULT_MAX_BYTES, ensure_text, loads_json, short_repr
from brickfield.lego.library import DEFAULT_WORLD_DIM, type_by_stablelego_id
from brickfield.lego.structure import Brick, Structure

DEFAULT_MAX_BRICKS = 10_000
_MAX_DIGITS = 6  # larger numbers cannot be on any sane grid and would make footprints explode
#: Grid coordinates and sizes must be below this in magnitude (every brick reader refuses the rest).
MAX_COORD = 10**_MAX_DIGITS

_STRICT = re.compile(r"(\d+)x(\d+) \((\d+),(\d+),(\d+)\)")
_LENIENT = re.compile(
    r"^\s*(?:[-*•]\s+|\d+[.)]\s+)?"  # optional bullet or list number
    r"(\d+)\s*[xX×]\s*(\d+)\s*[\(\[]\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*[\)\]]\s*[,;.]?\s*$"
)
# A line that is probably an attempt at a brick (so worth reporting) rather than prose.
_BRICKISH = re.compile(r"^\s*(?:[-*•]\s*)?\d+\s*[xX×]\s*\d+|\(\s*-?\d+\s*,\s*-?\d+")


@dataclass
class ParsedText:
    """A lenient parse: the bricks found, the input line of each, and the malformed brick lines."""

    structure: Structure
    line_numbers: list[int] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)


def _select_body(text: str) -> tuple[str, int]:
    """Pick the part of `text` holding the bricks: the first fenced block with brick lines, else all.

    Returns the body and the 0-based line offset of the body inside `text`.
    """
    for m in _FENCE.finditer(text):
        body = m.group(2)
        if any(_LENIENT.match(" ".join(line.split())) for line in body.splitlines()):
            return body, text.count("\n", 0, m.start(2))
    return text, 0


def parse_text(
    text: str | bytes,
    *,
    strict: bool = False,
    world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_bricks: int = DEFAULT_MAX_BRICKS,
) -> ParsedText:
    """Parse brick text, collecting malformed lines instead of raising on them.

    Raises ParseError only when the input as a whole is unusable: too large, too many bricks, or
    (strict mode) any line that is not exactly `HxW (x,y,z)`.
    """
    text = ensure_text(text, max_bytes, "brick text")
    if strict:
        return _parse_strict(text, world_dim, max_bricks)
    body, offset = _select_body(text.replace("\r\n", "\n").replace("\r", "\n"))
    bricks: list[Brick] = []
    lines: list[int] = []
    issues: list[ParseIssue] = []
    for idx, raw in enumerate(body.split("\n")):
        lineno = idx + 1 + offset
        # Collapse whitespace runs: keeps the regexes linear (nested `\s*` would backtrack
        # quadratically on long runs of spaces) without changing what they accept.
        line = " ".join(raw.split())
        if not line or line.startswith("```"):
            continue
        m = _LENIENT.match(line)
        if m is None:
            if _BRICKISH.search(line):
                issues.append(ParseIssue("ill_formatted", f"not a brick `HxW (x,y,z)`: {line[:60]!r}",
                                         line=lineno))
            continue
        groups = m.groups()
        if any(len(g.lstrip("-")) > _MAX_DIGITS for g in groups):
            issues.append(ParseIssue("ill_formatted", f"number too large in {line[:60]!r}", line=lineno))
            continue
        if len(bricks) >= max_bricks:
            raise ParseError("too_many_bricks", f"more than {max_bricks} bricks", line=lineno)
        h, w, x, y, z = (int(g) for g in groups)
        bricks.append(Brick(h, w, x, y, z))
        lines.append(lineno)
    return ParsedText(Structure(bricks, world_dim), lines, issues)


def _parse_strict(text: str, world_dim: int | tuple[int, int, int], max_bricks: int) -> ParsedText:
    body = text[:-1] if text.endswith("\n") else text
    issues: list[ParseIssue] = []
    bricks: list[Brick] = []
    lines: list[int] = []
    if not body:
        return ParsedText(Structure((), world_dim))
    for idx, line in enumerate(body.split("\n")):
        m = _STRICT.fullmatch(line)
        if m is None or any(len(g) > _MAX_DIGITS for g in m.groups()):
            issues.append(ParseIssue("ill_formatted", f"not exactly `HxW (x,y,z)`: {line[:60]!r}",
                                     line=idx + 1))
            continue
        if len(bricks) >= max_bricks:
            raise ParseError("too_many_bricks", f"more than {max_bricks} bricks", line=idx + 1)
        bricks.append(Brick(*(int(g) for g in m.groups())))
        lines.append(idx + 1)
    if issues:
        raise ParseError.from_issues(issues)
    return ParsedText(Structure(bricks, world_dim), lines)


def parse_structure(text: str | bytes, *, strict: bool = False, **kwargs: Any) -> Structure:
    """Parse brick text into a Structure; raise ParseError listing every malformed line.

    Raises ParseError(code="no_bricks") when the text contains no brick at all.
    """
    parsed = parse_text(text, strict=strict, **kwargs)
    if parsed.issues:
        raise ParseError.from_issues(parsed.issues)
    if not parsed.structure.bricks:
        raise ParseError("no_bricks", "no brick lines found (expected `HxW (x,y,z)` per line)")
    return parsed.structure


def format_structure(structure: Structure) -> str:
    """BrickGPT text (inverse of `parse_structure` for well-formed input)."""
    return structure.to_text()


# ---------------------------------------------------------------------------------------------
# StableLego JSON: {"1": {"brick_id": 9, "x": 0, "y": 0, "z": 0, "ori": 0}, ...}
# ---------------------------------------------------------------------------------------------

def structure_to_stablelego(structure: Structure) -> dict[str, dict[str, int]]:
    """StableLego's task-graph dict (1-based string keys). Bricks outside the library are refused."""
    out: dict[str, dict[str, int]] = {}
    for i, b in enumerate(structure.bricks):
        t = b.type
        if t is None:
            raise ValueError(f"brick {i} ({b.dims}) is not in the library; StableLego cannot encode it")
        out[str(i + 1)] = {"brick_id": t.stablelego_id, "x": b.x, "y": b.y, "z": b.z, "ori": b.ori}
    return out


def _int_field(entry: dict[str, Any], key: str, item: int) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError("bad_value", f"{key!r} must be an integer, got {short_repr(value)}", item=item)
    if abs(value) >= MAX_COORD:
        raise ParseError("bad_value", f"{key!r} out of range: {short_repr(value)}", item=item)
    return value


def stablelego_to_structure(data: str | bytes | dict[str, Any],
                            world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM,
                            max_bytes: int = DEFAULT_MAX_BYTES,
                            max_bricks: int = DEFAULT_MAX_BRICKS) -> Structure:
    """Read StableLego JSON (text or already-loaded dict), ordered by numeric key."""
    if isinstance(data, (str, bytes)):
        data = loads_json(ensure_text(data, max_bytes, "StableLego JSON"))
    if not isinstance(data, dict):
        raise ParseError("bad_structure", "StableLego JSON must be an object keyed by brick number")
    if len(data) > max_bricks:
        raise ParseError("too_many_bricks", f"more than {max_bricks} bricks")
    try:
        keys = sorted(data, key=lambda k: int(k))
    except (TypeError, ValueError, OverflowError):   # OverflowError: an infinite float key
        raise ParseError("bad_structure", "StableLego keys must be integers as strings") from None
    bricks = []
    for item, key in enumerate(keys):
        entry = data[key]
        if not isinstance(entry, dict):
            raise ParseError("bad_structure", f"brick {short_repr(key)} must be an object", item=item)
        bid = _int_field(entry, "brick_id", item)
        t = type_by_stablelego_id(bid)
        if t is None:
            raise ParseError("not_in_library", f"unknown StableLego brick_id {bid}", item=item)
        ori = _int_field(entry, "ori", item)
        if ori not in (0, 1):
            raise ParseError("bad_value", f"ori must be 0 or 1, got {ori}", item=item)
        h, w = (t.short, t.long) if ori == 0 else (t.long, t.short)
        bricks.append(Brick(h, w, _int_field(entry, "x", item), _int_field(entry, "y", item),
                            _int_field(entry, "z", item)))
    return Structure(bricks, world_dim)


def stablelego_json(structure: Structure) -> str:
    """StableLego JSON text of `structure` (see :func:`structure_to_stablelego`)."""
    return json.dumps(structure_to_stablelego(structure))
