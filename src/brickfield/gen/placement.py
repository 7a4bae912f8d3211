"""Semantic masks for ``fast`` decoding: which field values can still become a placeable brick.

For every library size ``d = HxW`` the oracle keeps ``free[d][x, y, z]``: the brick ``d`` at
``(x, y, z)`` lies inside the grid and hits no placed brick (optionally: and is not floating). It
is computed with one 2-D summed-area table of the occupancy per refresh, so each size costs a few
numpy slices. Fields are decided in line order, so the allowed values of each field are those
that leave at least one completion:

* ``dim`` allowed iff ``free[d].any()``;
* ``x`` given ``d`` iff ``free[d][x].any()``; ``y`` given ``d, x`` iff ``free[d][x, y].any()``;
* ``z`` given ``d, x, y`` iff ``free[d][x, y, z]``.

A partly typed value (``1`` of ``12``) is allowed iff some allowed value starts with it. A line
decoded under these masks is therefore always placeable: fast mode never rejects a brick.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brickfield.gen.automaton import TokenEffect
from brickfield.gen.grammar import FIELDS
from brickfield.lego.checks import BuildState


def _window_counts(summed: np.ndarray, h: int, w: int) -> np.ndarray:
    """Occupied cells under an h x w footprint at every in-grid min corner, per layer."""
    return summed[h:, w:] - summed[:-h, w:] - summed[h:, :-w] + summed[:-h, :-w]


class PlacementOracle:
    """Allowed field values given a :class:`BuildState` (call :meth:`refresh` after it changes)."""

    def __init__(self, state: BuildState, dims: Sequence[str], *, require_support: bool = False) -> None:
        self.state = state
        self.dims = tuple(dims)
        self.require_support = require_support
        self._sizes = {d: tuple(int(v) for v in d.split("x")) for d in self.dims}
        self.refresh()

    def refresh(self) -> None:
        """Forget every cached mask (the occupancy changed)."""
        occ = self.state.occupied
        dx, dy, dz = occ.shape
        self._summed = np.zeros((dx + 1, dy + 1, dz), dtype=np.int32)
        self._summed[1:, 1:] = occ.cumsum(0, dtype=np.int32).cumsum(1)
        self._free: dict[str, np.ndarray] = {}
        self._allowed: dict[tuple[str, ...], frozenset[str]] = {}
        self._prefixes: dict[tuple[str, ...], frozenset[str]] = {}

    def free(self, dim: str) -> np.ndarray:
        """``free[x, y, z]`` for size ``dim`` (shape ``(dx-H+1, dy-W+1, dz)``, possibly empty)."""
        if dim not in self._free:
            h, w = self._sizes[dim]
            dx, dy, dz = self.state.dims
            if h > dx or w > dy:
                self._free[dim] = np.zeros((0, 0, dz), dtype=bool)
            else:
                counts = _window_counts(self._summed, h, w)
                ok = counts == 0
                if self.require_support:
                    touching = counts > 0
                    support = np.zeros_like(ok)
                    support[:, :, 0] = True  # the ground holds layer 0
                    support[:, :, 1:] |= touching[:, :, :-1]  # a brick directly below
                    support[:, :, :-1] |= touching[:, :, 1:]  # held from above counts (BrickGPT)
                    ok &= support
                self._free[dim] = ok
        return self._free[dim]

    def allowed(self, known: tuple[str, ...]) -> frozenset[str]:
        """Allowed values of the next field, ``FIELDS[len(known)]``, given the values before it."""
        if known not in self._allowed:
            if not known:
                vals = [d for d in self.dims if self.free(d).any()]
            else:
                f = self.free(known[0])
                idx = tuple(int(v) for v in known[1:])
                if any(i >= n for i, n in zip(idx, f.shape, strict=False)):
                    vals = []  # a coordinate past the last in-grid corner: nothing completes it
                else:
                    f = f[idx]
                    if f.ndim > 1:
                        f = f.any(axis=tuple(range(1, f.ndim)))
                    vals = [str(i) for i in f.nonzero()[0]]
            self._allowed[known] = frozenset(vals)
        return self._allowed[known]

    def prefixes(self, known: tuple[str, ...]) -> frozenset[str]:
        """Every prefix of an allowed value of the next field."""
        if known not in self._prefixes:
            self._prefixes[known] = frozenset(v[:k] for v in self.allowed(known) for k in range(len(v) + 1))
        return self._prefixes[known]

    def permits(self, effect: TokenEffect, known: tuple[str, ...]) -> bool:
        """True if a token with ``effect``, typed after the line's completed values ``known``, keeps
        the line completable into a placeable brick."""
        for field, value in effect.completed:
            if FIELDS[len(known)] != field or value not in self.allowed(known):
                return False
            known = (*known, value)
        end = effect.end
        if end.field is not None and end.prefix:
            return end.prefix in self.prefixes(known)
        return True

    def any_brick(self) -> bool:
        """True if at least one library brick can still be placed."""
        return bool(self.allowed(()))
