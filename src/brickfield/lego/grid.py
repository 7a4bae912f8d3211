"""Voxel occupancy of a structure and the cheap relations built on it (collisions, floating, support,
stud connections and side contacts).

Only cells inside the world grid are recorded; out-of-bounds bricks are a separate check. Building the
grid costs O(total footprint); every query below is vectorised over it. Small structures (fewer than
``SMALL_STRUCTURE`` bricks, e.g. every BrickGPT reference case) can use :func:`layer_contacts`
instead: rectangle tests between the bricks of one layer and of adjacent layers, no grid at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree, shortest_path

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


class DisjointSets:
    """Union-find over nodes ``0..n-1`` with path halving; every tree's root is its smallest node,
    so ``labels`` numbers components by smallest node (as scipy's ``connected_components`` does)."""

    __slots__ = ("parent",)

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, v: int) -> int:
        """The root (smallest node) of ``v``'s tree."""
        parent = self.parent
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    def union(self, a: int, b: int) -> bool:
        """Join the trees of ``a`` and ``b``; True when they were separate (the edge is kept)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True

    def labels(self) -> list[int]:
        """Component of every node, numbered 0, 1, ... in order of smallest node."""
        number: dict[int, int] = {}
        return [number.setdefault(self.find(v), len(number)) for v in range(len(self.parent))]


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
    forest = DisjointSets(n + 1)  # node n is the ground
    for i, b in enumerate(structure.bricks):
        if b.z == 0 and not occ.colliding[i]:
            forest.union(i, n)
    for a, b in pairs.tolist():
        forest.union(a, b)
    find = forest.find
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


# --- stud contact points (BrickGPT's pattern) and brick-pair graphs, for the stability model ---

# Sub-stud offsets (in studs, relative to the cell centre) of the vertical contact points.
# A 1-wide upper brick grips the stud at four points around it, a 2-wide one at three.
# In eighths of a stud (exact integers for the convex-hull table), and in studs.
_EIGHTHS_4 = ((0, -2), (-2, 0), (0, 2), (2, 0))
_EIGHTHS_3 = ((1, -1), (-2, 0), (1, 1))
CONTACT_OFFSETS_4 = np.array(_EIGHTHS_4) / 8.0
CONTACT_OFFSETS_3 = np.array(_EIGHTHS_3) / 8.0
# Row p: point p of a 2-wide brick's pattern; row 3 + p: of a 1-wide brick's.
CONTACT_OFFSETS_34 = np.concatenate([CONTACT_OFFSETS_3, CONTACT_OFFSETS_4])


@cache
def hull_mask(n_offsets: int, nx: int, ny: int) -> np.ndarray:
    """(nx, ny, n_offsets) bool: which contact points of an nx x ny block of cells (pattern with
    ``n_offsets`` points per cell) are vertices of their convex hull. Exact: the coordinates are
    multiples of 1/8 stud, so the monotone chain runs on integers."""
    offsets = _EIGHTHS_4 if n_offsets == 4 else _EIGHTHS_3
    pts = [(8 * i + ox, 8 * j + oy, (i, j, o))
           for i in range(nx) for j in range(ny) for o, (ox, oy) in enumerate(offsets)]
    pts.sort()

    def chain(seq):
        out: list = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()  # not a strict left turn: the middle point is no vertex
            out.append(p)
        return out[:-1]

    mask = np.zeros((nx, ny, n_offsets), dtype=bool)
    for p in chain(pts) + chain(pts[::-1]):
        mask[p[2]] = True
    return mask


#: Shared-rectangle sides covered by the flat hull table (library bricks are at most 8 long).
_HULL_SIDE = 8


@cache
def _hull_table() -> tuple[np.ndarray, np.ndarray]:
    """Every ``hull_mask`` with sides up to ``_HULL_SIDE`` flattened into one array, and where
    each starts in it: ``start[n_offsets - 3, nx - 1, ny - 1]``."""
    start = np.zeros((2, _HULL_SIDE, _HULL_SIDE), dtype=np.int64)
    parts: list[np.ndarray] = []
    offset = 0
    for pattern in (3, 4):
        for nx in range(1, _HULL_SIDE + 1):
            for ny in range(1, _HULL_SIDE + 1):
                start[pattern - 3, nx - 1, ny - 1] = offset
                parts.append(hull_mask(pattern, nx, ny).reshape(-1))
                offset += parts[-1].size
    return np.concatenate(parts), start


def _hull_points(conn_pair: np.ndarray, conn_cell: np.ndarray, n_pairs: int, n_pts: np.ndarray,
                 p_conn: np.ndarray, p_local: np.ndarray) -> np.ndarray:
    """Per contact point: is it a vertex of the convex hull of its brick pair's contact points?

    The cells two bricks share form a rectangle and every cell carries the same point pattern, so
    the answer depends only on (pattern, rectangle size, position in it) and comes from a table.
    """
    if p_conn.size == 0:
        return np.zeros(0, dtype=bool)
    cx, cy = conn_cell[:, 0], conn_cell[:, 1]
    lo_x = np.full(n_pairs, np.iinfo(np.int64).max)
    lo_y = lo_x.copy()
    hi_x = np.full(n_pairs, np.iinfo(np.int64).min)
    hi_y = hi_x.copy()
    np.minimum.at(lo_x, conn_pair, cx)
    np.minimum.at(lo_y, conn_pair, cy)
    np.maximum.at(hi_x, conn_pair, cx)
    np.maximum.at(hi_y, conn_pair, cy)
    pair = conn_pair[p_conn]
    i = (cx - lo_x[conn_pair])[p_conn]
    j = (cy - lo_y[conn_pair])[p_conn]
    nx = (hi_x - lo_x + 1)[pair]
    ny = (hi_y - lo_y + 1)[pair]
    pattern = n_pts[p_conn]
    if max(int(nx.max()), int(ny.max())) <= _HULL_SIDE:
        table, start = _hull_table()
        return table[start[pattern - 3, nx - 1, ny - 1] + (i * ny + j) * pattern + p_local]
    span = int(max(nx.max(), ny.max())) + 1  # larger than any library brick: one table per shape
    keys, inverse = np.unique((pattern * span + nx) * span + ny, return_inverse=True)
    keep = np.zeros(p_conn.size, dtype=bool)
    for k, key in enumerate(keys.tolist()):
        sel = np.flatnonzero(inverse == k)
        rest, ky = divmod(key, span)
        pat, kx = divmod(rest, span)
        keep[sel] = hull_mask(pat, kx, ky)[i[sel], j[sel], p_local[sel]]
    return keep


@cache
def _pair_template(n_offsets: int, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells (x-major, with a zero z column) of an nx x ny block and their contact points
    (``n_offsets`` per cell) relative to the block's corner, and ``hull_mask`` of the points."""
    cells = np.array([(i, j, 0) for i in range(nx) for j in range(ny)], dtype=np.int64).reshape(-1, 3)
    offsets = CONTACT_OFFSETS_4 if n_offsets == 4 else CONTACT_OFFSETS_3
    points = (cells[:, None, :2] + offsets[None, :, :]).reshape(-1, 2)
    return cells, points, hull_mask(n_offsets, nx, ny).reshape(-1)


