"""Layer tiling and component merging for legolisation (:mod:`brickfield.lego.legolize`).

:func:`tile_layer` covers one layer's voxels with library bricks greedily, scoring interlock with the
layers around it; :class:`Layout` holds a structure under construction layer by layer with the cheap
relations the phases need (stud graph, components, grounding); :func:`merge_components` is the
merging phase: pairwise merges of side-by-side bricks from different components, then local and
whole-layer re-tilings that link against component labels, each kept only if it lowers the number of
components.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from brickfield.lego.library import BRICK_TYPES, brick_type
from brickfield.lego.structure import Brick, Structure

#: Every library footprint (h along x, w along y), both orientations, largest area first.
FOOTPRINTS: tuple[tuple[int, int], ...] = tuple(sorted(
    {(t.short, t.long) for t in BRICK_TYPES} | {(t.long, t.short) for t in BRICK_TYPES},
    key=lambda hw: (-hw[0] * hw[1], hw)))

Placement = tuple[int, int, int, int]  # h, w, x, y within one layer
_Brick5 = tuple[int, int, int, int, int]  # h, w, x, y, z


# ---------------------------------------------------------------------------------------------------
# one layer


def _seam_counts(labels: list[list[list[int]]], nx: int, ny: int) -> tuple[list[list[int]], list[list[int]]]:
    """Per edge between cells (i, j)-(i+1, j) and (i, j)-(i, j+1): how many label maps have a seam
    there (two different bricks on both sides)."""
    sx = [[0] * ny for _ in range(nx)]
    sy = [[0] * ny for _ in range(nx)]
    for lab in labels:
        for i in range(nx):
            row = lab[i]
            nxt = lab[i + 1] if i + 1 < nx else None
            for j in range(ny):
                a = row[j]
                if a < 0:
                    continue
                if nxt is not None and nxt[j] >= 0 and nxt[j] != a:
                    sx[i][j] += 1
                if j + 1 < ny and row[j + 1] >= 0 and row[j + 1] != a:
                    sy[i][j] += 1
    return sx, sy


def tile_layer(mask: np.ndarray, below: np.ndarray | None = None, above: np.ndarray | None = None, *,
               prefer_x: bool = True, rng: np.random.Generator | None = None, noise: float = 0.0,
               link_weight: float = 3.0, seam_weight: float = 3.0) -> list[Placement]:
    """Cover every set cell of a 2-D `mask` exactly with library bricks; returns (h, w, x, y) each.

    `below`/`above` are label maps of the neighbouring layers (brick or component ids, -1 = empty).
    A candidate's score is its area, plus ``link_weight`` per distinct label under or over it, minus
    ``seam_weight`` per unit of its outline lying on a seam of a neighbouring layer (only where the
    shape continues past that edge), plus 0.5 for the preferred orientation and 0.25 for two-wide
    bricks; ``noise * U(0, 1)`` is added when `rng` is given. The 1x1 brick always fits, so the
    cover is exact.
    """
    nx, ny = mask.shape
    free = np.asarray(mask, dtype=bool).tolist()
    inside = [row[:] for row in free]
    labels = [np.asarray(m).tolist() for m in (below, above) if m is not None]
    sx, sy = _seam_counts(labels, nx, ny) if labels else ([], [])
    jitter = rng is not None and noise > 0
    out: list[Placement] = []
    for x in range(nx):
        for y in range(ny):
            if not free[x][y]:
                continue
            best: Placement = (1, 1, x, y)
            best_score = -np.inf
            for h, w in FOOTPRINTS:
                if x + h > nx or y + w > ny:
                    continue
                if not all(free[i][j] for i in range(x, x + h) for j in range(y, y + w)):
                    continue
                score = float(h * w)
                if labels:
                    ids = {lab[i][j] for lab in labels for i in range(x, x + h) for j in range(y, y + w)}
                    ids.discard(-1)
                    seams = 0
                    if x + h < nx:
                        seams += sum(sx[x + h - 1][j] for j in range(y, y + w) if inside[x + h][j])
                    if x > 0:
                        seams += sum(sx[x - 1][j] for j in range(y, y + w) if inside[x - 1][j])
                    if y + w < ny:
                        seams += sum(sy[i][y + w - 1] for i in range(x, x + h) if inside[i][y + w])
                    if y > 0:
                        seams += sum(sy[i][y - 1] for i in range(x, x + h) if inside[i][y - 1])
                    score += link_weight * len(ids) - seam_weight * seams
                if h != w and (h > w) == prefer_x:
                    score += 0.5
                if min(h, w) == 2:
                    score += 0.25
                if jitter:
                    score += noise * rng.random()  # type: ignore[union-attr]
                if score > best_score:
                    best_score, best = score, (h, w, x, y)
            h, w = best[0], best[1]
            for i in range(x, x + h):
                for j in range(y, y + w):
                    free[i][j] = False
            out.append(best)
    return out


# ---------------------------------------------------------------------------------------------------
# a layout under construction: bricks per layer


class Layout:
    """Bricks grouped by layer, with the cheap whole-structure relations the phases need."""

    def __init__(self, dims: tuple[int, int, int], layers: list[list[Placement]]) -> None:
        self.dims = dims
        self.layers = layers

    def copy(self) -> Layout:
        """Independent copy (layers are copied, placements are immutable tuples)."""
        return Layout(self.dims, [list(layer) for layer in self.layers])

    def bricks(self) -> list[_Brick5]:
        """Bottom to top, then x descending, then y descending: StableText2Brick's order."""
        return [(h, w, x, y, z) for z, layer in enumerate(self.layers)
                for (h, w, x, y) in sorted(layer, key=lambda p: (-p[2], -p[3]))]

    def owner(self) -> tuple[np.ndarray, list[_Brick5]]:
        """The grid of brick indices (-1 = empty) and the bricks in :meth:`bricks` order."""
        bricks = self.bricks()
        own = np.full(self.dims, -1, dtype=np.int64)
        for k, (h, w, x, y, z) in enumerate(bricks):
            own[x:x + h, y:y + w, z] = k
        return own, bricks

    def structure(self) -> Structure:
        """The bricks as a Structure, in :meth:`bricks` order."""
        return Structure((Brick(*b) for b in self.bricks()), self.dims)

    def graph(self) -> tuple[np.ndarray, list[_Brick5], sp.coo_matrix]:
        """Owner grid, bricks, and the stud graph with node n = the ground."""
        own, bricks = self.owner()
        n = len(bricks)
        lo, hi = own[:, :, :-1], own[:, :, 1:]
        m = (lo >= 0) & (hi >= 0)
        ground = np.array([k for k, b in enumerate(bricks) if b[4] == 0], dtype=np.int64)
        a = np.concatenate([lo[m], ground])
        b = np.concatenate([hi[m], np.full(ground.size, n)])
        return own, bricks, sp.coo_matrix((np.ones(a.size), (a, b)), shape=(n + 1, n + 1))

    def components(self) -> tuple[int, np.ndarray]:
        """Stud-connected components (the ground does not join them) and each brick's label."""
        own, bricks = self.owner()
        n = len(bricks)
        if n == 0:
            return 0, np.zeros(0, dtype=np.int64)
        lo, hi = own[:, :, :-1], own[:, :, 1:]
        m = (lo >= 0) & (hi >= 0)
        g = sp.coo_matrix((np.ones(int(m.sum())), (lo[m], hi[m])), shape=(n, n))
        count, labels = connected_components(g, directed=False)
        return int(count), labels

    def grounded(self) -> np.ndarray:
        """Per brick (in :meth:`bricks` order): True when a stud path leads to the ground."""
        _, bricks, g = self.graph()
        n = len(bricks)
        if n == 0:
            return np.zeros(0, dtype=bool)
        labels = connected_components(g, directed=False)[1]
        return labels[:n] == labels[n]

    def remove(self, drop: set[_Brick5]) -> None:
        """Remove the given (h, w, x, y, z) bricks."""
        for z in {b[4] for b in drop}:
            self.layers[z] = [p for p in self.layers[z] if (*p, z) not in drop]

    def drop_ungrounded(self) -> tuple[int, int]:
        """Remove every brick without a stud path to the ground; returns (bricks, voxels) removed."""
        ok = self.grounded()
        bricks = self.bricks()
        drop = {b for b, g in zip(bricks, ok, strict=True) if not g}
        self.remove(drop)
        return len(drop), sum(b[0] * b[1] for b in drop)


