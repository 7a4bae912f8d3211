"""The search space of the offline designers: which blocks a level allows, how often each is
proposed, and where a new block can go in a construction tree.

Everything here is generic over the level's allowed blocks. The only task knowledge is a proposal
prior per win condition (``type_weights``): driving tasks favour powered wheels, throwing tasks
favour loose blocks, holders, joints and linear blocks. No machine is written down anywhere.

Geometry is read from ``placement.layout`` (the same placement the validity check uses), in the
pre-placement frame: for every attach point its position, outward normal, whether a solid block
already sits on it (``occupied``) and whether the cell in front of it lies inside another block
(``blocked``; a block added there would overlap, so samplers skip it before calling the check).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

import numpy as np

from brickfield.core import BrickfieldError, TaskSpec, TaskSpecError, get_domain
from brickfield.machines.design.catalog import BLOCKS, attach_box
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import FACING_QUATS, FACINGS, PRE_PLACEMENT_ORIGIN, Layout, layout
from brickfield.machines.design.quat import quat_matrix
from brickfield.machines.design.tree import ConstructionTree, TreeParseError
from brickfield.machines.design.types import BlockKind
from brickfield.machines.design.validity import SIZE_LIMITS, SizeLimits, spatial_errors
from brickfield.machines.tasks import allowed_block_types, task_level

__all__ = ["BARE_TREE", "DEFAULT_MAX_BLOCKS", "DesignSpace", "Geometry", "Inspection", "SearchSpaceError",
           "bare_tree", "task_spec", "type_weights"]

DEFAULT_MAX_BLOCKS = 40
"""Block cap of generated designs (root included); the reference machines use 6-14."""

BARE_TREE = '[{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]'
"""The bare starting block, the seed of a search from scratch."""

_PROBE = 0.25   # how far in front of an attach point the "blocked" test looks (m)
_EPS = 1e-6


class SearchSpaceError(BrickfieldError, ValueError):
    """A task name or start design the offline designers cannot work with."""


def bare_tree() -> ConstructionTree:
    """The tree holding only the starting block."""
    return parse_tree(BARE_TREE, reference_quirks=False)


def task_spec(task: str | TaskSpec) -> TaskSpec:
    """The machines ``TaskSpec`` of ``task`` (``"car:1"``, ``"catapult:8@3"`` or a spec)."""
    if isinstance(task, TaskSpec):
        if task.domain != "machines":
            raise SearchSpaceError(f"offline designers build machines, not {task.domain} designs")
        return task
    try:
        return get_domain("machines").task(str(task))
    except TaskSpecError as exc:
        raise SearchSpaceError(str(exc)) from None


# --- proposal prior ------------------------------------------------------------------------------

# Multipliers by block kind per win condition. Why: a driving score needs traction (powered wheels)
# on a light frame; a throwing score needs something loose, a holder for it, a joint to swing and
# an actuator (band) or spinner to swing it. Unlisted kinds keep weight 1.
_DRIVE = {BlockKind.POWERED: 4.0, BlockKind.RIGID: 1.5, BlockKind.JOINT: 0.5, BlockKind.LINEAR: 0.3,
          BlockKind.WHEEL: 1.0, BlockKind.LOOSE: 0.1}
_THROW = {BlockKind.LOOSE: 2.0, BlockKind.JOINT: 2.0, BlockKind.LINEAR: 2.0, BlockKind.RIGID: 1.0,
          BlockKind.POWERED: 0.5, BlockKind.WHEEL: 0.5}
_PRIORS: dict[str, dict[BlockKind, float]] = {
    "Car_distance": _DRIVE, "Target_deliver": _DRIVE,
    "Boulder_throw": _THROW, "Boulder_throw_with_target": _THROW,
}
# Per-type adjustments that hold for every task: ballast is heavy (slows cars, anchors
# catapults, so only a mild prior), a holder is the only block with a single inward attach point.
_TYPE_FACTOR = {"35": 0.5, "30": 3.0}


def type_weights(allowed: frozenset[str] | set[str], win_condition: str) -> dict[str, float]:
    """Proposal weight of every allowed non-root block type (sorted by type id)."""
    prior = _PRIORS.get(win_condition, {})
    out: dict[str, float] = {}
    for t in sorted(allowed, key=_type_key):
        spec = BLOCKS.get(t)
        if spec is None or spec.kind is BlockKind.ROOT:
            continue
        out[t] = prior.get(spec.kind, 1.0) * _TYPE_FACTOR.get(t, 1.0)
    return out


def _type_key(t: str) -> tuple[int, str]:
    head = t.split("_")[0]
    return (int(head) if head.isdigit() else 10**6, t)


# --- geometry -------------------------------------------------------------------------------------

_ROT = np.stack([np.rint(quat_matrix(FACING_QUATS[f])) for f in FACINGS])  # (6, 3, 3)
_FACE_NORMALS = np.array([[0, 0, 1], [0, 0, -1], [-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0]], float)


@cache
def _local_points(type_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Attach points and outward normals of a block type in its own frame (front face first when a
    point lies on an edge, as the placement's fixed reading does)."""
    spec = BLOCKS[type_id]
    pts = np.array(spec.attach_points, dtype=float).reshape(-1, 3)
    centre, size = (np.array(v, dtype=float) for v in attach_box(spec))
    lo, hi = centre - size / 2, centre + size / 2
    bounds = np.array([hi[2], lo[2], lo[0], hi[0], lo[1], hi[1]])
    axes = [2, 2, 0, 0, 1, 1]
    normals = np.zeros_like(pts)
    for i, p in enumerate(pts):
        hit = [abs(p[a] - b) < 0.005 for a, b in zip(axes, bounds, strict=True)]
        normals[i] = _FACE_NORMALS[hit.index(True)] if any(hit) else (0.0, 0.0, 1.0)
    return pts, normals