def _pair_points(stacked: list[tuple[int, int, int, int, int, int]], one_wide: list[bool],
                 z: list[int]) -> tuple[np.ndarray, ...]:
    """``contact_points`` (without the sides) from ``LayerContacts.stacked`` (in pair order) and the
    cached per-block templates."""
    if not stacked:
        i = np.zeros(0, dtype=np.int64)
        return i, i, np.zeros((0, 3), dtype=np.int64), i, i, i, np.zeros((0, 2)), np.zeros(0, dtype=bool)
    pattern = [4 if one_wide[up] else 3 for _, up, *_ in stacked]
    templates = [_pair_template(p, nx, ny) for p, (*_, nx, ny) in zip(pattern, stacked, strict=True)]
    pairs = np.array(stacked, dtype=np.int64)
    corner = pairs[:, 1:4].copy()  # x0, y0 and the upper brick's layer
    corner[:, 0], corner[:, 1] = pairs[:, 2], pairs[:, 3]
    corner[:, 2] = [z[up] for _, up, *_ in stacked]
    n_cells = pairs[:, 4] * pairs[:, 5]
    conn_cell = np.concatenate([t[0] for t in templates]) + corner.repeat(n_cells, axis=0)
    point_xy = np.concatenate([t[1] for t in templates]) + corner[:, :2].repeat(n_cells * pattern, axis=0)
    p_conn = np.arange(conn_cell.shape[0]).repeat(np.array(pattern).repeat(n_cells))
    return (pairs[:, 1].repeat(n_cells), pairs[:, 0].repeat(n_cells), conn_cell, pairs[:, 0],
            pairs[:, 1], p_conn, point_xy, np.concatenate([t[2] for t in templates]))


