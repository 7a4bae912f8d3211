"""LDraw export/import with BrickGPT's mapping."""

from __future__ import annotations

import pytest

from brickfield.core.errors import InputTooLargeError, ParseError
from brickfield.lego.ldraw import brick_to_ldr_line, from_ldr, to_ldr
from brickfield.lego.library import BRICK_TYPES
from brickfield.lego.structure import Brick, Structure
from brickfield.lego.textformat import parse_structure

from ._strategies import LIBRARY_DIMS, REFERENCE

R0 = "0 0 1 0 1 0 -1 0 0"
R1 = "-1 0 0 0 1 0 0 0 -1"


def _all_positions(h: int, w: int, world: int = 20) -> Structure:
    return Structure([Brick(h, w, x, y, z) for x in range(world - h + 1) for y in range(world - w + 1)
                      for z in range(world)])


@pytest.mark.parametrize("dims", LIBRARY_DIMS, ids=[f"{h}x{w}" for h, w in LIBRARY_DIMS])
def test_round_trip_every_library_brick_everywhere(dims: tuple[int, int]) -> None:
    structure = _all_positions(*dims)
    text = to_ldr(structure)
    assert from_ldr(text) == structure
    assert from_ldr(to_ldr(structure, title=None, steps=False, color=4)) == structure


def test_both_orientations_are_covered() -> None:
    assert len(LIBRARY_DIMS) == 14
    for t in BRICK_TYPES:
        assert (t.short, t.long) in LIBRARY_DIMS and (t.long, t.short) in LIBRARY_DIMS


@pytest.mark.parametrize("brick, line", [
    (Brick(2, 4, 0, 0, 0), f"1 115 20 0 40 {R0} 3001.dat"),
    (Brick(4, 2, 1, 2, 3), f"1 115 60 -72 60 {R1} 3001.dat"),
    (Brick(2, 2, 6, 18, 0), f"1 115 140 0 380 {R0} 3003.dat"),
    (Brick(1, 1, 19, 19, 19), f"1 115 390 -456 390 {R0} 3005.dat"),
    (Brick(6, 1, 1, 19, 6), f"1 115 80 -144 390 {R1} 3009.dat"),
    (Brick(1, 2, 0, 0, 0), f"1 115 10 0 20 {R0} 3004.dat"),
    (Brick(8, 1, 0, 0, 0), f"1 115 80 0 10 {R1} 3008.dat"),
    (Brick(2, 6, 0, 0, 0), f"1 115 20 0 60 {R0} 2456.dat"),
    (Brick(1, 4, 0, 0, 0), f"1 115 10 0 40 {R0} 3010.dat"),
])
def test_brick_line_mapping(brick: Brick, line: str) -> None:
    assert brick_to_ldr_line(brick) == line


def test_file_layout_header_steps_and_colour() -> None:
    s = parse_structure("2x4 (0,0,0)\n1x1 (0,0,1)\n")
    lines = to_ldr(s, title="a  small\ntable").splitlines()
    assert lines[0] == "0 a small table"
    assert all(line.startswith("0 ") for line in lines[:4])
    assert lines[4:] == [f"1 115 20 0 40 {R0} 3001.dat", "0 STEP", f"1 115 10 -24 10 {R0} 3005.dat", "0 STEP"]
    bare = to_ldr(s, title=None, steps=False, color=4)
    assert bare == f"1 4 20 0 40 {R0} 3001.dat\n1 4 10 -24 10 {R0} 3005.dat\n"
    assert to_ldr(Structure([]), title=None) == ""


def test_export_refuses_non_library_bricks() -> None:
    with pytest.raises(ValueError, match=r"brick 1: 3x3"):
        to_ldr(parse_structure("1x1 (0,0,0)\n3x3 (0,0,1)\n"))