@dataclass(frozen=True)
class Geometry:
    """Every attach point of a placed tree (pre-placement frame), one row per (block, point)."""

    owner: np.ndarray      # (m,) list index of the block the point belongs to
    point: np.ndarray      # (m,) attach-point index (bp_id)
    position: np.ndarray   # (m, 3)
    normal: np.ndarray     # (m, 3) outward normal
    occupied: np.ndarray   # (m,) a solid block is attached there
    blocked: np.ndarray    # (m,) the cell in front lies inside another block's box

    @property
    def free(self) -> np.ndarray:
        """Rows where a new solid block may go (not occupied, not blocked)."""
        return ~self.occupied & ~self.blocked

    def row(self, block: int, point: int) -> int:
        """Row index of (block, point); -1 when absent."""
        hit = np.flatnonzero((self.owner == block) & (self.point == point))
        return int(hit[0]) if len(hit) else -1

    def mirror(self, row: int, centre_x: float) -> int:
        """Row of the point mirrored across the plane x = ``centre_x`` (normal mirrored too); -1 if
        none, or the row itself for a point on the plane facing along it."""
        p, n = self.position[row].copy(), self.normal[row].copy()
        p[0] = 2 * centre_x - p[0]
        n[0] = -n[0]
        hit = np.flatnonzero((np.abs(self.position - p).max(axis=1) < 0.01)
                             & (np.abs(self.normal - n).max(axis=1) < 0.01))
        return int(hit[0]) if len(hit) else -1

    def parallel(self, row: int, centre_x: float) -> np.ndarray:
        """Rows facing the same way as ``row`` at the same height and depth on the other side of the
        plane x = ``centre_x`` (e.g. two x+ faces left and right: a "parallel" pair, needed where
        mirror images would turn in opposite senses, as unflipped spinning blocks do), nearest to
        the mirror position first."""
        p, n = self.position[row], self.normal[row]
        side = np.sign(p[0] - centre_x)
        ok = ((np.abs(self.position[:, 1:] - p[1:]).max(axis=1) < 0.01)
              & (np.abs(self.normal - n).max(axis=1) < 0.01)
              & (np.sign(self.position[:, 0] - centre_x) == -side) & (side != 0))
        rows = np.flatnonzero(ok)
        return rows[np.argsort(np.abs(self.position[rows, 0] - (2 * centre_x - p[0])), kind="stable")]


