"""Voxel geometry: occupancy, IoU, symmetric distance, F-score, alignment, reward normalisation."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brickfield.lego.structure import Brick, Structure
from brickfield.lego.textformat import parse_structure
from brickfield.lego.voxels import (
    MAX_ALIGN,
    best_translation,
    chamfer_distance,
    compare,
    distance_reward,
    fscore,
    iou,
    shift_voxels,
    voxelize,
)

from ._strategies import library_bricks, structures

CHAIR = parse_structure("2x4 (4,4,0)\n2x4 (4,4,1)\n1x1 (4,4,2)\n1x1 (5,7,2)\n2x6 (3,4,3)\n")


def moved(structure: Structure, dx: int, dy: int = 0, dz: int = 0) -> Structure:
    return Structure([Brick(b.h, b.w, b.x + dx, b.y + dy, b.z + dz) for b in structure], structure.world_dim)


def brute_distance(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = np.argwhere(a).astype(float), np.argwhere(b).astype(float)
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1))
    return 0.5 * (d.min(axis=1).mean() + d.min(axis=0).mean())


# --- voxelize ---------------------------------------------------------------------------------

def test_voxelize_cells_and_clipping() -> None:
    vox = voxelize(parse_structure("2x4 (0,0,0)\n4x2 (18,0,1)\n3x3 (0,0,0)\n1x1 (0,0,25)\n"))
    assert vox.shape == (20, 20, 20) and vox.dtype == bool
    assert vox[:, :, 0].sum() == 8 + 3  # 2x4 plus the 3x3's extra cells (overlap is a union)
    assert vox[:3, :3, 0].all() and vox[18:, :2, 1].all() and vox[:, :, 1].sum() == 4
    assert vox.sum() == 15
    assert voxelize(Structure([]), 5).shape == (5, 5, 5)


# --- identical / disjoint / empty -------------------------------------------------------------

def test_identical_structures() -> None:
    c = compare(CHAIR, CHAIR)
    assert (c.iou, c.distance, c.fscore, c.reward, c.shift) == (1.0, 0.0, 1.0, 1.0, (0, 0, 0))
    assert c.n_a == c.n_b == int(voxelize(CHAIR).sum())


def test_disjoint_structures() -> None:
    far = moved(CHAIR, 10, 8)
    c = compare(CHAIR, far)
    assert c.iou == 0.0 and c.distance > 5 and c.reward < 0.1 and c.fscore == 0.0


def test_empty_sets() -> None:
    empty = Structure([])
    both = compare(empty, empty)
    assert (both.iou, both.distance, both.fscore, both.reward) == (1.0, 0.0, 1.0, 1.0)
    for a, b in ((empty, CHAIR), (CHAIR, empty)):
        one = compare(a, b, align=2)
        assert (one.iou, one.fscore, one.reward) == (0.0, 0.0, 0.0) and math.isinf(one.distance)
        assert json.loads(json.dumps(one.to_dict()))["distance"] is None


# --- distance ---------------------------------------------------------------------------------

@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=30),
       st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=30))
@settings(max_examples=60)
def test_distance_matches_brute_force(pa: list, pb: list) -> None:
    a = np.zeros((8, 8, 8), bool)
    b = np.zeros((8, 8, 8), bool)
    a[tuple(np.array(pa).T)] = True
    b[tuple(np.array(pb).T)] = True
    c = compare(a, b, tau=1.5)
    assert c.distance == pytest.approx(brute_distance(a, b), abs=1e-9)
    assert compare(b, a).distance == pytest.approx(c.distance, abs=1e-12)  # symmetric
    inter = np.count_nonzero(a & b)
    assert c.iou == pytest.approx(inter / np.count_nonzero(a | b))
    assert 0.0 <= c.fscore <= 1.0 and 0.0 < c.reward <= 1.0


def test_grids_of_different_shapes_are_compared_on_a_common_grid() -> None:
    a = np.zeros((4, 4, 4), bool)
    b = np.zeros((6, 3, 4), bool)
    a[0, 0, 0] = b[0, 0, 0] = True
    b[5, 0, 0] = True
    assert iou(a, b) == 0.5
    assert chamfer_distance(a, b) == pytest.approx(0.5 * (0.0 + 2.5))


def test_fscore_threshold() -> None:
    a = voxelize(parse_structure("1x1 (0,0,0)\n"))
    b = voxelize(parse_structure("1x1 (0,1,0)\n"))
    assert fscore(a, b, tau=0.5) == 0.0
    assert fscore(a, b, tau=1.0) == 1.0


def test_monotone_in_displacement() -> None:
    rewards, distances = [], []
    for k in range(7):
        c = compare(moved(CHAIR, k), CHAIR)
        rewards.append(c.reward)
        distances.append(c.distance)
    assert rewards[0] == 1.0
    assert all(r1 > r2 for r1, r2 in itertools.pairwise(rewards))
    assert all(d1 < d2 for d1, d2 in itertools.pairwise(distances))


# --- alignment --------------------------------------------------------------------------------

@given(structures(library_bricks(lo=3, hi=17, zmax=5), max_size=8).filter(len),
       st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(0, 3)))
@settings(max_examples=40)
def test_alignment_recovers_a_shifted_copy(structure: Structure, shift: tuple[int, int, int]) -> None:
    shifted = moved(structure, *shift)
    c = compare(shifted, structure, align=3)
    assert c.distance == 0.0 and c.iou == 1.0 and c.reward == 1.0
    assert c.shift == tuple(-s for s in shift)
    assert best_translation(shifted, structure, 3) == c.shift
    if shift != (0, 0, 0):
        assert compare(shifted, structure).reward < 1.0


def test_alignment_respects_per_axis_bounds_and_never_hurts() -> None:
    lifted = moved(CHAIR, 1, 0, 2)
    assert compare(lifted, CHAIR, align=(2, 2, 0)).shift[2] == 0
    assert compare(lifted, CHAIR, align=(2, 2, 0)).distance > 0
    assert compare(lifted, CHAIR, align=(2, 2, 2)).distance == 0.0
    assert compare(lifted, CHAIR, align=1).reward >= compare(lifted, CHAIR).reward
    with pytest.raises(ValueError):
        compare(lifted, CHAIR, align=-1)
    with pytest.raises(ValueError, match="alignment bound"):  # refused before any grid is allocated
        compare(lifted, CHAIR, align=(0, 0, MAX_ALIGN + 1))


def test_alignment_tie_break_is_deterministic() -> None:
    a = parse_structure("1x1 (5,5,0)\n")
    b = parse_structure("1x1 (5,4,0)\n1x1 (5,6,0)\n")
    c = compare(a, b, align=1)
    # Shifts (0,-1,0) and (0,1,0) tie on distance and IoU; the lexicographically smaller one wins.
    assert c.shift == (0, -1, 0) and c.distance == pytest.approx(0.5)


# --- helpers ----------------------------------------------------------------------------------

def test_distance_reward_normalisation() -> None:
    assert distance_reward(0.0) == 1.0
    assert distance_reward(2.0) == pytest.approx(math.exp(-1))
    assert distance_reward(2.0, scale=4.0) == pytest.approx(math.exp(-0.5))
    assert distance_reward(math.inf) == 0.0
    for bad in ((-1.0, 2.0), (float("nan"), 2.0), (1.0, 0.0)):
        with pytest.raises(ValueError):
            distance_reward(*bad)


def test_shift_voxels() -> None:
    vox = voxelize(CHAIR)
    assert np.array_equal(shift_voxels(vox, (1, -2, 3)), voxelize(moved(CHAIR, 1, -2, 3)))
    assert not shift_voxels(vox, (25, 0, 0)).any()
    with pytest.raises(ValueError):
        compare(np.zeros((3, 3)), vox)