def _flip_labels(a: np.ndarray | None, fx: bool, fy: bool) -> np.ndarray | None:
    if a is None:
        return None
    return a[::-1 if fx else 1, ::-1 if fy else 1]


def retile(layout: Layout, z: int, *, region: np.ndarray | None = None, by_component: bool,
            prefer_x: bool, rng: np.random.Generator | None, noise: float, link_weight: float = 3.0,
            flip: tuple[bool, bool] = (False, False)) -> None:
    """Re-tile layer z of `layout` in place: the bricks touching `region` (default: all of the
    layer) are removed and their cells covered again, linking against the bricks of the layers
    around (or, `by_component`, their stud-connected components without those bricks). `flip`
    mirrors the raster order along x and/or y, which moves the odd strips greedy tiling leaves at
    the end of a row to its start."""
    nx, ny = layout.dims[:2]
    keep, cells = [], np.zeros((nx, ny), dtype=bool)
    for h, w, x, y in layout.layers[z]:
        if region is None or region[x:x + h, y:y + w].any():
            cells[x:x + h, y:y + w] = True
        else:
            keep.append((h, w, x, y))
    layout.layers[z] = keep
    own, _ = layout.owner()
    if by_component:
        _, labels = layout.components()
        own = np.where(own >= 0, labels[np.maximum(own, 0)], -1)
    fx, fy = flip
    below = _flip_labels(own[:, :, z - 1], fx, fy) if z > 0 else None
    above = _flip_labels(own[:, :, z + 1], fx, fy) if z + 1 < layout.dims[2] else None
    placed = tile_layer(_flip_labels(cells, fx, fy), below, above, prefer_x=prefer_x, rng=rng,  # type: ignore[arg-type]
                        noise=noise, link_weight=link_weight)
    for h, w, x, y in placed:
        layout.layers[z].append((h, w, nx - x - h if fx else x, ny - y - w if fy else y))