def test_import_is_tolerant_of_meta_lines_and_formatting() -> None:
    text = ("\ufeff0 Untitled\r\n0 Name: x.ldr\r\n\r\n0 // comment 1 2 3\r\n"
            f"1 115 140.0 0 380.0 {R0} 3003.DAT\r\n0 STEP\r\n"
            "2 24 0 0 0 10 10 10\r\n"
            f"1 0x2FF0000   60.000  -72   60   -1.0 0 0 0 1 0 0 0 -1.0   3001.dat\r\n"
            f"1 4 20 -0 40 1 0 0 0 1 0 0 0 1 3001.dat\n"  # identity: long side along x
            f"1 4 20 0 40 0 0 -1 0 1 0 1 0 0 3001.dat\n")  # the other quarter turn: along y
    assert list(from_ldr(text).bricks) == [Brick(2, 2, 6, 18, 0), Brick(4, 2, 1, 2, 3),
                                           Brick(4, 2, -1, 1, 0), Brick(2, 4, 0, 0, 0)]
    assert from_ldr("0 only comments\n") == Structure([])


@pytest.mark.parametrize("line, code", [
    ("1 115 20 0 40 0 0 1 0 1 0 -1 0", "bad_line"),
    (f"1 red 20 0 40 {R0} 3001.dat", "bad_line"),
    (f"1 115 20 zero 40 {R0} 3001.dat", "bad_line"),
    (f"1 115 20 1e999 40 {R0} 3001.dat", "bad_line"),
    (f"1 115 20 nan 40 {R0} 3001.dat", "bad_line"),
    (f"1 115 20 0 40 {R0} 3002.dat", "not_in_library"),
    (f"1 115 20 0 40 {R0} sub model.ldr", "not_in_library"),
    ("1 115 20 0 40 0 1 0 1 0 0 0 0 1 3001.dat", "bad_rotation"),
    ("1 115 20 0 40 1 0 0 0 -1 0 0 0 1 3001.dat", "bad_rotation"),
    ("1 115 20 0 40 0.7 0 0.7 0 1 0 -0.7 0 0.7 3001.dat", "bad_rotation"),
    (f"1 115 25 0 40 {R0} 3001.dat", "off_grid"),
    (f"1 115 20 -12 40 {R0} 3001.dat", "off_grid"),
    (f"1 115 20 0 99999999999 {R0} 3001.dat", "off_grid"),
    ("7 hello", "bad_line"),
    ("hello world", "bad_line"),
])
def test_import_errors_are_typed_with_line_numbers(line: str, code: str) -> None:
    with pytest.raises(ParseError) as err:
        from_ldr(f"0 header\n{line}\n0 STEP\n")
    assert err.value.code == code
    assert err.value.line == 2


def test_import_reports_every_bad_line() -> None:
    good = f"1 115 20 0 40 {R0} 3001.dat"
    text = "\n".join([good, "1 1 2 3", good, f"1 115 20 0 40 {R0} 9999.dat", "x"])
    with pytest.raises(ParseError) as err:
        from_ldr(text)
    assert [(i.line, i.code) for i in err.value.issues] == [(2, "bad_line"), (4, "not_in_library"),
                                                           (5, "bad_line")]


def test_import_limits() -> None:
    line = f"1 115 20 0 40 {R0} 3001.dat\n"
    with pytest.raises(ParseError) as err:
        from_ldr(line * 11, max_bricks=10)
    assert err.value.code == "too_many_bricks"
    with pytest.raises(InputTooLargeError):
        from_ldr(line * 100_000)
    with pytest.raises(ParseError) as err:
        from_ldr("junk\n" * 100_000, max_bytes=10**7)
    assert len(err.value.issues) == 100  # collection stops at 100 bad lines


# --- cross-check with BrickGPT's own .ldr files (skipped without ../shared) ---------------------

EXAMPLES = REFERENCE / "brickgpt/src/texture/examples"


def _pairs() -> list[tuple[str, str]]:
    if not EXAMPLES.is_dir():
        return []
    return [(p.read_text(), p.with_suffix(".txt").read_text()) for p in sorted(EXAMPLES.glob("*.ldr"))
            if p.with_suffix(".txt").is_file()]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared reference data absent")
def test_matches_brickgpt_ldr_files() -> None:
    pairs = _pairs()
    assert pairs
    for ldr, txt in pairs:
        structure = parse_structure(txt, strict=True)
        assert from_ldr(ldr) == structure
        ours = [line.split() for line in to_ldr(structure, title=None).splitlines()]
        theirs = [line.split() for line in ldr.splitlines() if line.strip()]
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert a[:2] == b[:2] and a[-1].lower() == b[-1].lower()
            assert [float(v) for v in a[2:-1]] == [float(v) for v in b[2:-1]]
