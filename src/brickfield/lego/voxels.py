"""Voxel geometry of brick structures: occupancy, IoU, a symmetric Chamfer-like distance, F-score,
best-translation alignment and the distance-to-reward normalisation used by PVPO's R_vox.

Everything works on boolean occupancy grids indexed ``[x, y, z]`` in stud/layer units (one voxel =
one stud cell of one brick layer). Distances are Euclidean between voxel centres, in voxels.

Conventions for empty sets (documented, deliberate):

* both empty: IoU 1, distance 0, F-score 1 (two identical, empty shapes);
* exactly one empty: IoU 0, distance ``inf``, F-score 0, reward 0.

Normalisation: ``reward = exp(-d / scale)`` with ``scale`` in voxels (default 2). It is 1 exactly at
d = 0, strictly decreasing, never negative, and independent of the grid size; it keeps resolution
where outputs actually land (d of a few voxels: 1 -> 0.61, 2 -> 0.37, 4 -> 0.14), whereas
``1 - d/diagonal`` on a 20^3 grid would squeeze every plausible build into [0.85, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import distance_transform_edt

from brickfield.core.errors import InvalidArgumentError
from brickfield.lego import structure as _structure
from brickfield.lego.structure import Structure, world_dims

DEFAULT_SCALE = 2.0
DEFAULT_TAU = 1.0
#: Largest alignment bound :func:`compare` accepts per axis: (2*20 + 1)^3 candidate shifts already
#: take seconds on a full 20^3 grid, and the padded grids grow with the cube of the bound.
MAX_ALIGN = 20

VoxelLike = Structure | np.ndarray


def voxelize(structure: Structure, world_dim: int | Sequence[int] | None = None) -> np.ndarray:
    """Boolean occupancy ``[x, y, z]`` of every brick, clipped to the grid.

    Every brick counts (library or not, colliding or not); cells outside the grid are dropped. The
    grid is ``structure.world_dim`` unless `world_dim` is given. Cost: one slice per brick.
    """
    dims = structure.world_dim if world_dim is None else world_dims(world_dim)
    vox = np.zeros(dims, dtype=bool)
    for b in structure.bricks:
        if 0 <= b.z < dims[2] and b.h > 0 and b.w > 0:
            vox[max(b.x, 0):max(b.x + b.h, 0), max(b.y, 0):max(b.y + b.w, 0), b.z] = True
    return vox


def as_voxels(obj: VoxelLike) -> np.ndarray:
    """A boolean 3-D array from a Structure (voxelized) or an array-like (cast to bool).

    Raises ``InvalidArgumentError`` (a ValueError): ``bad_voxels`` unless `obj` is a 3-D array of numbers or
    booleans (ragged lists, strings, objects are refused), ``world_too_large`` over
    ``MAX_WORLD_DIM`` cells per axis.
    """
    if isinstance(obj, Structure):
        return voxelize(obj)
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:   # ragged or odd input
        raise InvalidArgumentError("bad_voxels", f"not a voxel grid: {str(exc)[:120]}") from None
    if arr.ndim != 3:
        raise InvalidArgumentError("bad_voxels", f"voxel grid must be 3-D, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InvalidArgumentError("bad_voxels", f"voxel grid must hold numbers or booleans, not {arr.dtype}")
    limit = _structure.MAX_WORLD_DIM   # read per call: the module constant is the setting
    if max(arr.shape) > limit:
        raise InvalidArgumentError("world_too_large",
                                   f"voxel grid {arr.shape} is over the limit of {limit} per axis")
    return arr.astype(bool, copy=False)


def _pad_to(vox: np.ndarray, shape: tuple[int, ...], margin: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    out = np.zeros(tuple(s + 2 * m for s, m in zip(shape, margin, strict=True)), dtype=bool)
    sx, sy, sz = vox.shape
    mx, my, mz = margin
    out[mx:mx + sx, my:my + sy, mz:mz + sz] = vox
    return out


def _common(a: VoxelLike, b: VoxelLike, margin: Sequence[int] = (0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Both grids on one shape (the elementwise max), with `margin` empty cells on every side."""
    va, vb = as_voxels(a), as_voxels(b)
    shape = tuple(max(p, q) for p, q in zip(va.shape, vb.shape, strict=True))
    return _pad_to(va, shape, margin), _pad_to(vb, shape, margin)


