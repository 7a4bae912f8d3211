"""BrickGPT text format and StableLego JSON: tolerant/strict parsing, errors, round trips, limits."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from brickfield.core.errors import InputTooLargeError, ParseError
from brickfield.lego.structure import Brick, Structure
from brickfield.lego.textformat import (
    format_structure,
    parse_structure,
    parse_text,
    stablelego_json,
    stablelego_to_structure,
    structure_to_stablelego,
)

from ._strategies import REFERENCE, any_bricks, structures

TABLE = [Brick(2, 4, 0, 0, 0), Brick(4, 2, 3, 5, 1), Brick(1, 1, 19, 19, 19)]
TABLE_TEXT = "2x4 (0,0,0)\n4x2 (3,5,1)\n1x1 (19,19,19)\n"


# --- tolerant parsing -------------------------------------------------------------------------

def test_plain_text_parses_with_line_numbers() -> None:
    parsed = parse_text(TABLE_TEXT)
    assert list(parsed.structure.bricks) == TABLE
    assert parsed.line_numbers == [1, 2, 3]
    assert parsed.issues == []


def test_code_fence_and_prose_are_ignored() -> None:
    text = ("Sure! Here is a small table:\n\n```text\n2x4 (0,0,0)\n4x2 (3,5,1)\n\n1x1 (19,19,19)\n```\n"
            "Let me know (if you want) 2 more bricks.\n")
    parsed = parse_text(text)
    assert list(parsed.structure.bricks) == TABLE
    assert parsed.line_numbers == [4, 5, 7]  # lines of the whole text, not of the fenced block
    assert parsed.issues == []


def test_fenced_block_line_numbers_when_body_also_appears_in_prose() -> None:
    parsed = parse_text("2x2 (0,0,0)\n```\n2x2 (0,0,0)\n```\n")
    assert parsed.line_numbers == [3]


def test_crlf_bullets_numbers_and_spacing() -> None:
    text = "- 2x4 (0,0,0)\r\n* 4 X 2 ( 3 , 5 , 1 );\r\n\r\n1. 1×1 [19,19,19]\r\n"
    parsed = parse_text(text)
    assert list(parsed.structure.bricks) == TABLE
    assert parsed.line_numbers == [1, 2, 4]


def test_every_bad_line_is_reported_with_line_and_code() -> None:
    text = "2x4 (0,0,0)\n2x (1,1,1)\nsome prose here\n1x2 (1,2)\n99999999999x1 (0,0,0)\n1x1 (0,0,1)\n"
    parsed = parse_text(text)
    assert list(parsed.structure.bricks) == [Brick(2, 4, 0, 0, 0), Brick(1, 1, 0, 0, 1)]
    assert [(i.line, i.code) for i in parsed.issues] == [
        (2, "ill_formatted"), (4, "ill_formatted"), (5, "ill_formatted")]
    with pytest.raises(ParseError) as err:
        parse_structure(text)
    assert err.value.code == "ill_formatted"
    assert [i.line for i in err.value.issues] == [2, 4, 5]
    assert "line 2" in str(err.value)


def test_no_bricks_is_an_error() -> None:
    with pytest.raises(ParseError) as err:
        parse_structure("I cannot build that, sorry.")
    assert err.value.code == "no_bricks"


def test_long_whitespace_runs_are_linear() -> None:
    # Regression: nested `\s*` used to backtrack quadratically on long runs of spaces.
    parsed = parse_text("1x1 (0,0,0)" + " " * 200_000 + "a")
    assert parsed.structure.bricks == ()
    assert [i.code for i in parsed.issues] == ["ill_formatted"]


# --- strict mode ------------------------------------------------------------------------------

def test_strict_accepts_exact_format() -> None:
    assert list(parse_structure(TABLE_TEXT, strict=True).bricks) == TABLE
    assert list(parse_structure(TABLE_TEXT.rstrip("\n"), strict=True).bricks) == TABLE
    assert parse_text("", strict=True).structure.bricks == ()


@pytest.mark.parametrize("text, bad_lines", [
    ("2x4 (0,0,0)\n 4x2 (3,5,1)\n", [2]),
    ("2x4 (0,0,0)\r\n4x2 (3,5,1)\r\n", [1, 2]),
    ("```\n2x4 (0,0,0)\n```\n", [1, 3]),
    ("2x4 (0,0,0)\n\n1x1 (0,0,1)\n", [2]),
    ("2X4 (0,0,0)\n2x4 (0, 0, 0)\n2x4 (-1,0,0)\n", [1, 2, 3]),
])
def test_strict_rejects_anything_else(text: str, bad_lines: list[int]) -> None:
    with pytest.raises(ParseError) as err:
        parse_structure(text, strict=True)
    assert err.value.code == "ill_formatted"
    assert [i.line for i in err.value.issues] == bad_lines


# --- round trips ------------------------------------------------------------------------------

@given(structures(any_bricks().filter(lambda b: min(b.x, b.y, b.z) >= 0)))
@settings(max_examples=60)
def test_format_parse_round_trip_strict_and_lenient(structure: Structure) -> None:
    text = format_structure(structure)
    if not structure.bricks:
        assert text == ""
        return
    assert parse_structure(text, strict=True) == structure
    assert parse_structure(text) == structure
    assert parse_structure(f"Here you go:\n```\n{text}```\nDone.") == structure


@given(structures())
@settings(max_examples=60)
def test_stablelego_round_trip(structure: Structure) -> None:
    as_dict = structure_to_stablelego(structure)
    assert list(as_dict) == [str(i + 1) for i in range(len(structure))]
    assert stablelego_to_structure(as_dict) == structure
    assert stablelego_to_structure(stablelego_json(structure)) == structure
    assert stablelego_to_structure(stablelego_json(structure).encode()) == structure


def test_stablelego_orders_by_numeric_key_and_reports_errors() -> None:
    data = {"10": {"brick_id": 10, "x": 0, "y": 0, "z": 1, "ori": 0},
            "2": {"brick_id": 2, "x": 0, "y": 0, "z": 0, "ori": 1}}
    assert list(stablelego_to_structure(data).bricks) == [Brick(4, 2, 0, 0, 0), Brick(1, 1, 0, 0, 1)]
    with pytest.raises(ParseError) as err:
        stablelego_to_structure({"1": {"brick_id": 7, "x": 0, "y": 0, "z": 0, "ori": 0}})
    assert err.value.code == "not_in_library"
    with pytest.raises(ParseError) as err:
        stablelego_to_structure({"1": {"brick_id": 2, "x": 0.5, "y": 0, "z": 0, "ori": 0}})
    assert err.value.code == "bad_value"
    with pytest.raises(ValueError):
        structure_to_stablelego(Structure([Brick(3, 3, 0, 0, 0)]))


# --- limits -----------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", ["1x1 (0,0,0)\n" * 1_000_000, b"x" * 10_000_000])
def test_size_limit_refused_with_clear_message(payload: str | bytes) -> None:
    for call in (lambda: parse_text(payload), lambda: parse_structure(payload, strict=True),
                 lambda: stablelego_to_structure(payload)):
        with pytest.raises(InputTooLargeError) as err:
            call()
        assert err.value.code == "too_large"
        assert "over the limit of 1000000 bytes" in str(err.value)


def test_too_many_bricks() -> None:
    with pytest.raises(ParseError) as err:
        parse_text("1x1 (0,0,0)\n" * 11, max_bricks=10)
    assert err.value.code == "too_many_bricks"


# --- cross-check with BrickGPT's example structures (skipped without ../shared) -----------------

def _reference_texts() -> list[str]:
    texts = []
    examples = REFERENCE / "brickgpt/src/demo/examples/examples.json"
    if examples.is_file():
        texts += [v["output_txt"] for v in json.loads(examples.read_text()).values() if "output_txt" in v]
    for path in sorted((REFERENCE / "brickgpt/src").rglob("*.txt")):
        texts.append(path.read_text())
    return texts


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared reference data absent")
def test_reference_structures_parse_strictly_and_round_trip() -> None:
    texts = _reference_texts()
    assert texts
    for text in texts:
        structure = parse_structure(text, strict=True)
        assert format_structure(structure).rstrip("\n") == text.rstrip("\n")



def test_byte_order_mark_is_accepted() -> None:
    text = "2x4 (0,0,0)\n1x2 (0,2,1)\n"
    for strict in (False, True):
        expected = parse_structure(text, strict=strict)
        assert parse_structure("\ufeff" + text, strict=strict) == expected
        assert parse_structure(b"\xef\xbb\xbf" + text.encode(), strict=strict) == expected
    data = stablelego_json(parse_structure(text))
    assert stablelego_to_structure("\ufeff" + data) == stablelego_to_structure(data)
