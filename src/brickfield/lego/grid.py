"""Voxel occupancy of a structure and the cheap relations built on it (collisions, floating, support,
stud connections and side contacts).

Only cells inside the world grid are recorded; out-of-bounds bricks are a separate check. Building the
grid costs O(total footprint); every query below is vectorised over it. Small structures (fewer than
``SMALL_STRUCTURE`` bricks, e.g. every BrickGPT reference case) can use :func:`layer_contacts`
instead: rectangle tests between the bricks of one layer and of adjacent layers, no grid at all.
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


@dataclass(frozen=True)
class LayerContacts:
    """Relations between the footprints of a small structure's bricks (all inside the world), from
    rectangle tests between the bricks of one layer and of adjacent layers: no cell grid.

    ``overlapping[i]``: brick i shares a cell with another brick (a collision, either way round).
    ``floating[i]``: BrickGPT's floating test (as :func:`floating_mask`). ``stacked``: one
    ``(lower, upper, x0, y0, nx, ny)`` per brick pair with overlapping footprints in adjacent
    layers and per layer-0 brick (``lower = -1``, the ground): the shared cells are
    ``[x0, x0 + nx) x [y0, y0 + ny)``; sorted. ``touching``: ``(axis, minus, plus)`` arrays as
    :func:`side_contacts` returns them.
    """

    overlapping: np.ndarray
    floating: np.ndarray
    stacked: list[tuple[int, int, int, int, int, int]]
    touching: tuple[np.ndarray, np.ndarray, np.ndarray]


def layer_contacts(bricks: list[tuple[int, ...]]) -> LayerContacts:
    """:class:`LayerContacts` of bricks given as (h, w, x, y, z) tuples."""
    layers: dict[int, list[int]] = {}
    for i, b in enumerate(bricks):
        layers.setdefault(b[4], []).append(i)
    n = len(bricks)
    overlapping = [False] * n
    supported = [False] * n  # a brick directly below or above
    stacked: list[tuple[int, int, int, int, int, int]] = []
    touching: list[tuple[int, int, int]] = []
    for z, ids in layers.items():
        below = layers.get(z - 1, ())
        for k, i in enumerate(ids):
            h, w, x, y, _ = bricks[i]
            x1, y1 = x + h, y + w
            if z == 0:
                stacked.append((-1, i, x, y, h, w))
            for j in below:
                hj, wj, xj, yj, _ = bricks[j]
                ax, bx = max(x, xj), min(x1, xj + hj)
                ay, by = max(y, yj), min(y1, yj + wj)
                if ax < bx and ay < by:
                    stacked.append((j, i, ax, ay, bx - ax, by - ay))
                    supported[i] = supported[j] = True
            for j in ids[k + 1:]:
                hj, wj, xj, yj, _ = bricks[j]
                x_in = max(x, xj) < min(x1, xj + hj)
                y_in = max(y, yj) < min(y1, yj + wj)
                if x_in and y_in:
                    overlapping[i] = overlapping[j] = True
                elif y_in and (x1 == xj or xj + hj == x):
                    touching.append((0, i, j) if x1 == xj else (0, j, i))
                elif x_in and (y1 == yj or yj + wj == y):
                    touching.append((1, i, j) if y1 == yj else (1, j, i))
    stacked.sort()
    side = np.array(sorted(touching), dtype=np.int64).reshape(-1, 3)
    floating = [b[4] > 0 and not s for b, s in zip(bricks, supported, strict=True)]
    return LayerContacts(np.array(overlapping, dtype=bool), np.array(floating, dtype=bool), stacked,
                         (side[:, 0], side[:, 1], side[:, 2]))


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


#: Below this many bricks the per-brick loops (and :func:`layer_contacts`) are faster than the
#: vectorised versions over the dense grid.
SMALL_STRUCTURE = 48
_SMALL = SMALL_STRUCTURE


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


def stud_connections(arr: np.ndarray, occ: Occupancy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every stud connection of bricks ``arr`` ((N, 5) h, w, x, y, z; no collisions, all inside the
    grid): ``(upper, lower, cell)`` with ``lower = -1`` for the ground and ``cell`` the (x, y, z) of
    the upper brick's stud cavity. Order: the cells with a brick above, brick by brick and x-major
    within a brick (as ``np.argwhere`` over each footprint), then the layer-0 cells in the same order."""
    owner = occ.owner
    h, w = arr[:, 0], arr[:, 1]
    area = h * w
    bid = np.repeat(np.arange(arr.shape[0]), area)
    local = np.arange(bid.size) - (np.cumsum(area) - area)[bid]
    cx = arr[bid, 2] + local // w[bid]
    cy = arr[bid, 3] + local % w[bid]
    cz = arr[bid, 4]
    above = np.full(bid.size, -1, dtype=np.int64)
    inside = cz + 1 < owner.shape[2]
    above[inside] = owner[cx[inside], cy[inside], cz[inside] + 1]
    up = np.flatnonzero(above >= 0)
    ground = np.flatnonzero(cz == 0)
    sel = np.concatenate([up, ground])
    lower = bid[sel]
    lower[up.size:] = -1
    upper = np.concatenate([above[up], bid[ground]])
    cell = np.stack([cx[sel], cy[sel], cz[sel]], axis=1)
    cell[: up.size, 2] += 1
    return upper, lower, cell


def side_contacts(occ: Occupancy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique ``(axis, minus, plus)`` brick pairs with cells touching side by side in one layer
    (``minus`` on the lower side along ``axis``, 0 = x, 1 = y), sorted by (axis, minus, plus)."""
    owner = occ.owner
    keys = []
    for axis in (0, 1):
        a = owner[:-1] if axis == 0 else owner[:, :-1]
        b = owner[1:] if axis == 0 else owner[:, 1:]
        m = (a >= 0) & (b >= 0) & (a != b)
        keys.append(np.stack([np.full(int(m.sum()), axis), a[m], b[m]], axis=1))
    key = np.concatenate(keys).astype(np.int64).reshape(-1, 3)
    span = int(owner.max()) + 1 if owner.size else 1
    flat = np.unique((key[:, 0] * span + key[:, 1]) * span + key[:, 2])  # sorted by (axis, minus, plus)
    rest, plus = np.divmod(flat, span)
    axis, minus = np.divmod(rest, span)
    return axis, minus, plus


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