def greedy_layout(target: np.ndarray, rng: np.random.Generator, randomness: float) -> Layout:
    """Tile every layer of a bool grid bottom-up with :func:`tile_layer`, each layer linking against
    the one below and preferring x (even layers) or y (odd layers); `randomness` is the score noise."""
    dims = target.shape
    layers: list[list[Placement]] = []
    below = None
    for z in range(dims[2]):
        placed = tile_layer(target[:, :, z], below, prefer_x=z % 2 == 0, rng=rng, noise=randomness)
        layers.append(placed)
        below = np.full(dims[:2], -1, dtype=np.int64)
        for k, (h, w, x, y) in enumerate(placed):
            below[x:x + h, y:y + w] = k
    return Layout(dims, layers)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# phase 2: merging


def _union(a: Placement, b: Placement) -> Placement | None:
    """The library brick covering exactly `a` and `b` when `b` sits right after `a` along x or y."""
    h, w, x, y = a
    h2, w2, x2, y2 = b
    if x2 == x + h and y2 == y and w2 == w and brick_type(h + h2, w):
        return (h + h2, w, x, y)
    if y2 == y + w and x2 == x and h2 == h and brick_type(h, w + w2):
        return (h, w + w2, x, y)
    return None


def merge_pairs(layout: Layout) -> int:
    """Merge side-by-side bricks of different components into one library brick while any such pair
    exists; returns the number of merges."""
    merges = 0
    while True:
        _, labels = layout.components()
        own, bricks = layout.owner()
        merged = False
        for k, (h, w, x, y, z) in enumerate(bricks):
            for nb in (own[x + h, y, z] if x + h < layout.dims[0] else -1,
                       own[x, y + w, z] if y + w < layout.dims[1] else -1):
                if nb < 0 or labels[nb] == labels[k]:
                    continue
                a, b = (h, w, x, y), bricks[nb][:4]
                new = _union(a, b)
                if new is None:
                    continue
                layout.layers[z] = [p for p in layout.layers[z] if p not in (a, b)]
                layout.layers[z].append(new)
                merges += 1
                merged = True
                break
            if merged:
                break
        if not merged:
            return merges


