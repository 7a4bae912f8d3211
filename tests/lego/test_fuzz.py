"""Fuzzing every LEGO parser: arbitrary and hostile input may only raise ParseError.

Every (hostile input, parser) pair runs once; the hand-picked inputs go up to the default 1 MB size
limit, so a quadratic regex or an unbounded scan shows up as a slow test (speed itself is measured in
``benchmarks/``, not asserted here). The wider families live in ``tests/fuzz``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brickfield.core.errors import ParseError
from brickfield.lego.checks import check_structure
from brickfield.lego.ldraw import from_ldr
from brickfield.lego.rewards import pvpo_reward_from_text
from brickfield.lego.textformat import parse_structure, parse_text, stablelego_to_structure
from brickfield.lego.voxels import voxelize

FAST = settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])

TARGET = "2x4 (0,0,0)\n2x4 (0,2,1)\n"


def _lenient_pipeline(data: str | bytes) -> None:
    parsed = parse_text(data)
    report = check_structure(parsed)  # must cope with whatever the lenient parser lets through
    assert len(report.reasons) >= len(parsed.structure)
    voxelize(parsed.structure)


PARSERS: dict[str, Callable[[Any], object]] = {
    "parse_text": parse_text,
    "parse_text_strict": lambda d: parse_text(d, strict=True),
    "parse_structure": parse_structure,
    "parse_structure_strict": lambda d: parse_structure(d, strict=True),
    "stablelego_to_structure": stablelego_to_structure,
    "from_ldr": from_ldr,
    "lenient_pipeline": _lenient_pipeline,
}


def only_parse_errors(data: str | bytes) -> None:
    for fn in PARSERS.values():
        try:
            fn(data)
        except ParseError as exc:
            assert exc.code and isinstance(exc.issues, list) and str(exc)
    res = pvpo_reward_from_text(data, TARGET)  # never raises on bad text
    assert 0.0 <= res.reward <= 1.0


# --- text near the formats, so the fuzzers reach the deep paths ----------------------------------

_INTS = st.one_of(st.integers(-30, 30), st.integers(-10**12, 10**12), st.just(99999999999))
_brick_line = st.builds(lambda h, w, x, y, z, sep: f"{h}x{w}{sep}({x},{y},{z})",
                        _INTS, _INTS, _INTS, _INTS, _INTS, st.sampled_from([" ", "", "  ", "\t"]))
_junk = st.sampled_from(["```", "```text", "- ", "1. ", "Here:", "(1,2", "2x", "x", "×", ",", ")", "\x00",
                         "\r", "\ufeff", "٣x٣ (٠,٠,٠)", "1x1 [0,0,0];", "0 STEP", "1 115"])
_line = st.one_of(_brick_line, _junk, st.text(max_size=30))
brickish_text = st.lists(_line, max_size=30).map("\n".join)

_num = st.one_of(st.integers(-500, 500).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.sampled_from(["-0", "1e999", "nan", "0x10", "1_0", "9" * 400, "--1", ""]))
_part = st.sampled_from(["3001.dat", "3001.DAT", "3005.dat", "2456.dat", "3002.dat", "x.ldr", "", "3001"])
_rot = st.sampled_from(["0 0 1 0 1 0 -1 0 0", "-1 0 0 0 1 0 0 0 -1", "1 0 0 0 1 0 0 0 1",
                        "0 0 1 0 1 0 1 0 0"])
_near_ldr_line = st.builds(lambda x, y, z, r, p: f"1 115 {10 * x} {-12 * y} {10 * z} {r} {p}",
                           st.integers(-5, 45), st.integers(-2, 42), st.integers(-5, 45), _rot, _part)
_ldr_line = st.one_of(
    _near_ldr_line,
    st.builds(lambda c, nums, p: f"1 {c} {' '.join(nums)} {p}",
              _num, st.lists(_num, min_size=10, max_size=14), _part),
    st.sampled_from(["0 STEP", "0 // hi", "2 24 0 0 0 1 1 1", "5", "1", "9 x", ""]),
    st.text(max_size=20),
)
ldrish_text = st.lists(_ldr_line, max_size=20).map("\n".join)

_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10))
json_values = st.recursive(_json_scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=5), kids, max_size=4)), max_leaves=20)
_field = st.one_of(st.integers(-5, 15), st.integers(), _json_scalar)
_near_entry = st.fixed_dictionaries({
    "brick_id": st.sampled_from([2, 3, 4, 5, 6, 9, 10, 12]), "ori": st.integers(0, 1),
    "x": st.integers(-2, 22), "y": st.integers(-2, 22), "z": st.integers(-2, 22)})
_entry = st.one_of(
    st.fixed_dictionaries({}, optional={k: _field for k in ("brick_id", "x", "y", "z", "ori")}), _near_entry)
stablelego_dicts = st.one_of(
    st.dictionaries(st.integers(-3, 30).map(str), _near_entry, max_size=8),
    st.dictionaries(st.one_of(st.integers(-3, 30).map(str), st.text(max_size=4)),
                    st.one_of(_entry, _json_scalar), max_size=8))


@given(st.text())
@FAST
def test_arbitrary_text(data: str) -> None:
    only_parse_errors(data)


@given(st.binary())
@FAST
def test_arbitrary_bytes(data: bytes) -> None:
    only_parse_errors(data)


@given(brickish_text)
@FAST
def test_brick_like_text(data: str) -> None:
    only_parse_errors(data)
    only_parse_errors(data.encode("utf-8", errors="replace"))


@given(ldrish_text)
@FAST
def test_ldraw_like_text(data: str) -> None:
    only_parse_errors(data)


@given(json_values)
@FAST
def test_json_values(value: Any) -> None:
    only_parse_errors(json.dumps(value))
    with contextlib.suppress(ParseError):
        stablelego_to_structure(value)  # already-loaded objects of any shape


@given(stablelego_dicts)
@FAST
def test_stablelego_shaped_dicts(value: dict) -> None:
    for data in (value, json.dumps(value)):
        try:
            structure = stablelego_to_structure(data)
        except ParseError:
            continue
        check_structure(structure)


HOSTILE: list[str | bytes] = [
    "[" * 900_000,
    '{"a":' * 190_000,
    '{"1": ' * 100 + "{}" + "}" * 100,
    '{"1": {"brick_id": ' + "9" * 5000 + "}}",
    '{"' + "9" * 5000 + '": {}}',
    '{"1": {"brick_id": 1e400, "x": 0, "y": 0, "z": 0, "ori": 0}}',
    '"' + "a" * 990_000 + '"',
    "x" * 10_000_000,
    b"\x00" * 10_000_000,
    "\x00" * 900_000,
    "1x1 (0,0,0)\x00\n" * 1000,
    "99999999999x1 (0,0,0)",
    "1x99999999999 (0,0,0)\n1x1 (-99999999999,0,0)\n999999x999999 (0,0,0)\n",
    "9" * 900_000 + "x1 (0,0,0)",
    "1x1 (0,0,0)" + " " * 900_000 + "a",
    "(" + " " * 900_000,
    "(1," * 300_000,
    "```\n" * 250_000,
    "```a\n1x1 (0,0,0)\n" * 60_000,
    "1x (0,0\n" * 120_000,
    "1x1 (0,0,0)\n" * 80_000,
    "1 115 " + "9" * 900_000 + " 0 0 0 0 1 0 1 0 -1 0 0 3001.dat",
    "1 115 20 0 40 0 0 1 0 1 0 -1 0 0 3001.dat\n" * 20_000,
    "1 " * 400_000,
    "\r" * 900_000,
    "\ufeff" * 300_000,
]


def _reward(data: str | bytes) -> None:
    assert 0.0 <= pvpo_reward_from_text(data, TARGET).reward <= 1.0


@pytest.mark.parametrize("index", range(len(HOSTILE)))
@pytest.mark.parametrize("name", [*sorted(PARSERS), "pvpo_reward_from_text"])
def test_hostile_inputs(index: int, name: str) -> None:
    # Indexed, so a failure report names the input instead of printing a megabyte of it.
    fn = PARSERS.get(name, _reward)
    try:
        fn(HOSTILE[index])
    except ParseError as exc:
        assert exc.code