def geometry_of(tree: ConstructionTree, lay: Layout) -> Geometry:
    """Attach points of every solid block of ``tree`` placed as ``lay``."""
    owners, points, positions, normals = [], [], [], []
    for i, b in enumerate(tree.blocks):
        if not lay.solid[i]:
            continue
        pts, nrm = _local_points(b.type_id)
        if not len(pts):
            continue
        rot = _ROT[lay.facing[i]]
        positions.append(lay.pos[i] + pts @ rot.T)
        normals.append(nrm @ rot.T)
        owners.append(np.full(len(pts), i))
        points.append(np.arange(len(pts)))
    if not owners:
        empty = np.zeros((0, 3))
        none = np.zeros(0, bool)
        return Geometry(np.zeros(0, int), np.zeros(0, int), empty, empty, none, none)
    owner, point = np.concatenate(owners), np.concatenate(points)
    pos, nrm = np.concatenate(positions), np.concatenate(normals)
    occupied = np.zeros(len(owner), dtype=bool)
    for i in range(1, len(tree)):
        if lay.solid[i]:
            (p, k), = tree.attachments(i)
            occupied[(owner == p) & (point == k)] = True
    probe = pos + _PROBE * nrm
    lo, hi = lay.box_lo[lay.solid], lay.box_hi[lay.solid]
    solid_idx = np.flatnonzero(lay.solid)
    inside = ((probe[:, None, :] > lo[None] + _EPS) & (probe[:, None, :] < hi[None] - _EPS)).all(axis=2)
    inside &= solid_idx[None, :] != owner[:, None]   # a block's own box never blocks its points
    return Geometry(owner, point, pos, nrm, occupied, inside.any(axis=1))


# --- the space ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Inspection:
    """One tree's placement, spatial errors and attach-point geometry (``valid``: no errors)."""

    tree: ConstructionTree
    layout: Layout
    errors: tuple[str, ...]
    geometry: Geometry

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class DesignSpace:
    """What a designer may build for one level: allowed types with proposal weights, a block cap, the
    validity mode of the level's evaluation.

    Build it with :meth:`for_task` (``"car:1"``, ``"catapult:1"``...).
    """

    spec: TaskSpec
    win_condition: str
    weights: Mapping[str, float]
    max_blocks: int = DEFAULT_MAX_BLOCKS
    reference_quirks: bool = True
    size_limits: SizeLimits = field(default=SIZE_LIMITS)

    @classmethod
    def for_task(cls, task: str | TaskSpec, *, max_blocks: int = DEFAULT_MAX_BLOCKS) -> DesignSpace:
        """The space of a machines task (``"car:1"`` or its ``TaskSpec``): the level's allowed blocks
        (all catalog blocks when the task allows any), its validity mode, ``max_blocks`` capped by
        the task's part limit."""
        spec = task_spec(task)
        if max_blocks < 1:
            raise SearchSpaceError(f"max_blocks must be >= 1, got {max_blocks}")
        p = spec.params
        lvl = task_level(spec)
        allowed = set(allowed_block_types(spec) or BLOCKS)
        weights = type_weights(allowed, lvl.win_condition)
        cap = min(max_blocks, spec.limits.max_parts or max_blocks)
        return cls(spec, lvl.win_condition, MappingProxyType(weights), cap, bool(p["reference_quirks"]))

    @property
    def task(self) -> str:
        """The task name (``car:1``)."""
        return self.spec.name

    @property
    def solid_types(self) -> tuple[str, ...]:
        """Allowed one-parent types (everything but linear blocks)."""
        return tuple(t for t in self.weights if not BLOCKS[t].is_linear)

    @property
    def linear_types(self) -> tuple[str, ...]:
        """Allowed two-parent types (brace, rubber band, winch)."""
        return tuple(t for t in self.weights if BLOCKS[t].is_linear)

    def inspect(self, tree: ConstructionTree) -> Inspection:
        """Place ``tree`` and run the spatial checks (the validity check's own functions)."""
        lay = layout(tree, reference_quirks=self.reference_quirks)
        errors = tuple(spatial_errors(lay, self.size_limits))
        return Inspection(tree, lay, errors, geometry_of(tree, lay))

    def allows(self, tree: ConstructionTree) -> bool:
        """Within the block cap and made of allowed blocks only."""
        return len(tree) <= self.max_blocks and all(t == "0" or t in self.weights for t in tree.types)

    def load(self, text: str) -> ConstructionTree:
        """A start design from text (tree JSON or LLM output), read strictly (order_id = list
        position, one block per attach point) so edits can address blocks by order_id."""
        try:
            tree = parse_tree(text, reference_quirks=False)
        except TreeParseError as exc:
            raise SearchSpaceError(f"start design is not a file-valid tree: {exc}") from None
        if not self.inspect(tree).valid:
            raise SearchSpaceError("start design is not spatially valid")
        return tree

    @property
    def centre_x(self) -> float:
        """x of the symmetry plane used for mirrored additions (the root's x)."""
        return float(PRE_PLACEMENT_ORIGIN[0])
