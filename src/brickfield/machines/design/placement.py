"""Placement: construction tree -> world poses and boxes, and the global-position representation.

The rule (BesiegeField reference, confirmed on every labelled case):

1. A child's origin is its parent's attach point, rounded to 2 decimals in the *pre-placement
   frame* (root at (0, 5.05, 0)).
2. Its outward normal is found on the parent's axis-aligned box by testing the faces in the order
   x-, x+, y-, y+, z-, z+ with eps 0.005 (the container uses a 1x1x1 box at (0,0,0.5)).
3. Its rotation is the shortest arc taking +z to that normal (180 deg about y for -z). There is no
   roll, so only six rotations occur. Powered wheels (2, 46) facing x- are ``flipped``.
4. Auto-placement centres the machine's box in x and z and puts its lowest point at y = 0.5.

With ``reference_quirks=True`` two reference behaviours are kept: every linear block adds a phantom
point at the pre-frame origin to the auto-placement box (quirk 1), and the face test runs on the
parent's *world* box, so points on an edge of a rotated parent (large wheels 46/60) change face
with the parent's orientation (quirk 2). With ``False`` the phantom is dropped and the face is
found in the parent's own frame, front/back faces first (so a large wheel's bp 1-4 always face its
front, as the block description labels them). Details: ``docs/machines_validity.md``.

Everything a user sees is in Besiege coordinates (left-handed, y up, z forward), quaternions
[x, y, z, w].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from brickfield.core.textio import short_repr
from brickfield.machines.design.catalog import BLOCKS, FLIP_SENSITIVE, attach_box
from brickfield.machines.design.quat import quat_matrix
from brickfield.machines.design.tree import (
    DEFAULT_LIMITS,
    MAX_BLOCKS,
    ConstructionTree,
    TreeCode,
    TreeLimits,
    TreeParseError,
    load_tree_data,
)
from brickfield.machines.design.types import PlacedBlock, PlacedMachine, TreeBlock, Vec3

__all__ = [
    "FACINGS",
    "FACING_QUATS",
    "GROUND_Y",
    "PRE_PLACEMENT_ORIGIN",
    "Layout",
    "facing_of_quaternion",
    "layout",
    "place",
    "to_global",
    "tree_from_global",
]

PRE_PLACEMENT_ORIGIN: Vec3 = (0.0, 5.05, 0.0)
"""Where the reference builds the machine before auto-placement (root position)."""
GROUND_Y = 0.5
"""Auto-placement puts the machine's lowest point at this height."""
FACE_EPS = 0.005

FACINGS: tuple[str, ...] = ("x-", "x+", "y-", "y+", "z-", "z+")
"""Face labels in the priority order of the face test; index = facing code used below."""
_Z_PLUS = 5
_S = math.sqrt(0.5)
FACING_QUATS: dict[str, tuple[float, float, float, float]] = {
    "x-": (0.0, -_S, 0.0, _S), "x+": (0.0, _S, 0.0, _S),
    "y-": (_S, 0.0, 0.0, _S), "y+": (-_S, 0.0, 0.0, _S),
    "z-": (0.0, 1.0, 0.0, 0.0), "z+": (0.0, 0.0, 0.0, 1.0),
}
"""Shortest-arc rotation taking +z to each face normal, [x, y, z, w]."""


def _matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    return np.rint(quat_matrix(q))  # the six rotations are signed permutations: keep them exact


_ROT = np.stack([_matrix(FACING_QUATS[f]) for f in FACINGS])          # (6, 3, 3)
_NORMALS = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]], float)
_SIGNS = np.array([[sx, sy, sz] for sz in (-1, 1) for sx in (-1, 1) for sy in (-1, 1)], float)  # 8 corners


_REFERENCE_ORDER = np.arange(6)                  # x-, x+, y-, y+, z-, z+
_FRONT_FIRST_ORDER = np.array([5, 4, 0, 1, 2, 3])  # z+, z-, x-, x+, y-, y+ (fixed mode, block frame)


