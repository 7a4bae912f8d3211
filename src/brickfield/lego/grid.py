"""Voxel occupancy of a structure and the cheap relations built on it (collisions, floating, support).

Only cells inside the world grid are recorded; out-of-bounds bricks are a separate check. Building the
grid costs O(total footprint); every query below is vectorised over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

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


def _footprints(arr: np.ndarray, dims: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Clipped footprints of all bricks (``_clipped_footprint`` vectorised): x0, x1, y0, y1."""
    x0 = np.maximum(arr[:, 2], 0)
    x1 = np.minimum(arr[:, 2] + arr[:, 0], dims[0])
    y0 = np.maximum(arr[:, 3], 0)
    y1 = np.minimum(arr[:, 3] + arr[:, 1], dims[1])
    return x0, x1, y0, y1


#: Below this many bricks the per-brick loops are faster than the vectorised versions.
_SMALL = 48


def _occupancy_loop(structure: Structure) -> Occupancy:
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


def occupancy(structure: Structure) -> Occupancy:
    """Rasterise every brick into the grid, recording which bricks collide with earlier ones."""
    dims = structure.world_dim
    n = len(structure)
    if n < _SMALL:
        return _occupancy_loop(structure)
    owner = np.full(dims, -1, dtype=np.int32)
    colliding = np.zeros(n, dtype=bool)
    arr = structure.arrays()
    x0, x1, y0, y1 = _footprints(arr, dims)
    z = arr[:, 4]
    nx = np.where((z >= 0) & (z < dims[2]) & (arr[:, 0] > 0) & (arr[:, 1] > 0), np.maximum(x1 - x0, 0), 0)
    ny = np.maximum(y1 - y0, 0)
    area = nx * ny
    bid = np.repeat(np.arange(n), area)
    local = np.arange(bid.size) - np.repeat(np.cumsum(area) - area, area)
    cell = ((x0[bid] + local // ny[bid]) * dims[1] + y0[bid] + local % ny[bid]) * dims[2] + z[bid]
    # The earliest brick keeps a cell (bricks are placed in order); a later one sharing it collides.
    first = np.full(owner.size, n, dtype=np.int64)
    np.minimum.at(first, cell, bid)
    flat = owner.reshape(-1)
    flat[cell] = first[cell]
    earlier = first[cell]
    hit = earlier != bid
    if not hit.any():
        return Occupancy(owner, colliding, ())
    colliding[bid[hit]] = True
    later, earliest = np.divmod(np.unique(bid[hit] * n + earlier[hit]), n)  # sorted by (later, earlier)
    return Occupancy(owner, colliding, tuple((int(j), int(i)) for i, j in zip(later, earliest, strict=True)))


def _floating_one(b, occ: Occupancy, dims) -> bool:
    x0, x1, y0, y1 = _clipped_footprint(b, dims)
    below = b.z - 1 < dims[2] and (occ.owner[x0:x1, y0:y1, b.z - 1] >= 0).any()
    above = b.z + 1 < dims[2] and (occ.owner[x0:x1, y0:y1, b.z + 1] >= 0).any()
    return not (below or above)


def floating_mask(structure: Structure, occ: Occupancy | None = None) -> np.ndarray:
    """BrickGPT's floating test per brick: z > 0 and no occupied cell directly below OR above
    its footprint (a brick held only from above counts as supported)."""
    occ = occ or occupancy(structure)
    dims = structure.world_dim
    n = len(structure)
    out = np.zeros(n, dtype=bool)
    if n < _SMALL:
        for i, b in enumerate(structure.bricks):
            out[i] = b.z > 0 and _floating_one(b, occ, dims)
        return out
    arr = structure.arrays()
    x0, x1, y0, y1 = _footprints(arr, dims)
    z = arr[:, 4]
    inside = (arr[:, 0] > 0) & (arr[:, 1] > 0) & (arr[:, 2] >= 0) & (arr[:, 3] >= 0) & (z < dims[2])
    inside &= (x1 == arr[:, 2] + arr[:, 0]) & (y1 == arr[:, 3] + arr[:, 1])
    # Occupied-cell counts over footprints from a per-layer summed-area table, padded with an empty
    # layer on both sides so that z - 1 and z + 1 are always valid indices.
    table = np.zeros((dims[0] + 1, dims[1] + 1, dims[2] + 2), dtype=np.int32)
    table[1:, 1:, 1:-1] = (occ.owner >= 0).cumsum(0).cumsum(1)
    fast = np.flatnonzero(inside & (z > 0))

    def count(layer: np.ndarray) -> np.ndarray:
        a, b, c, d = x0[fast], x1[fast], y0[fast], y1[fast]
        return table[b, d, layer] - table[a, d, layer] - table[b, c, layer] + table[a, c, layer]

    out[fast] = (count(z[fast]) == 0) & (count(z[fast] + 2) == 0)  # layers z-1 and z+1 (padded)
    for i in np.flatnonzero(~inside & (z > 0)):  # out-of-bounds bricks: the per-brick definition
        out[i] = _floating_one(structure.bricks[i], occ, dims)
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


def _grounded_loop(structure: Structure, occ: Occupancy, pairs: np.ndarray) -> np.ndarray:
    n = len(structure)
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


def grounded_mask(structure: Structure, occ: Occupancy | None = None) -> np.ndarray:
    """True for bricks connected to the ground (layer 0) through stud overlaps (any direction)."""
    occ = occ or occupancy(structure)
    n = len(structure)
    if n == 0:
        return np.zeros(0, dtype=bool)
    pairs = support_pairs(structure, occ)
    if n < _SMALL:
        return _grounded_loop(structure, occ, pairs)
    on_ground = np.flatnonzero((structure.arrays()[:, 4] == 0) & ~occ.colliding)
    a = np.concatenate([pairs[:, 0], on_ground])
    b = np.concatenate([pairs[:, 1], np.full(on_ground.size, n)])  # node n is the ground
    graph = sp.coo_matrix((np.ones(a.size), (a, b)), shape=(n + 1, n + 1))
    label = connected_components(graph, directed=False)[1]
    return label[:n] == label[n]
