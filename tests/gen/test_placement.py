"""Fast-mode semantic masks agree with BuildState.can_add by brute force."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from brickfield.gen.automaton import TokenEffect
from brickfield.gen.grammar import CharState
from brickfield.gen.placement import PlacementOracle
from brickfield.lego.checks import BuildState
from brickfield.lego.library import ALLOWED_DIMENSIONS
from brickfield.lego.structure import Brick
from tests.lego._strategies import library_bricks

WORLD = 6  # small grid so brute force over every placement is cheap


def _placeable(state: BuildState, support: bool) -> dict[str, dict[str, dict[str, set[str]]]]:
    """truth[dim][x][y] = every z where the brick can be added (brute force over can_add)."""
    out: dict[str, dict[str, dict[str, set[str]]]] = {}
    for d in ALLOWED_DIMENSIONS:
        h, w = (int(v) for v in d.split("x"))
        for x, y, z in itertools.product(range(WORLD), repeat=3):
            if state.can_add(Brick(h, w, x, y, z), check_floating=support) is None:
                out.setdefault(d, {}).setdefault(str(x), {}).setdefault(str(y), set()).add(str(z))
    return out


@settings(max_examples=40)
@given(st.lists(library_bricks(world=WORLD), max_size=12), st.booleans())
def test_allowed_values_are_exactly_the_feasible_prefixes(bricks, support):
    state = BuildState(WORLD)
    for b in bricks:
        state.try_add(b)
    oracle = PlacementOracle(state, ALLOWED_DIMENSIONS, require_support=support)
    truth = _placeable(state, support)
    assert oracle.allowed(()) == set(truth)
    for d in ALLOWED_DIMENSIONS:
        xs = truth.get(d, {})
        assert oracle.allowed((d,)) == set(xs)
        for x in map(str, range(WORLD)):
            assert oracle.allowed((d, x)) == set(xs.get(x, {}))
            for y in map(str, range(WORLD)):
                assert oracle.allowed((d, x, y)) == xs.get(x, {}).get(y, set())


def test_permits_checks_completed_values_and_partial_prefixes():
    state = BuildState(20)
    state.add(Brick(2, 4, 0, 0, 0))
    oracle = PlacementOracle(state, ALLOWED_DIMENSIONS)
    # `2x4 (0,0,` then z: 0 collides, 1 is free.
    assert not oracle.permits(TokenEffect((("z", "0"),), CharState(None, ")")), ("2x4", "0", "0"))
    assert oracle.permits(TokenEffect((("z", "1"),), CharState(None, ")")), ("2x4", "0", "0"))
    # x = 19 leaves the grid for a 2-long brick; "1" is still a prefix of 10..18.
    assert not oracle.permits(TokenEffect((("x", "19"),), CharState(None, "")), ("2x4",))
    assert oracle.permits(TokenEffect((), CharState("x", "1")), ("2x4",))
    assert not oracle.permits(TokenEffect((), CharState("x", "19")), ("2x4",))
    # A token that completes x and starts y is checked on both.
    assert oracle.permits(TokenEffect((("x", "3"),), CharState("y", "1")), ("2x4",))
    assert not oracle.permits(TokenEffect((("x", "3"),), CharState("y", "17")), ("2x4",))


def test_a_full_grid_leaves_no_brick():
    state = BuildState(2)
    state.occupied[:] = True
    oracle = PlacementOracle(state, ALLOWED_DIMENSIONS)
    assert not oracle.any_brick()
    state.occupied[:] = False
    oracle.refresh()
    assert oracle.allowed(()) == {"1x1", "1x2", "2x1", "2x2"}