def _face_codes(points: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                order: np.ndarray = _REFERENCE_ORDER) -> np.ndarray:
    """Facing code of each point on the box [lo, hi]: the first face in ``order`` within eps."""
    if len(points) == 0:
        return np.zeros(0, dtype=int)
    bounds = np.stack([lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]])               # (6,)
    hit = (np.abs(points[:, [0, 0, 1, 1, 2, 2]] - bounds) < FACE_EPS)[:, order]  # (k, 6)
    if not hit.any(axis=1).all():
        raise TreeParseError(TreeCode.BAD_ATTACH_POINT, "attach point not on any face of its block")
    return order[hit.argmax(axis=1)]


class _Builder:
    """Places blocks one at a time (parents first), keeping pre-frame attach points and faces."""

    def __init__(self, reference_quirks: bool) -> None:
        self.quirks = reference_quirks
        self.origin = np.array(PRE_PLACEMENT_ORIGIN)
        self.types: list[str] = []
        self.facing: list[int] = []
        self.pos: list[np.ndarray] = []           # pre-frame position (end A for linear blocks)
        self.pos_b: list[np.ndarray | None] = []  # pre-frame end B (linear blocks only)
        self.box: list[tuple[np.ndarray, np.ndarray] | None] = []
        self.points: list[np.ndarray] = []        # pre-frame attach points, rounded to 2 decimals
        self.faces: list[np.ndarray] = []         # facing code of each attach point

    def add(self, type_id: str, attachments: Sequence[tuple[int, int]]) -> None:
        """Place the next block on (parent index, attach point) pairs (none for the root)."""
        spec = BLOCKS[type_id]
        self.types.append(type_id)
        if spec.is_linear:
            (pa, ka), (pb, kb) = attachments
            self.pos.append(self.points[pa][ka])
            self.pos_b.append(self.points[pb][kb])
            self.facing.append(int(self.faces[pa][ka]))
            self.box.append(None)
            self.points.append(np.zeros((0, 3)))
            self.faces.append(np.zeros(0, dtype=int))
            return
        if attachments:
            p, k = attachments[0]
            pos, code = self.points[p][k], int(self.faces[p][k])
        else:  # the root, or a parentless block the reference puts at the origin
            pos, code = self.origin, _Z_PLUS
        rot = _ROT[code]
        local = pos - self.origin  # machine frame, with the same float noise as the reference
        center, half = np.array(spec.center), np.array(spec.size) / 2
        corners = np.round(self.origin + local + (center + _SIGNS * half) @ rot.T, 2)
        pts = np.array(spec.attach_points, dtype=float).reshape(-1, 3)
        pts_machine = local + pts @ rot.T
        acenter, asize = (np.array(v) for v in attach_box(spec))
        alo, ahi = acenter - np.array(asize) / 2, acenter + np.array(asize) / 2
        if self.quirks:  # face test on the world-axis box of the rotated block
            wc = local + (acenter + _SIGNS * (ahi - alo) / 2) @ rot.T
            faces = _face_codes(np.round(pts_machine, 3), wc.min(axis=0), wc.max(axis=0))
        else:            # face test in the block's own frame (front/back first), then rotated
            local_faces = _face_codes(pts, alo, ahi, _FRONT_FIRST_ORDER)
            faces = np.array([_normal_code(rot @ _NORMALS[c]) for c in local_faces], dtype=int)
        self.pos.append(pos)
        self.pos_b.append(None)
        self.facing.append(code)
        self.box.append((corners.min(axis=0), corners.max(axis=0)))
        self.points.append(np.round(self.origin + pts_machine, 2))
        self.faces.append(faces)


def _normal_code(n: np.ndarray) -> int:
    return int(np.argmax(_NORMALS @ n))


