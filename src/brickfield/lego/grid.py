"""Voxel occupancy of a structure and the cheap relations built on it (collisions, floating, support).

Only cells inside the world grid are recorded; out-of-bounds bricks are a separate check. Building the
grid costs O(total footprint); every query below is vectorised over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brickfield.lego.structure import Structure


@dataclass(frozen=True)
class Occupancy:
    """`owner[x, y, z]` = index of the first brick occupying the cell, or -1.

    `colliding[i]` is True when brick i shares a cell with an earlier brick (BrickGPT's collision
    check rejects the later brick, so the earlier one keeps the cell).
    """

    owner: np.ndarray
    colliding: np.ndarray
    collision_pairs: tuple[tuple[int, int], ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.owner.shape  # type: ignore[return-value]


def _clipped_footprint(b, dims):
    x0, x1 = max(b.x, 0), min(b.x + b.h, dims[0])
    y0, y1 = max(b.y, 0), min(b.y + b.w, dims[1])
    return x0, x1, y0, y1


def occupancy(structure: Structure) -> Occupancy:
    """Rasterise every brick into the grid, recording which bricks collide with earlier ones."""
    dims = structure.world_dim
    owner = np.full(dims, -1, dtype=np.int32)
    colliding = np.zeros(len(structure), dtype=bool)
    pairs: list[tuple[int, int]] = []
    for i, b in enumerate(structure.bricks):
        if not 0 <= b.z < dims[2] or b.h <= 0 or b.w <= 0:
            continue
        x0, x1, y0, y1 = _clipped_footprint(b, dims)
        if x0 >= x1 or y0 >= y1:
            continue
        patch = owner[x0:x1, y0:y1, b.z]
        taken = patch[patch >= 0]
        if taken.size:
            colliding[i] = True
            pairs.extend((int(j), i) for j in np.unique(taken))
            patch[patch < 0] = i
        else:
            patch[...] = i
    return Occupancy(owner, colliding, tuple(pairs))


def floating_mask(structure: Structure, occ: Occupancy | None = None) -> np.ndarray:
    """BrickGPT's floating test per brick: z > 0 and no occupied cell directly below OR above
    its footprint (a brick held only from above counts as supported)."""
    occ = occ or occupancy(structure)
    dims = structure.world_dim
    out = np.zeros(len(structure), dtype=bool)
    for i, b in enumerate(structure.bricks):
        if b.z <= 0:
            continue
        x0, x1, y0, y1 = _clipped_footprint(b, dims)
        below = b.z - 1 < dims[2] and (occ.owner[x0:x1, y0:y1, b.z - 1] >= 0).any()
        above = b.z + 1 < dims[2] and (occ.owner[x0:x1, y0:y1, b.z + 1] >= 0).any()
        out[i] = not (below or above)
    return out


def support_pairs(structure: Structure, occ: Occupancy | None = None) -> np.ndarray:
    """(K, 2) array of unique (lower, upper) brick index pairs whose footprints overlap in
    adjacent layers, i.e. connected through at least one stud."""
    occ = occ or occupancy(structure)
    lo = occ.owner[:, :, :-1]
    hi = occ.owner[:, :, 1:]
    mask = (lo >= 0) & (hi >= 0)
    if not mask.any():
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.stack([lo[mask], hi[mask]], axis=1).astype(np.int64)
    return np.unique(pairs, axis=0)


def grounded_mask(structure: Structure, occ: Occupancy | None = None) -> np.ndarray:
    """True for bricks connected to the ground (layer 0) through stud overlaps (any direction)."""
    occ = occ or occupancy(structure)
    n = len(structure)
    pairs = support_pairs(structure, occ)
    parent = np.arange(n + 1)  # index n is the ground node

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    for i, b in enumerate(structure.bricks):
        if b.z == 0 and not occ.colliding[i]:
            union(i, n)
    for a, b in pairs:
        union(int(a), int(b))
    ground = find(n)
    return np.array([find(i) == ground for i in range(n)], dtype=bool)
