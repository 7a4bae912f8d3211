"""Hypothesis strategies shared by the LEGO tests."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from brickfield.lego.library import ALLOWED_DIMENSIONS
from brickfield.lego.structure import Brick, Structure

#: Shared reference material (read-only); tests using it skip when it is absent.
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REFERENCE = SHARED / "reference"

LIBRARY_DIMS: list[tuple[int, int]] = [tuple(int(v) for v in d.split("x")) for d in ALLOWED_DIMENSIONS]


@st.composite
def library_bricks(draw, world: int = 20, lo: int = 0, hi: int | None = None,
                   zmax: int | None = None) -> Brick:
    """An in-bounds library brick with its min corner in [lo, hi) (footprint kept inside `world`)."""
    h, w = draw(st.sampled_from(LIBRARY_DIMS))
    top = world if hi is None else hi
    x = draw(st.integers(lo, max(lo, top - h)))
    y = draw(st.integers(lo, max(lo, top - w)))
    z = draw(st.integers(0, (world - 1) if zmax is None else zmax))
    return Brick(h, w, x, y, z)


@st.composite
def any_bricks(draw) -> Brick:
    """A brick that may be off-library or out of bounds (small numbers, negatives included)."""
    h = draw(st.integers(0, 9))
    w = draw(st.integers(0, 9))
    x = draw(st.integers(-3, 22))
    y = draw(st.integers(-3, 22))
    z = draw(st.integers(-1, 21))
    return Brick(h, w, x, y, z)


def structures(brick_strategy=None, max_size: int = 25) -> st.SearchStrategy[Structure]:
    """Structures built from `brick_strategy` (default: library bricks anywhere in 20^3)."""
    strategy = library_bricks() if brick_strategy is None else brick_strategy
    return st.lists(strategy, max_size=max_size).map(Structure)