@dataclass(frozen=True)
class Layout:
    """A placed tree with the arrays validity checks need (pre-placement frame, as the reference).

    ``box_lo``/``box_hi`` are 2-decimal pre-frame AABBs; linear blocks have a zero box at the
    pre-frame origin (the phantom) when ``reference_quirks`` is set, else NaN. ``size`` is
    (length z, width x, height y), unrounded, as the size check compares it; ``phantom_lift`` how
    much higher the phantom point put the machine than its solid blocks alone would.
    """

    tree: ConstructionTree
    reference_quirks: bool
    facing: tuple[int, ...]
    pos: np.ndarray
    pos_b: np.ndarray
    box_lo: np.ndarray
    box_hi: np.ndarray
    solid: np.ndarray
    global_position: np.ndarray
    size: tuple[float, float, float]
    phantom_lift: float = 0.0  # extra height the linear-block phantom point added (quirk 1)

    @property
    def offset(self) -> np.ndarray:
        """Pre-placement frame -> world."""
        return self.global_position - np.array(PRE_PLACEMENT_ORIGIN)

    def placed(self, errors: Sequence[str] = ()) -> PlacedMachine:
        """The ``PlacedMachine`` (world coordinates after auto-placement)."""
        off = self.offset
        out: list[PlacedBlock] = []
        for i, b in enumerate(self.tree.blocks):
            facing = FACINGS[self.facing[i]]
            if self.solid[i]:
                rotation = FACING_QUATS[facing]
                box_min, box_max = _vec(self.box_lo[i] + off), _vec(self.box_hi[i] + off)
                pos_b = None
            else:  # linear: end A, end B; the .bsg rotation is identity
                rotation = FACING_QUATS["z+"]
                box_min = box_max = None
                pos_b = _vec(self.pos_b[i] + off)
            out.append(PlacedBlock(
                index=i, order_id=b.order_id, type_id=b.type_id, position=_vec(self.pos[i] + off),
                rotation=rotation, parents=self.tree.parents[i], box_min=box_min, box_max=box_max,
                position_b=pos_b, flipped=b.type_id in FLIP_SENSITIVE and facing == "x-", facing=facing))
        return PlacedMachine(tuple(out), _vec(self.global_position), self.size, tuple(errors))


def _vec(v: np.ndarray) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def layout(tree: ConstructionTree, *, reference_quirks: bool = True, max_blocks: int = MAX_BLOCKS) -> Layout:
    """Place every block of ``tree`` and auto-place the machine (see the module docstring).

    Raises ``TreeParseError`` (``too_many_blocks``) for a tree over ``max_blocks`` blocks (a tree
    built in code skips the parser's limit; placement is where every path meets)."""
    _check_size(len(tree), max_blocks)
    builder = _Builder(reference_quirks)
    for i, b in enumerate(tree.blocks):
        builder.add(b.type_id, tree.attachments(i))
    n = len(tree)
    solid = np.array([box is not None for box in builder.box], dtype=bool)
    phantom = 0.0 if reference_quirks else np.nan
    lo = np.array([box[0] if box is not None else np.full(3, phantom) for box in builder.box])
    hi = np.array([box[1] if box is not None else np.full(3, phantom) for box in builder.box])
    pos_b = np.array([p if p is not None else np.full(3, np.nan) for p in builder.pos_b]).reshape(n, 3)
    keep = solid | (reference_quirks & ~solid)  # the phantom point counts in the machine box
    mins, maxs = lo[keep].min(axis=0), hi[keep].max(axis=0)
    gp = np.array(PRE_PLACEMENT_ORIGIN)
    gp[1] -= mins[1] - GROUND_Y
    gp[0] -= (maxs[0] + mins[0]) / 2
    gp[2] -= (maxs[2] + mins[2]) / 2
    size = (float(maxs[2] - mins[2]), float(maxs[0] - mins[0]), float(maxs[1] - mins[1]))
    # How far the phantom point moved the machine (quirk 1): reported as a warning by validity.
    phantom_lift = float(lo[solid, 1].min() - mins[1]) if reference_quirks and not solid.all() else 0.0
    return Layout(tree, reference_quirks, tuple(builder.facing), np.array(builder.pos).reshape(n, 3),
                  pos_b, lo, hi, solid, gp, size, phantom_lift)


def place(tree: ConstructionTree, *, reference_quirks: bool = True,
          max_blocks: int = MAX_BLOCKS) -> PlacedMachine:
    """World poses, boxes and facings of every block of ``tree`` after auto-placement (raises
    ``TreeParseError`` ``too_many_blocks`` over ``max_blocks``)."""
    return layout(tree, reference_quirks=reference_quirks, max_blocks=max_blocks).placed()