def shift_voxels(vox: np.ndarray, shift: Sequence[int]) -> np.ndarray:
    """Translate a grid by integer `shift` (dx, dy, dz); cells moved outside the grid are dropped."""
    vox = np.asarray(vox, dtype=bool)
    out = np.zeros_like(vox)
    src, dst = [], []
    for s, n in zip(shift, vox.shape, strict=True):
        s = int(s)
        if abs(s) >= n:
            return out
        src.append(slice(max(0, -s), n - max(0, s)))
        dst.append(slice(max(0, s), n - max(0, -s)))
    out[tuple(dst)] = vox[tuple(src)]
    return out


def iou(a: VoxelLike, b: VoxelLike) -> float:
    """Intersection over union of two occupancy grids (1.0 when both are empty)."""
    va, vb = _common(a, b)
    union = np.count_nonzero(va | vb)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(va & vb) / union)


@dataclass(frozen=True)
class VoxelComparison:
    """Geometry of `a` (a candidate) against `b` (a target), after translating `a` by `shift`.

    ``distance`` is the symmetric mean nearest-neighbour distance in voxels,
    ``0.5 * (mean_{p in a} d(p, b) + mean_{q in b} d(q, a))``; ``precision``/``recall`` are the
    fractions of a-voxels within ``tau`` of b and of b-voxels within ``tau`` of a; ``reward`` is
    ``exp(-distance / scale)``.
    """

    iou: float
    distance: float
    distance_ab: float
    distance_ba: float
    precision: float
    recall: float
    fscore: float
    reward: float
    shift: tuple[int, int, int]
    tau: float
    scale: float
    n_a: int
    n_b: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (``inf`` distances become None so the result is valid JSON)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        out["shift"] = list(self.shift)
        return out


