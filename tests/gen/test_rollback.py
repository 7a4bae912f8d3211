"""BrickGPT's physics rollback rule: cut before the first failing brick, repeat until stable."""

from __future__ import annotations

import numpy as np

from brickfield.gen.rollback import first_unstable_brick, stable_prefix
from brickfield.lego.stability import StabilityResult, analyze_stability
from brickfield.lego.structure import Brick, Structure

TOWER = [Brick(2, 4, 0, 0, 0), Brick(2, 4, 0, 0, 1), Brick(2, 2, 0, 0, 2)]
FLOATER = Brick(1, 1, 10, 10, 5)


def _result(scores: list[float], floating: list[bool] | None = None) -> StabilityResult:
    n = len(scores)
    fl = np.array(floating or [False] * n)
    sc = np.array(scores, dtype=float)
    return StabilityResult(scores=sc, stable=bool(not fl.any() and (sc < 1).all()), status="optimal",
                           max_pull=np.zeros(n), residuals=np.zeros(n), floating=fl, fail_kind=[""] * n,
                           fail_kinds=(), objective=0.0, solver="", seconds=0.0, capacity=0.98)


def test_a_stable_structure_has_no_cut():
    s = Structure(TOWER)
    res = analyze_stability(s)
    assert res.stable
    assert first_unstable_brick(s, res) is None
    cut = stable_prefix(s, res)
    assert cut.keep == 3 and len(cut.results) == 1


def test_cut_before_the_first_failing_brick_in_generation_order():
    s = Structure([*TOWER[:2], FLOATER, TOWER[2]])
    res = analyze_stability(s)
    assert not res.stable
    assert first_unstable_brick(s, res) == 2
    cut = stable_prefix(s, res)
    assert cut.keep == 2
    assert cut.results[-1].stable


def test_floating_counts_as_failing_even_with_a_low_score():
    s = Structure([TOWER[0], FLOATER])
    assert first_unstable_brick(s, _result([0.0, 0.2], [False, True])) == 1


def test_repeat_until_the_prefix_is_stable():
    s = Structure([TOWER[0], Brick(1, 8, 0, 4, 1), FLOATER, Brick(1, 1, 0, 10, 2)])
    # Scripted analyses: the full structure fails at brick 2; without it (and the rest), brick 1
    # fails too (say it lost a counterweight), so the rule cuts again.
    script = {4: _result([0, 0, 1, 0]), 2: _result([0, 1]), 1: _result([0])}
    seen: list[int] = []

    def analyze(st: Structure) -> StabilityResult:
        seen.append(len(st))
        return script[len(st)]

    cut = stable_prefix(s, analyze=analyze)
    assert cut.keep == 1
    assert seen == [4, 2, 1]


def test_everything_failing_cuts_to_empty():
    s = Structure([FLOATER, TOWER[0]])
    cut = stable_prefix(s, _result([1, 0], [True, False]))
    assert cut.keep == 0
