"""Random designers: seeded samples of valid construction trees for a level's allowed blocks.

A sample grows from a start tree (the bare starting block by default) with the growth operators of
``mutations`` (a block on a free attach point, a mirrored pair, a linear block between two points),
each step kept only when the tree stays spatially valid and within the space's block cap. So every
sample is file-valid and spatially valid before any simulation; the size of a sample is drawn
uniformly from ``[min_blocks, max_blocks]`` (fewer when the tree runs out of room).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from brickfield.agents.offline.mutations import ADD_OPS, Operators
from brickfield.agents.offline.space import DesignSpace, bare_tree
from brickfield.machines.design.tree import ConstructionTree

__all__ = ["RandomDesigner"]


@dataclass
class RandomDesigner:
    """Samples random valid trees of one design space.

    ``min_blocks``/``max_blocks`` bound the sampled size (root included; ``max_blocks`` is also capped
    by the space); ``op_weights`` mixes the growth operators; ``start`` is the tree samples grow from.
    """

    space: DesignSpace
    min_blocks: int = 3
    max_blocks: int = 16
    op_weights: Mapping[str, float] = field(default_factory=lambda: dict(ADD_OPS))
    start: ConstructionTree | None = None
    max_failures: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.min_blocks <= self.max_blocks:
            raise ValueError(f"need 1 <= min_blocks <= max_blocks, got {self.min_blocks}, {self.max_blocks}")
        self._ops = Operators(self.space, self.op_weights)
        self._start = self.space.inspect(self.start or bare_tree())

    def sample(self, rng: np.random.Generator) -> ConstructionTree:
        """One random valid tree."""
        hi = min(self.max_blocks, self.space.max_blocks)
        target = int(rng.integers(min(self.min_blocks, hi), hi + 1))
        ins, failures = self._start, 0
        while len(ins.tree) < target and failures < self.max_failures:
            nxt = self._ops.attempt(ins, self._ops.propose(ins, rng))
            if nxt is None or len(nxt.tree) > hi:
                failures += 1
                continue
            ins = nxt
        return ins.tree

    def samples(self, n: int, seed: int = 0) -> list[ConstructionTree]:
        """``n`` random trees from ``seed`` (the same seed gives the same trees)."""
        rng = np.random.default_rng(seed)
        return [self.sample(rng) for _ in range(n)]
