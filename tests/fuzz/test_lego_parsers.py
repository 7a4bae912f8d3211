"""Hostile input to every LEGO reader: only typed errors (ParseError, InvalidArgumentError), never a crash.

Readers: ``parse_text`` (lenient and strict), ``parse_structure``, ``stablelego_to_structure`` (text
and decoded data), ``from_ldr``, the voxel loader ``as_voxels`` and the grid size of ``Structure``.
Whatever the lenient parser lets through must also survive the checks, voxelisation and the reward.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from brickfield.core.errors import InvalidArgumentError, ParseError
from brickfield.core.textio import short_repr
from brickfield.lego.checks import check_structure
from brickfield.lego.examples import example_names, load_example
from brickfield.lego.ldraw import from_ldr, to_ldr
from brickfield.lego.rewards import pvpo_reward_from_text
from brickfield.lego.structure import MAX_WORLD_DIM, Structure, world_dims
from brickfield.lego.textformat import parse_structure, parse_text, stablelego_json, stablelego_to_structure
from brickfield.lego.voxels import as_voxels, compare, voxelize
from tests.fuzz._common import (
    FAST,
    HUGE_NUMBERS,
    LONG,
    TEN_MB,
    deep_list,
    deep_texts,
    expect_typed,
    hostile,
)

STRUCTURES = [load_example(n) for n in example_names()]
SAMPLES = ([s.to_text() for s in STRUCTURES] + [to_ldr(s) for s in STRUCTURES]
           + [stablelego_json(s) for s in STRUCTURES] + ["```\n2x4 (0,0,0)\n```", "- 1x2 [3, 4, 5];"])
TARGET = STRUCTURES[0]


def lego_readers(data: Any) -> None:
    """Every reader on ``data``: a ParseError or a result, and the lenient result survives the rest."""
    for strict in (False, True):
        expect_typed(parse_structure, data, strict=strict)
    expect_typed(stablelego_to_structure, data)
    expect_typed(from_ldr, data)
    try:
        parsed = parse_text(data)
    except ParseError as exc:
        assert exc.code
        return
    report = check_structure(parsed)
    assert len(report.reasons) >= len(parsed.structure)
    assert voxelize(parsed.structure).shape == parsed.structure.world_dim
    assert 0.0 <= compare(parsed.structure, TARGET).reward <= 1.0
    assert 0.0 <= pvpo_reward_from_text(data, TARGET).reward <= 1.0


@FAST
@given(hostile(SAMPLES))
def test_hostile_text_and_bytes(data: str | bytes) -> None:
    lego_readers(data)


@pytest.mark.fuzz
@LONG
@given(hostile(SAMPLES))
def test_fuzz_hostile_text_and_bytes(data: str | bytes) -> None:
    lego_readers(data)


_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                    st.sampled_from([float("inf"), float("nan"), 1e308]),
                    st.sampled_from([400, -400, 5000]).map(lambda k: 10**abs(k) * (1 if k > 0 else -1)))
_decoded = st.recursive(_scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=4), st.sampled_from(["1", "2", "brick_id", "x", "ori"])),
                    kids, max_size=5)), max_leaves=20)
_entry = st.fixed_dictionaries({}, optional={k: _scalar for k in ("brick_id", "x", "y", "z", "ori")})
_stablelego_like = st.dictionaries(
    st.one_of(st.integers(-3, 10).map(str), st.text(max_size=3), st.floats(), st.integers()),
    st.one_of(_entry, _scalar), max_size=6)


@FAST
@given(st.one_of(_decoded, _stablelego_like))
def test_decoded_stablelego_data(value: Any) -> None:
    expect_typed(stablelego_to_structure, value)
    try:
        text = json.dumps(value)
    except ValueError:   # json.dumps refuses an int over 4300 digits: no text to parse
        return
    expect_typed(stablelego_to_structure, text)


@pytest.mark.fuzz
@LONG
@given(st.one_of(_decoded, _stablelego_like))
def test_fuzz_decoded_stablelego_data(value: Any) -> None:
    test_decoded_stablelego_data.hypothesis.inner_test(value)   # type: ignore[attr-defined]


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deep_nesting(depth: int) -> None:
    for text in deep_texts(depth):
        lego_readers(text)
    expect_typed(stablelego_to_structure, {"1": deep_list(depth)})
    expect_typed(stablelego_to_structure, {"1": {"brick_id": deep_list(depth)}})


NUMBER_TEMPLATES = ("{n}x2 (0,0,0)", "2x2 ({n},0,0)",
                    '{{"1": {{"brick_id": {n}, "x": 0, "y": 0, "z": 0, "ori": 0}}}}',
                    '{{"1": {{"brick_id": 9, "x": {n}, "y": 0, "z": 0, "ori": 0}}}}',
                    "1 115 {n} 0 10 0 0 1 0 1 0 -1 0 0 3001.dat",
                    "1 115 10 0 10 {n} 0 1 0 1 0 -1 0 0 3001.dat")


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=[short_repr(n, 12) for n in HUGE_NUMBERS])
def test_huge_numbers_in_every_field(number: str) -> None:
    for template in NUMBER_TEMPLATES:
        lego_readers(template.format(n=number))


@pytest.mark.parametrize("data", ["x" * TEN_MB, b"\x00" * TEN_MB, "2x4 (0,0,0)\n" * (TEN_MB // 12 + 1),
                                  "\ufeff" + "[" * TEN_MB], ids=["x", "nul", "bricks", "brackets"])
def test_ten_megabytes_refused_as_too_large(data: str | bytes) -> None:
    for fn in (parse_text, parse_structure, stablelego_to_structure, from_ldr):
        exc = expect_typed(fn, data)
        assert exc is not None and exc.code == "too_large"


BAD_WORLDS = [10_000, (20, 20, 10_000), MAX_WORLD_DIM + 1, 0, -1, (1, 2), "20", True, float("inf"), 1e400,
              [20, 20, float("nan")], (20.5, 1, 1), None, {"x": 1}, deep_list(100_000), 10**5000]


@pytest.mark.parametrize("world_dim", BAD_WORLDS, ids=[short_repr(w) for w in BAD_WORLDS])
def test_world_size_is_bounded(world_dim: Any) -> None:
    exc = expect_typed(world_dims, world_dim, error=InvalidArgumentError)
    assert exc is not None and isinstance(exc, ValueError)
    builds = [lambda: Structure((), world_dim), lambda: parse_text("1x1 (0,0,0)", world_dim=world_dim),
              lambda: from_ldr("", world_dim=world_dim)]
    if world_dim is not None:   # voxelize's None means the structure's own grid
        builds.append(lambda: voxelize(TARGET, world_dim))
    for build in builds:
        with pytest.raises(InvalidArgumentError):
            build()
    assert world_dims(MAX_WORLD_DIM) == (MAX_WORLD_DIM,) * 3


BAD_GRIDS = [np.zeros((2, 2)), np.zeros((1, 1, 1, 1)), [[[1], [1, 2]]], "abc", np.array([[["a"]]]),
             np.array([[[None]]], dtype=object), None, np.zeros((MAX_WORLD_DIM + 1, 1, 1), dtype=bool),
             deep_list(100_000)]


@pytest.mark.parametrize("grid", BAD_GRIDS, ids=range(len(BAD_GRIDS)))
def test_voxel_loader_refuses_non_grids(grid: Any) -> None:
    exc = expect_typed(as_voxels, grid, error=InvalidArgumentError)
    assert exc is not None and exc.code in ("bad_voxels", "world_too_large")
    with pytest.raises(InvalidArgumentError):
        compare(grid, TARGET)
