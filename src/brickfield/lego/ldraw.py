"""LDraw (.ldr) export and import with BrickGPT's mapping (research/lego_anchors.md §6).

A brick `HxW (x,y,z)` becomes one type-1 line ``1 <colour> X Y Z <matrix> <part>.dat`` with

* ``X = (x + H/2)·20``, ``Z = (y + W/2)·20``, ``Y = -24·z`` (LDraw units; -Y is up). Since
  ``(x + H/2)·20 = 20x + 10H`` every coordinate is an integer and is written as one;
* matrix ``0 0 1 0 1 0 -1 0 0`` when the brick's long side runs along y (``ori`` 0, H <= W) and
  ``-1 0 0 0 1 0 0 0 -1`` when it runs along x (``ori`` 1, H > W). The parts' long side lies along
  LDraw x, so the first matrix turns it onto LDraw z, which carries the grid's y;
* part ids 3005, 3004, 3010, 3009, 3008, 3003, 3001, 2456 (1x1 ... 2x6);

followed by ``0 STEP``, so the file doubles as step-by-step build instructions.

Import inverts this. It skips blank lines, comments and meta commands (type 0, including ``STEP``)
and other geometry (types 2-5). A type-1 line must reference a library part, sit on the grid and use
a rotation about the vertical axis by a multiple of 90 degrees (BrickGPT writes two of the four; the
other two describe the same bricks and are accepted). Everything else raises a typed ParseError;
all bad lines are reported together.
"""

from __future__ import annotations

import math

from brickfield.core.errors import ParseError, ParseIssue
from brickfield.core.textio import DEFAULT_MAX_BYTES, ensure_text
from brickfield.lego.library import DEFAULT_WORLD_DIM, type_by_part
from brickfield.lego.structure import Brick, Structure
from brickfield.lego.textformat import DEFAULT_MAX_BRICKS, MAX_COORD

DEFAULT_COLOR = 115
STUD_LDU = 20
BRICK_LDU = 24
_MAX_ISSUES = 100  # stop collecting bad lines after this many (the error says so)

#: BrickGPT's rotation matrices (row-major a..i), by orientation.
ROTATIONS: dict[int, tuple[int, ...]] = {0: (0, 0, 1, 0, 1, 0, -1, 0, 0), 1: (-1, 0, 0, 0, 1, 0, 0, 0, -1)}
# Yaw rotations accepted on import -> True when the part's long side lies along grid x (ori 1).
_YAW_LONG_ALONG_X: dict[tuple[int, ...], bool] = {
    (1, 0, 0, 0, 1, 0, 0, 0, 1): True,
    (-1, 0, 0, 0, 1, 0, 0, 0, -1): True,
    (0, 0, 1, 0, 1, 0, -1, 0, 0): False,
    (0, 0, -1, 0, 1, 0, 1, 0, 0): False,
}


def brick_to_ldr_line(brick: Brick, color: int = DEFAULT_COLOR) -> str:
    """One type-1 line for `brick` (no newline). Raises ValueError if the brick is not in the library."""
    t = brick.type
    if t is None:
        raise ValueError(f"{brick.to_text()} is not a library brick; it has no LDraw part")
    x = STUD_LDU * brick.x + STUD_LDU // 2 * brick.h
    z = STUD_LDU * brick.y + STUD_LDU // 2 * brick.w
    y = -BRICK_LDU * brick.z
    rot = " ".join(str(v) for v in ROTATIONS[brick.ori])
    return f"1 {color} {x} {y} {z} {rot} {t.ldraw_part}.dat"


def to_ldr(structure: Structure, *, color: int = DEFAULT_COLOR, title: str | None = "brickfield model",
           steps: bool = True) -> str:
    """Export a structure as LDraw text (newline-terminated).

    `title` adds header comments (``0 <title>``, ``0 Name:``, ``0 Author:``); None writes no header.
    ``steps`` writes ``0 STEP`` after every brick. Raises ValueError naming the first non-library brick.
    """
    lines: list[str] = []
    if title is not None:
        clean = " ".join(title.split()) or "brickfield model"
        lines += [f"0 {clean}", "0 Name: model.ldr", "0 Author: brickfield",
                  "0 // bricks in generation order; units LDU, -Y up"]
    for i, b in enumerate(structure.bricks):
        try:
            lines.append(brick_to_ldr_line(b, color))
        except ValueError as exc:
            raise ValueError(f"brick {i}: {exc}") from None
        if steps:
            lines.append("0 STEP")
    return "".join(line + "\n" for line in lines)