def _check_size(n: int, max_blocks: int) -> None:
    if n > max_blocks:
        raise TreeParseError(TreeCode.TOO_MANY_BLOCKS, f"{n} blocks, over the limit of {max_blocks}")


# --- global-position representation (the abl-threed-rep format) ---------------------------------

def facing_of_quaternion(q: Sequence[float], tol: float = 1e-3) -> str | None:
    """The facing label whose rotation equals ``q`` (up to sign), or None."""
    v = np.asarray(q, dtype=float)
    if v.shape != (4,) or not np.all(np.isfinite(v)) or np.linalg.norm(v) == 0:
        return None
    v = v / np.linalg.norm(v)
    for label, ref in FACING_QUATS.items():
        if abs(abs(float(np.dot(v, ref))) - 1.0) < tol:
            return label
    return None


def to_global(machine: PlacedMachine) -> list[dict[str, Any]]:
    """The global-position form: ``[{"GP", "GR"}, {"id", "Position", "Rotation"[, "end-position"]}...]``.

    Positions are in the machine frame (root at the origin) with ``GP`` the machine's global position,
    as a ``.bsg`` stores them; linear blocks carry ``end-position`` = B - A and identity rotation.
    """
    gp = np.array(machine.global_position)
    out: list[dict[str, Any]] = [{"GP": _rounded(gp), "GR": [0.0, 0.0, 0.0, 1.0]}]
    for b in machine.blocks:
        entry: dict[str, Any] = {"id": int(b.type_id) if b.type_id.isdigit() else b.type_id,
                                 "Position": _rounded(np.array(b.position) - gp),
                                 "Rotation": [round(c, 6) + 0.0 for c in b.rotation]}
        if b.position_b is not None:
            entry["end-position"] = _rounded(np.array(b.position_b) - np.array(b.position))
        out.append(entry)
    return out


def _rounded(v: np.ndarray) -> list[float]:
    return [round(float(c), 6) + 0.0 for c in v]  # + 0.0 turns -0.0 into 0.0


_MAX_COORD = 1e6
"""Largest |coordinate| the global-position form accepts (a build area is 17 m; this keeps every
later difference finite)."""


def _vector(value: Any, n: int, what: str, item: int) -> np.ndarray:
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != n:
        arr = np.zeros(0)
    else:
        try:  # OverflowError: an int too large for a float (10**400)
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError, OverflowError):
            arr = np.zeros(0)
    if arr.shape != (n,) or not np.all(np.abs(arr) < _MAX_COORD):   # NaN fails the comparison
        raise TreeParseError(TreeCode.BAD_VALUE, f"block {item}: {what} must be {n} numbers below "
                             f"{_MAX_COORD:g} in magnitude", item=item)
    return arr


