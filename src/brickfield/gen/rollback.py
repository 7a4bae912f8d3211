"""Physics-aware rollback: where to cut an unstable structure before generating again.

BrickGPT's rule (research/lego_anchors.md §1.4, step 3): analyse the finished structure; if it is
unstable, give every voxel the score of the brick occupying it and truncate before the first brick,
in generation order, whose voxels hold a score >= 1; repeat on the prefix until it is stable. Here a
floating brick counts as failing too (BrickGPT's LP gives it score 1 anyway: nothing holds its
weight). In a collision-free structure "the first brick touching a failing voxel" is the first
failing brick itself; the voxel grid is kept so the rule stays BrickGPT's even if a caller passes a
structure with overlaps (where BrickGPT's analysis scores everything 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from brickfield.lego.stability import StabilityResult, analyze_stability
from brickfield.lego.structure import Structure

Analyzer = Callable[[Structure], StabilityResult]
#: What to return when the last attempt is still unstable: that attempt (BrickGPT) or its stable prefix.
OnUnstable = Literal["last", "stable_prefix"]


def first_unstable_brick(structure: Structure, result: StabilityResult) -> int | None:
    """Index of the first brick (generation order) covering a voxel whose brick fails, or None."""
    failing = (result.scores >= 1.0) | result.floating
    if not failing.any():
        return None
    dx, dy, dz = structure.world_dim
    grid = np.zeros((dx, dy, dz), dtype=bool)
    spans = []
    for b, bad in zip(structure.bricks, failing.tolist(), strict=True):
        span = (slice(max(b.x, 0), b.x + b.h), slice(max(b.y, 0), b.y + b.w), min(max(b.z, 0), dz - 1))
        spans.append(span)
        if bad:
            grid[span] = True
    for i, span in enumerate(spans):
        if grid[span].any():
            return i
    return 0  # failing bricks with no voxel on the grid: nothing before them can be trusted


@dataclass
class RollbackCut:
    """The outcome of BrickGPT's truncation: how many bricks to keep, and the analyses it took."""

    keep: int
    results: list[StabilityResult] = field(default_factory=list)
    seconds: float = 0.0


def stable_prefix(structure: Structure, result: StabilityResult | None = None,
                  analyze: Analyzer = analyze_stability) -> RollbackCut:
    """Cut before the first unstable brick, re-analyse, and repeat until the prefix is stable
    (an empty prefix is stable). ``result`` is the analysis of ``structure`` if already known."""
    t0 = time.perf_counter()
    bricks = structure.bricks
    results: list[StabilityResult] = []
    current = structure
    res = result if result is not None else analyze(current)
    while True:
        results.append(res)
        cut = None if res.stable else first_unstable_brick(current, res)
        if cut is None:
            if res.stable:
                break
            cut = len(current) - 1  # unstable with no failing brick named: drop the last one
        bricks = bricks[:cut]
        current = Structure(bricks, structure.world_dim)
        if not bricks:
            break
        res = analyze(current)
    return RollbackCut(len(bricks), results, time.perf_counter() - t0)