def _number(token: str) -> float:
    value = float(token)  # ValueError on junk; "1e999" -> inf, caught below
    if not math.isfinite(value):
        raise ValueError(token)
    return value


def _grid_int(value: float, what: str) -> int:
    r = round(value)
    if abs(value - r) > 1e-6:
        raise ValueError(f"{what} {value:g} is not on the brick grid")
    if abs(r) >= MAX_COORD:
        raise ValueError(f"{what} {r} out of range")
    return int(r)


def _parse_type1(tokens: list[str], lineno: int) -> Brick:
    if len(tokens) < 15:
        raise ParseError("bad_line", f"type-1 line needs 15 fields, got {len(tokens)}", line=lineno)
    color = tokens[1]
    if not (color.isdigit() or (color.lower().startswith("0x") and len(color) > 2
                                and all(c in "0123456789abcdefABCDEF" for c in color[2:]))):
        raise ParseError("bad_line", f"bad colour {color[:20]!r}", line=lineno)
    part = " ".join(tokens[14:])
    t = type_by_part(part)
    if t is None:
        raise ParseError("not_in_library", f"part {part[:40]!r} is not a library brick", line=lineno)
    try:
        nums = [_number(tok) for tok in tokens[2:14]]
    except ValueError:
        raise ParseError("bad_line", "position and matrix must be 12 finite numbers", line=lineno) from None
    rounded = tuple(round(v) for v in nums[3:])
    if any(abs(v - r) > 1e-6 for v, r in zip(nums[3:], rounded, strict=True)) \
            or rounded not in _YAW_LONG_ALONG_X:
        raise ParseError("bad_rotation", "rotation is not a quarter turn about the vertical axis",
                         line=lineno)
    long_along_x = _YAW_LONG_ALONG_X[rounded]
    h, w = (t.long, t.short) if long_along_x else (t.short, t.long)
    try:
        x = _grid_int(nums[0] / STUD_LDU - h / 2, "x")
        y = _grid_int(nums[2] / STUD_LDU - w / 2, "y")
        z = _grid_int(-nums[1] / BRICK_LDU, "z")
    except ValueError as exc:
        raise ParseError("off_grid", str(exc), line=lineno) from None
    return Brick(h, w, x, y, z)


def from_ldr(text: str | bytes, *, world_dim: int | tuple[int, int, int] = DEFAULT_WORLD_DIM,
             max_bytes: int = DEFAULT_MAX_BYTES, max_bricks: int = DEFAULT_MAX_BRICKS) -> Structure:
    """Read LDraw text written with BrickGPT's mapping back into a Structure (file order kept).

    Raises ParseError: ``too_large`` (over `max_bytes`, checked first), ``too_many_bricks``,
    ``bad_line`` (malformed type-1 line or unknown line type), ``not_in_library`` (unknown part),
    ``bad_rotation``, ``off_grid``; every bad line is listed in ``issues``. Bounds, collisions and
    the like are left to :mod:`brickfield.lego.checks`. At most 100 bad lines are collected.
    """
    text = ensure_text(text, max_bytes, "LDraw text")
    bricks: list[Brick] = []
    issues: list[ParseIssue] = []
    for idx, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        lineno = idx + 1
        tokens = raw.lstrip("\ufeff").split()
        if not tokens or tokens[0] == "0":
            continue
        kind = tokens[0]
        if kind in ("2", "3", "4", "5"):
            continue  # loose geometry: not a brick, harmless
        if kind != "1":
            issues.append(ParseIssue("bad_line", f"unknown LDraw line type {kind[:20]!r}", line=lineno))
            if len(issues) >= _MAX_ISSUES:
                break
            continue
        try:
            brick = _parse_type1(tokens, lineno)
        except ParseError as exc:
            issues.extend(exc.issues)
            if len(issues) >= _MAX_ISSUES:
                break
            continue
        if len(bricks) >= max_bricks:
            raise ParseError("too_many_bricks", f"more than {max_bricks} bricks", line=lineno)
        bricks.append(brick)
    if issues:
        raise ParseError.from_issues(issues)
    return Structure(bricks, world_dim)