def distance_reward(distance: float, scale: float = DEFAULT_SCALE) -> float:
    """Map a distance in voxels to [0, 1]: ``exp(-distance / scale)``; ``inf`` gives 0."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if not distance >= 0:  # also catches NaN
        raise ValueError(f"distance must be >= 0, got {distance}")
    return math.exp(-distance / scale) if math.isfinite(distance) else 0.0


def _bounds3(bound: int | Sequence[int]) -> tuple[int, int, int]:
    out = (bound, bound, bound) if isinstance(bound, int) else tuple(int(v) for v in bound)
    if len(out) != 3 or min(out) < 0 or max(out) > MAX_ALIGN:
        raise ValueError(f"alignment bound must be an int in [0, {MAX_ALIGN}] or 3 of them, got {bound!r}")
    return out  # type: ignore[return-value]


def _shifts(bound: tuple[int, int, int]) -> np.ndarray:
    """Every integer shift within `bound`, smallest |shift|^2 first, then lexicographic (dx, dy, dz)."""
    axes = [np.arange(-m, m + 1) for m in bound]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    order = np.lexsort((grid[:, 2], grid[:, 1], grid[:, 0], (grid**2).sum(axis=1)))
    return grid[order]


def _empty_comparison(n_a: int, n_b: int, tau: float, scale: float) -> VoxelComparison:
    both = n_a == 0 and n_b == 0
    d = 0.0 if both else math.inf
    one = 1.0 if both else 0.0
    return VoxelComparison(one, d, d, d, one, one, one, one, (0, 0, 0), tau, scale, n_a, n_b)


def compare(a: VoxelLike, b: VoxelLike, *, tau: float = DEFAULT_TAU, scale: float = DEFAULT_SCALE,
            align: int | Sequence[int] = 0) -> VoxelComparison:
    """Compare candidate `a` with target `b`: IoU, symmetric distance, F-score at `tau`, reward.

    ``align`` > 0 searches every integer translation of `a` with ``|dx| <= align`` (per axis when a
    triple, e.g. ``(2, 2, 0)`` keeps the ground layer; at most ``MAX_ALIGN``, else ValueError) and
    keeps the one with the smallest distance;
    ties go to the higher IoU, then the smaller shift (squared length, then lexicographic), so the
    result is deterministic. `a` is not clipped while shifted (the grid is padded by the bound).
    Nearest-neighbour distances come from exact Euclidean distance transforms computed once, so
    each candidate shift costs two gathers over the occupied voxels.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if not tau >= 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    margin = _bounds3(align)
    va, vb = _common(a, b, margin)
    pa, pb = np.argwhere(va), np.argwhere(vb)
    if len(pa) == 0 or len(pb) == 0:
        return _empty_comparison(len(pa), len(pb), tau, scale)
    edt_a = distance_transform_edt(~va)  # distance of every cell to the nearest a-voxel
    edt_b = distance_transform_edt(~vb)
    best: tuple[float, int] | None = None
    best_shift = np.zeros(3, dtype=np.int64)
    for s in _shifts(margin):
        qa = pa + s  # a shifted by s stays inside the padded grid
        d_ab = float(edt_b[qa[:, 0], qa[:, 1], qa[:, 2]].mean())
        qb = pb - s  # distance from b to (a + s) == distance from (b - s) to a
        d_ba = float(edt_a[qb[:, 0], qb[:, 1], qb[:, 2]].mean())
        d = 0.5 * (d_ab + d_ba)
        inter = int(vb[qa[:, 0], qa[:, 1], qa[:, 2]].sum())
        key = (round(d, 9), -inter)  # rounding: equal distances summed in another order still tie
        if best is None or key < best:
            best = key
            best_shift = s
            if d == 0.0:
                break  # exact match: no later shift can beat it
    return _evaluate_shift(pa, pb, vb, edt_a, edt_b, best_shift, tau, scale)


def _evaluate_shift(pa: np.ndarray, pb: np.ndarray, vb: np.ndarray, edt_a: np.ndarray, edt_b: np.ndarray,
                    s: np.ndarray, tau: float, scale: float) -> VoxelComparison:
    qa, qb = pa + s, pb - s
    da = edt_b[qa[:, 0], qa[:, 1], qa[:, 2]]
    db = edt_a[qb[:, 0], qb[:, 1], qb[:, 2]]
    d_ab, d_ba = float(da.mean()), float(db.mean())
    d = 0.5 * (d_ab + d_ba)
    inter = int(vb[qa[:, 0], qa[:, 1], qa[:, 2]].sum())
    union = len(pa) + len(pb) - inter
    precision = float(np.count_nonzero(da <= tau + 1e-9) / len(da))
    recall = float(np.count_nonzero(db <= tau + 1e-9) / len(db))
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    shift = (int(s[0]), int(s[1]), int(s[2]))
    return VoxelComparison(inter / union, d, d_ab, d_ba, precision, recall, f, distance_reward(d, scale),
                           shift, tau, scale, len(pa), len(pb))


def chamfer_distance(a: VoxelLike, b: VoxelLike, *, align: int | Sequence[int] = 0) -> float:
    """Symmetric mean nearest-neighbour distance in voxels (0 if both empty, inf if one is)."""
    return compare(a, b, align=align).distance


def fscore(a: VoxelLike, b: VoxelLike, tau: float = DEFAULT_TAU, *, align: int | Sequence[int] = 0) -> float:
    """Harmonic mean of precision and recall at distance threshold `tau` (voxels)."""
    return compare(a, b, tau=tau, align=align).fscore


def best_translation(a: VoxelLike, b: VoxelLike, bound: int | Sequence[int] = 2) -> tuple[int, int, int]:
    """The integer shift of `a` (within `bound`) that best matches `b` (see :func:`compare`)."""
    return compare(a, b, align=bound).shift