def consolidate(layout: Layout) -> int:
    """Merge side-by-side bricks into single library bricks wherever they form one, largest results
    first, until no pair is left; returns the number of merges. A merge removes a seam and joins the
    bricks' connections, so it never splits a component or uncovers a cell."""
    nx, ny = layout.dims[:2]
    merges = 0
    for z, layer in enumerate(layout.layers):
        while True:
            own = np.full((nx, ny), -1, dtype=np.int64)
            for k, (h, w, x, y) in enumerate(layer):
                own[x:x + h, y:y + w] = k
            found = []
            for k, (h, w, x, y) in enumerate(layer):
                for nb in (own[x + h, y] if x + h < nx else -1, own[x, y + w] if y + w < ny else -1):
                    if nb >= 0 and (u := _union(layer[k], layer[nb])) is not None:
                        found.append((-u[0] * u[1], k, int(nb), u))
            if not found:
                break
            used: set[int] = set()
            new = []
            for _, k, nb, u in sorted(found):
                if k not in used and nb not in used:
                    used |= {k, nb}
                    new.append(u)
            layer = [p for i, p in enumerate(layer) if i not in used] + new
            merges += len(new)
        layout.layers[z] = layer
    return merges


def _boundary_regions(layout: Layout, labels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Per layer where bricks of two components touch side by side: the cells of those bricks and
    of their side neighbours (the region a local re-tiling may change), bottom layer first."""
    own, _ = layout.owner()
    lab = np.where(own >= 0, labels[np.maximum(own, 0)], -1)
    touch = np.zeros(own.shape, dtype=bool)
    for axis in (0, 1):
        a = lab[:-1] if axis == 0 else lab[:, :-1]
        b = lab[1:] if axis == 0 else lab[:, 1:]
        t = (a >= 0) & (b >= 0) & (a != b)
        if axis == 0:
            touch[:-1] |= t
            touch[1:] |= t
        else:
            touch[:, :-1] |= t
            touch[:, 1:] |= t
    out = []
    for z in np.flatnonzero(touch.any(axis=(0, 1))).tolist():
        hit = np.unique(own[:, :, z][touch[:, :, z]])
        region = np.isin(own[:, :, z], hit)
        # Grow by one ring of side neighbours so the re-tiling has room to shift seams.
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        out.append((z, grown & (own[:, :, z] >= 0)))
    return out


def merge_components(layout: Layout, seed: int, max_attempts: int = 200) -> tuple[Layout, int, int]:
    """Merge pairs, then re-tile the regions where components touch (locally with the four raster
    flips, then the whole layer with seeded noise), linking against component labels, keeping each
    re-tiling that lowers the component count. Returns (layout, merges, re-tilings kept)."""
    merges = merge_pairs(layout)
    retiled = attempts = 0
    count, labels = layout.components()
    variants = [(local, (bool(f & 1), bool(f & 2))) for local in (True, False) for f in range(4)]
    improved = True
    while improved and count > 1 and attempts < max_attempts:
        improved = False
        for z, region in _boundary_regions(layout, labels):
            for t, (local, flip) in enumerate(variants):
                attempts += 1
                trial = layout.copy()
                retile(trial, z, region=region if local else None, by_component=True,
                        prefer_x=(z + t) % 2 == 0, rng=np.random.default_rng([seed, z, t]),
                        noise=0.0 if local else float(t), link_weight=8.0, flip=flip)
                merges_t = merge_pairs(trial)
                trial_count, trial_labels = trial.components()
                if trial_count < count:
                    layout, count, labels = trial, trial_count, trial_labels
                    merges += merges_t
                    retiled += 1
                    improved = True
                    break
            if improved or attempts >= max_attempts:
                break
    return layout, merges, retiled


__all__ = ["FOOTPRINTS", "Layout", "Placement", "consolidate", "greedy_layout", "merge_components",
           "merge_pairs", "retile", "tile_layer"]
