"""PVPO rewards: R_phys, R_vox, the λ mix and the never-raising text entry point."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings

from brickfield.lego.checks import check_structure
from brickfield.lego.rewards import pvpo_details, pvpo_reward, pvpo_reward_from_text, r_phys, r_vox
from brickfield.lego.structure import Brick, Structure
from brickfield.lego.textformat import parse_structure, parse_text
from brickfield.lego.voxels import voxelize

from ._strategies import any_bricks, structures

TARGET_TEXT = "2x4 (4,4,0)\n2x4 (4,4,1)\n2x2 (4,4,2)\n2x2 (4,5,3)\n"
TARGET = parse_structure(TARGET_TEXT)


def test_identical_valid_structure_gets_full_reward() -> None:
    assert pvpo_reward(TARGET, TARGET) == 1.0
    assert r_phys(TARGET) == 1.0 and r_vox(TARGET, TARGET) == 1.0


def test_r_phys_is_fraction_of_valid_items() -> None:
    s = parse_structure("2x4 (4,4,0)\n2x2 (4,4,0)\n2x4 (4,4,1)\n1x1 (15,15,9)\n")
    assert r_phys(s) == 0.5
    assert r_phys(check_structure(s)) == 0.5
    assert r_phys(parse_text("2x4 (4,4,0)\n2x4 (4,4\n")) == 0.5  # a malformed line counts as invalid
    assert r_phys(Structure([])) == 0.0


def test_lambda_endpoints_and_mix() -> None:
    cand = parse_structure("2x4 (4,4,0)\n2x2 (4,4,0)\n2x4 (6,4,1)\n")
    rp, rv = r_phys(cand), r_vox(cand, TARGET)
    assert 0 < rp < 1 and 0 < rv < 1
    assert pvpo_reward(cand, TARGET, lam=0.0) == rp
    assert pvpo_reward(cand, TARGET, lam=1.0) == rv
    assert pvpo_reward(cand, TARGET) == pytest.approx(0.5 * rp + 0.5 * rv)
    assert pvpo_reward(cand, TARGET, lam=0.25) == pytest.approx(0.75 * rp + 0.25 * rv)
    for lam in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError):
            pvpo_reward(cand, TARGET, lam=lam)


def test_valid_but_wrong_shape_scores_below_right_shape() -> None:
    # PhysHack: a perfectly valid build of the wrong shape must not score like the right one.
    wrong = parse_structure("2x6 (12,12,0)\n2x6 (12,12,1)\n")
    assert r_phys(wrong) == 1.0
    assert pvpo_reward(wrong, TARGET) < pvpo_reward(TARGET, TARGET)
    nearer = parse_structure("2x4 (5,4,0)\n2x4 (5,4,1)\n2x2 (5,4,2)\n2x2 (5,5,3)\n")
    assert pvpo_reward(wrong, TARGET) < pvpo_reward(nearer, TARGET) < 1.0
    assert pvpo_reward(nearer, TARGET, align=1) == 1.0


def test_target_forms_are_equivalent() -> None:
    cand = parse_structure("2x4 (5,4,0)\n2x4 (5,4,1)\n")
    expected = pvpo_reward(cand, TARGET)
    assert pvpo_reward(cand, TARGET_TEXT) == expected
    assert pvpo_reward(cand, voxelize(TARGET)) == expected
    with pytest.raises(Exception, match="ill_formatted"):
        pvpo_reward(cand, "2x4 (0,0\n")


def test_from_text_matches_structure_reward() -> None:
    raw = f"Here is the model:\n```\n{TARGET_TEXT}```\n"
    res = pvpo_reward_from_text(raw, TARGET)
    assert res.reason is None and res.reward == 1.0
    assert pvpo_reward_from_text(raw.encode(), TARGET).reward == 1.0
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["checks"]["n_items"] == 4 and d["geometry"]["iou"] == 1.0


def test_from_text_bad_lines_lower_r_phys() -> None:
    res = pvpo_reward_from_text(TARGET_TEXT + "2x4 (4,4\n", TARGET)
    assert res.r_phys == 0.8 and res.r_vox == 1.0 and res.reward == pytest.approx(0.9)


@pytest.mark.parametrize("text, reason", [
    ("I'm sorry, I can't build that.", "no_bricks"),
    ("", "no_bricks"),
    ("1x1 (0,0,0)\n" * 200_000, "too_large"),
    (b"\xff" * 2_000_000, "too_large"),
])
def test_unusable_text_gets_zero_with_reason(text: str | bytes, reason: str) -> None:
    res = pvpo_reward_from_text(text, TARGET)
    assert (res.reward, res.r_phys, res.r_vox, res.reason) == (0.0, 0.0, 0.0, reason)
    assert res.message


def test_from_text_passes_parser_limits() -> None:
    res = pvpo_reward_from_text("1x1 (0,0,0)\n" * 5, TARGET, max_bricks=3)
    assert res.reward == 0.0 and res.reason == "too_many_bricks"


@given(structures(any_bricks(), max_size=15))
@settings(max_examples=60)
def test_rewards_are_bounded_and_deterministic(structure: Structure) -> None:
    a = pvpo_details(structure, TARGET, align=1)
    b = pvpo_details(structure, TARGET, align=1)
    assert a.to_dict() == b.to_dict()
    assert 0.0 <= a.reward <= 1.0 and 0.0 <= a.r_phys <= 1.0 and 0.0 <= a.r_vox <= 1.0
    assert a.reward == pytest.approx(0.5 * a.r_phys + 0.5 * a.r_vox)


def test_more_displacement_lower_reward() -> None:
    rewards = [pvpo_reward(Structure([Brick(b.h, b.w, b.x + k, b.y, b.z) for b in TARGET]), TARGET)
               for k in range(6)]
    assert rewards[0] == 1.0
    assert all(r1 > r2 for r1, r2 in itertools.pairwise(rewards))