def tree_from_global(source: str | bytes | Sequence[Any], *, reference_quirks: bool = True,
                     limits: TreeLimits = DEFAULT_LIMITS, tol: float = 0.01) -> ConstructionTree:
    """Recover a construction tree from the global-position form (see ``to_global``).

    Each block must sit on an attach point of an earlier block, facing that point's normal; linear
    blocks need both ends on attach points. The first matching parent in list order wins. Raises
    ``TreeParseError`` (codes ``bad_json``, ``empty``, ``wrong_keys``, ``bad_value``, ``unknown_type``,
    ``bad_root``, ``bad_parent``).
    """
    # one more entry than blocks: the optional leading {"GP", "GR"} is not a block
    data = load_tree_data(source, replace(limits, max_blocks=limits.max_blocks + 1))
    if isinstance(data[0], dict) and "GP" in data[0]:
        data = data[1:]
        if not data:
            raise TreeParseError(TreeCode.EMPTY, "the block list holds only the global position")
    _check_size(len(data), limits.max_blocks)
    builder = _Builder(reference_quirks)
    points = _PointIndex()
    blocks: list[TreeBlock] = []
    parents: list[tuple[int, ...]] = []
    attach: list[tuple[int, ...]] = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or not {"id", "Position", "Rotation"} <= set(d):
            raise TreeParseError(TreeCode.WRONG_KEYS, f"block {i} needs id, Position and Rotation", item=i)
        tid = d["id"]
        # an int type id as text; one with thousands of digits has no str() (and is no type anyway)
        type_id = tid if isinstance(tid, str) else \
            str(tid) if isinstance(tid, int) and not isinstance(tid, bool) and abs(tid) < 10**9 else ""
        if type_id not in BLOCKS:
            raise TreeParseError(TreeCode.UNKNOWN_TYPE, f"block {i}: unknown block type {short_repr(tid)}",
                                 item=i)
        pos = _vector(d["Position"], 3, "Position", i) + np.array(PRE_PLACEMENT_ORIGIN)
        if i == 0:
            if type_id != "0" or np.abs(pos - builder.origin).max() > tol:
                raise TreeParseError(TreeCode.BAD_ROOT, "the first block must be the starting block at the "
                                     "origin", item=0)
            found: list[tuple[int, int]] = []
        elif BLOCKS[type_id].is_linear:
            if "end-position" not in d:
                raise TreeParseError(TreeCode.WRONG_KEYS, f"block {i}: linear block without end-position",
                                     item=i)
            end = pos + _vector(d["end-position"], 3, "end-position", i)
            found = [points.find(pos, None, tol, i), points.find(end, None, tol, i)]
        else:
            facing = facing_of_quaternion(_vector(d["Rotation"], 4, "Rotation", i))
            if facing is None:
                raise TreeParseError(TreeCode.BAD_VALUE, f"block {i}: rotation is not one of the six facings",
                                     item=i)
            found = [points.find(pos, FACINGS.index(facing), tol, i)]
        builder.add(type_id, found)
        points.add(i, builder.points[-1], builder.faces[-1])
        parents.append(tuple(p for p, _ in found))
        attach.append(tuple(k for _, k in found))
        if len(found) == 2:
            (pa, ka), (pb, kb) = found
            blocks.append(TreeBlock(type_id, i, pa, ka, pb, kb))
        else:
            blocks.append(TreeBlock(type_id, i, found[0][0], found[0][1]) if found else TreeBlock("0", 0))
    return ConstructionTree(tuple(blocks), tuple(parents), tuple(attach))


class _PointIndex:
    """The attach points of every block placed so far in one growing array (block order, then point
    order), so finding the first point at a position is one vectorised test, not a loop over blocks
    (which made a 512-block global form take seconds)."""

    def __init__(self) -> None:
        self.pts = np.zeros((64, 3))
        self.faces = np.zeros(64, dtype=int)
        self.owner = np.zeros(64, dtype=int)   # block index of each point
        self.local = np.zeros(64, dtype=int)   # its index among that block's points
        self.n = 0

    def add(self, block: int, pts: np.ndarray, faces: np.ndarray) -> None:
        """Append the attach points of block ``block``."""
        k = len(pts)
        if self.n + k > len(self.pts):
            size = max(2 * len(self.pts), self.n + k)
            for name in ("pts", "faces", "owner", "local"):
                old = getattr(self, name)
                new = np.zeros((size, *old.shape[1:]), dtype=old.dtype)
                new[:self.n] = old[:self.n]
                setattr(self, name, new)
        self.pts[self.n:self.n + k] = pts
        self.faces[self.n:self.n + k] = faces
        self.owner[self.n:self.n + k] = block
        self.local[self.n:self.n + k] = np.arange(k)
        self.n += k

    def find(self, pos: np.ndarray, facing: int | None, tol: float, item: int) -> tuple[int, int]:
        """First (block, attach point) at ``pos`` (and with that facing, for solid blocks)."""
        close = np.abs(self.pts[:self.n] - pos).max(axis=1) <= tol
        if facing is not None:
            close &= self.faces[:self.n] == facing
        if not close.any():
            raise TreeParseError(TreeCode.BAD_PARENT, f"block {item} does not sit on an attach point of "
                                 "an earlier block with a matching facing", item=item)
        k = int(np.argmax(close))
        return int(self.owner[k]), int(self.local[k])