def contact_points(arr: np.ndarray, occ: Occupancy | LayerContacts,
                   one_wide: np.ndarray) -> tuple[np.ndarray, ...]:
    """The stud connections, contact points and side contacts of bricks ``arr`` (no collisions,
    all inside the grid) with ``occ`` their occupancy or layer contacts, in the model's order: brick
    pair (lower, upper; the ground -1 first), then cell (x-major), then point. Returns
    ``(conn_upper, conn_lower, conn_cell, pair_lower, pair_upper, p_conn, point_xy, hull, side_axis,
    side_minus, side_plus)``: per connection the bricks and the upper brick's cavity cell (x, y, z),
    the distinct brick pairs, per contact point its connection, position (studs) and whether it is
    a vertex of its pair's hull (``hull_mask``), and the side contacts as :func:`side_contacts`."""
    if isinstance(occ, LayerContacts):
        return (*_pair_points(occ.stacked, one_wide.tolist(), arr[:, 4].tolist()), *occ.touching)
    conn_upper, conn_lower, conn_cell = stud_connections(arr, occ)
    pair_lower, pair_upper, n_pairs, conn_pair = _brick_pairs(conn_lower, conn_upper, arr.shape[0])
    order = np.argsort(conn_pair, kind="stable")
    conn_upper, conn_lower, conn_cell, conn_pair = (a[order] for a in (conn_upper, conn_lower, conn_cell,
                                                                       conn_pair))
    four = one_wide[conn_upper]
    n_pts = np.where(four, 4, 3)
    p_conn = np.repeat(np.arange(conn_upper.size), n_pts)
    p_local = np.arange(p_conn.size) - (np.cumsum(n_pts) - n_pts)[p_conn]
    point_xy = conn_cell[p_conn, :2] + CONTACT_OFFSETS_34[p_local + 3 * four[p_conn]]
    hull = _hull_points(conn_pair, conn_cell, n_pairs, n_pts, p_conn, p_local)
    return (conn_upper, conn_lower, conn_cell, pair_lower, pair_upper, p_conn, point_xy, hull,
            *side_contacts(occ))


def spanning_forest(n_nodes: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spanning forest of the undirected graph with edges ``(a[e], b[e])`` by Kruskal in edge order
    (so deterministic) and the component label of every node, numbered by smallest node (as
    scipy's ``connected_components`` does). Small graphs in plain Python (less overhead)."""
    if n_nodes + a.size > 600:
        graph = sp.csr_matrix((np.arange(1, a.size + 1, dtype=float), (a, b)), shape=(n_nodes, n_nodes))
        in_forest = np.zeros(a.size, dtype=bool)
        in_forest[np.rint(minimum_spanning_tree(graph).data).astype(np.int64) - 1] = True
        return in_forest, connected_components(graph, directed=False)[1].astype(np.int64)
    forest = DisjointSets(n_nodes)
    kept = [forest.union(u, v) for u, v in zip(a.tolist(), b.tolist(), strict=True)]
    return np.array(kept, dtype=bool), np.array(forest.labels(), dtype=np.int64)


def contact_graphs(n: int, knob_lower: np.ndarray, knob_upper: np.ndarray, side_minus: np.ndarray,
            side_plus: np.ndarray, small: int = 600) -> tuple[np.ndarray, ...]:
    """The graph facts the model needs (module docstring): which knob pairs and side pairs the LP
    keeps, the tree of every face, the torque-chain hops of every brick and its component.

    Knob forest: nodes are brick bottom faces ``0..n-1``, top faces ``n..2n-1`` and the ground
    ``2n``; a knob pair joins the lower brick's top face (or the ground) to the upper brick's bottom
    face. Kept: the knob pairs of a spanning forest (Kruskal by pair index, so deterministic) and the
    side pairs whose two bottom faces lie in different trees. ``face_tree``: (2N,) tree of each
    bottom face and top face, numbered by smallest face, -1 for the ground's tree (no equation).
    ``hops``: see ``_tree_hops``. ``component``: bricks joined by knob pairs or side pairs, numbered
    by smallest brick. Graphs with ``small`` or more nodes and edges go through scipy.
    """
    if 2 * n + 1 + knob_lower.size + side_minus.size >= small:
        knob_keep, node_tree = spanning_forest(2 * n + 1, np.where(knob_lower >= 0, n + knob_lower, 2 * n),
                                       knob_upper)
        ground_tree = node_tree[2 * n]
        face_tree = node_tree[: 2 * n]
        # Labels are numbered by smallest node: dropping the ground's shifts the larger ones by one.
        face_tree = np.where(face_tree == ground_tree, -1, face_tree - (face_tree > ground_tree))
        solid = knob_lower >= 0
        component = spanning_forest(n, np.concatenate([knob_lower[solid], side_minus]),
                            np.concatenate([knob_upper[solid], side_plus]))[1]
        return (knob_keep, node_tree[side_minus] != node_tree[side_plus], face_tree, _tree_hops(face_tree, n),
                component)

    faces = DisjointSets(2 * n + 1)
    lower, upper = knob_lower.tolist(), knob_upper.tolist()
    keep = [faces.union(n + lo if lo >= 0 else 2 * n, up) for lo, up in zip(lower, upper, strict=True)]
    root = [faces.find(v) for v in range(2 * n + 1)]
    ground = root[2 * n]
    number: dict[int, int] = {}
    face_tree = [-1 if r == ground else number.setdefault(r, len(number)) for r in root[: 2 * n]]
    minus, plus = side_minus.tolist(), side_plus.tolist()
    side_keep = [root[a] != root[b] for a, b in zip(minus, plus, strict=True)]

    # Hops to the ground's tree over bricks (each links the trees of its two faces): breadth first.
    adjacent: list[list[int]] = [[] for _ in range(len(number) + 1)]  # node 0: the ground's tree
    for u, v in zip(face_tree[:n], face_tree[n:], strict=True):
        adjacent[u + 1].append(v + 1)
        adjacent[v + 1].append(u + 1)
    hop = [-1] * (len(number) + 1)
    hop[0] = 0
    frontier = [0]
    while frontier:
        nxt = []
        for u in frontier:
            for v in adjacent[u]:
                if hop[v] < 0:
                    hop[v] = hop[u] + 1
                    nxt.append(v)
        frontier = nxt
    far = [float(h) if h >= 0 else np.inf for h in hop]  # inf: no chain
    hops = [far[u + 1] + far[v + 1] for u, v in zip(face_tree[:n], face_tree[n:], strict=True)]

    bricks = DisjointSets(n)
    solid = [(lo, up) for lo, up in zip(lower, upper, strict=True) if lo >= 0]
    for a, b in solid + list(zip(minus, plus, strict=True)):
        bricks.union(a, b)
    component = bricks.labels()
    return (np.array(keep, dtype=bool), np.array(side_keep, dtype=bool), np.array(face_tree, dtype=np.int64),
            np.array(hops, dtype=float), np.array(component, dtype=np.int64))


def _tree_hops(face_tree: np.ndarray, n: int) -> np.ndarray:
    """Per brick: hops(bottom-face tree) + hops(top-face tree), where hops counts the bricks on a
    shortest chain of bricks from a tree to the ground's tree (each brick links the trees of its two
    faces); ``inf`` where there is no chain."""
    bottom, top = face_tree[:n] + 1, face_tree[n:] + 1  # node 0: the ground's tree
    n_nodes = int(face_tree.max()) + 2 if n else 1
    graph = sp.csr_matrix((np.ones(n), (bottom, top)), shape=(n_nodes, n_nodes))
    hops = shortest_path(graph, directed=False, unweighted=True, indices=0)
    return hops[bottom] + hops[top]


def _brick_pairs(conn_lower: np.ndarray, conn_upper: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Distinct (lower, upper) pairs of the connections sorted by (lower, upper), and the pair of
    every connection."""
    key = (conn_lower + 1) * (n + 1) + conn_upper
    if n < 256:  # a mark table beats sorting
        mark = np.zeros((n + 1) * (n + 1), dtype=bool)
        mark[key] = True
        pair_key = np.flatnonzero(mark)
        conn_pair = np.searchsorted(pair_key, key)
    else:
        pair_key, conn_pair = np.unique(key, return_inverse=True)
    knob_lower, knob_upper = np.divmod(pair_key, n + 1)
    return knob_lower - 1, knob_upper, pair_key.size, conn_pair.reshape(-1)
