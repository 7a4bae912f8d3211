"""The parsed 3D information the inspector and the refiner read: one record per block of a placed
machine (no simulation, no MuJoCo).

Per block: order id, type and name, what it is attached to (parent order id, attach point and the
face of the parent it is on), what is attached to it, every attach point with its world position,
the world direction a block built there would face and what uses it, world centre and box,
orientation (quaternion [x, y, z, w] and facing label), whether it touches the ground as built, and,
for powered wheels, the direction the wheel drives the machine. ``Machine3DInfo.to_text()`` is the
compact form (one line per block) put in prompts, ``to_dict()`` the JSON form.

Coordinates are Besiege's as built by ``placement`` (left-handed, x right, y up, z forward, metres;
the machine's lowest point at y = 0.5, before a level moves it to its spawn point). "Touches the
ground" means the block's lowest point is within ``ground_tol`` of the machine's lowest point: the
blocks the machine stands on when dropped on flat ground. Order ids are list positions, the ids the
edit language uses (equal to the written ``order_id`` in any plainly written tree; see
``agents.edits.canonical_tree``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brickfield.machines.design.catalog import BLOCKS, POWERED_WHEEL_TYPES
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.quat import quat_matrix
from brickfield.machines.design.tree import ConstructionTree
from brickfield.machines.design.types import PlacedMachine, Quat, Vec3
from brickfield.machines.design.validity import check_tree
from brickfield.machines.design.wheels import drive_direction
from brickfield.machines.prompts import point_face

__all__ = ["AttachRef", "Block3DInfo", "Machine3DInfo", "PointInfo", "direction_label", "machine_info3d",
           "wheel_drive"]

_LOCAL_NORMALS: dict[str, tuple[float, float, float]] = {
    "front": (0.0, 0.0, 1.0), "back": (0.0, 0.0, -1.0), "left": (-1.0, 0.0, 0.0),
    "right": (1.0, 0.0, 0.0), "up": (0.0, 1.0, 0.0), "down": (0.0, -1.0, 0.0)}
_Z = np.array([0.0, 0.0, 1.0])


def direction_label(vec: Sequence[float] | np.ndarray) -> str:
    """Dominant axis of a vector with its sign (``x+``, ``z-``...), as the feedback module writes it."""
    v = np.asarray(vec, dtype=float)
    k = int(np.argmax(np.abs(v)))
    return f"{'xyz'[k]}{'+' if v[k] >= 0 else '-'}"


def wheel_drive(rotation: Quat | Sequence[float], flipped: bool) -> tuple[float, float, float]:
    """Direction a powered wheel with this orientation pushes the machine (zero when its axle is
    vertical). The motor turns unflipped wheels negatively about their facing axis (``sim.blocks``);
    rolling then moves the axle along -(axis x up) in Besiege's left-handed frame
    (``machines.design.wheels.drive_direction``)."""
    axis = quat_matrix(tuple(float(c) for c in rotation)) @ _Z  # type: ignore[arg-type]
    d = drive_direction(axis, flipped)
    return (float(d[0]) + 0.0, float(d[1]) + 0.0, float(d[2]) + 0.0)


@dataclass(frozen=True)
class AttachRef:
    """One attachment: the other block's ``order_id``, the attach ``point`` index and the ``face``
    (front, back, left, right, up, down; in the frame of the block that owns the point)."""

    order_id: int
    point: int
    face: str


@dataclass(frozen=True)
class PointInfo:
    """One attach point of a block: world position, the world direction a block attached there faces,
    the order ids of the blocks using it and whether a solid block sits on it (``occupied``; two-point
    blocks only anchor there and leave the point free, as the edit checks count it)."""

    index: int
    face: str
    direction: str
    position: Vec3
    used_by: tuple[int, ...] = ()
    occupied: bool = False


@dataclass(frozen=True)
class Block3DInfo:
    """Everything the 3D information says about one block (see the module docstring)."""

    order_id: int
    type_id: str
    name: str
    kind: str
    parents: tuple[AttachRef, ...]       # where this block attaches (two for two-point blocks)
    children: tuple[AttachRef, ...]      # blocks attached to this one, with this block's point
    points: tuple[PointInfo, ...]
    position: Vec3                       # connection point (end A of a two-point block)
    centre: Vec3                         # box centre (midpoint of the ends for two-point blocks)
    rotation: Quat                       # [x, y, z, w]
    facing: str                          # where the block's front points
    on_ground: bool
    box_min: Vec3 | None = None
    box_max: Vec3 | None = None
    flipped: bool = False
    drive: str | None = None             # powered wheels: direction driven; "none" for a vertical axle
    end_b: Vec3 | None = None            # two-point blocks
    length: float | None = None          # two-point blocks: distance between the ends

    @property
    def free_points(self) -> tuple[int, ...]:
        """Indices of the attach points no solid block sits on."""
        return tuple(p.index for p in self.points if not p.occupied)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record (lists, rounded floats)."""
        return _jsonable(asdict(self))

    def to_text(self) -> str:
        """One line: ``#order_id type name | attachment | facing | centre | quaternion | ground | ...``."""
        head = f"#{self.order_id} {self.type_id} {self.name}"
        if self.end_b is not None:
            a, b = self.parents
            return (f"{head} | joins #{a.order_id} point {a.point} ({a.face}) at {_vec(self.position)} and "
                    f"#{b.order_id} point {b.point} ({b.face}) at {_vec(self.end_b)} | length "
                    f"{self.length:.2f} m")
        where = "root" if not self.parents else \
            f"on #{self.parents[0].order_id} point {self.parents[0].point} ({self.parents[0].face} face)"
        parts = [head, where, f"faces {self.facing}" + (" (flipped)" if self.flipped else ""),
                 f"centre {_vec(self.centre)}", f"q {_quat(self.rotation)}",
                 "ground yes" if self.on_ground else "ground no"]
        if self.drive is not None:
            parts.append(f"drives {self.drive}")
        if self.children:
            parts.append("children " + " ".join(f"#{c.order_id}@{c.point}" for c in self.children))
        if self.points:
            parts.append("free " + (_grouped(self.points) or "none"))
        return " | ".join(parts)


@dataclass(frozen=True)
class Machine3DInfo:
    """The 3D information of a whole machine."""

    blocks: tuple[Block3DInfo, ...]
    size: tuple[float, float, float]     # (length z, width x, height y) as the size check measures it
    global_position: Vec3
    errors: tuple[str, ...] = ()         # spatial errors (overlaps, size) in the reference wording

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record: size, global_position, errors, blocks."""
        return {"size": [_r(v) for v in self.size], "global_position": [_r(v) for v in self.global_position],
                "errors": list(self.errors), "blocks": [b.to_dict() for b in self.blocks]}

    def to_text(self) -> str:
        """The compact text: a header, a legend, one line per block."""
        length, width, height = self.size
        errors = "; ".join(", ".join(ln for ln in e.strip().splitlines()) for e in self.errors)
        status = f"NOT spatially valid: {errors[:400]}" if self.errors else "spatially valid"
        plural = "s" if len(self.blocks) != 1 else ""
        return "\n".join([
            f"Machine: {len(self.blocks)} block{plural}; {length:.2f} m long (z) x {width:.2f} m wide (x) x "
            f"{height:.2f} m high (y); {status}",
            "Frame: x right, y up, z forward (left-handed), metres, as built. Per block: "
            "#order_id type name | attachment (point index, face of the parent) | direction its front "
            "faces | centre (x, y, z) | quaternion [x, y, z, w] | touches the ground | (powered wheels) "
            "direction it drives the machine | children #order_id@point | free attach points (no solid "
            "block on them) grouped by the direction a block built there would face",
            *(b.to_text() for b in self.blocks)])


def _r(x: float, d: int = 3) -> float:
    return round(float(x), d) + 0.0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _r(value)
    return value


def _vec(v: Sequence[float]) -> str:
    return "(" + ", ".join(f"{_r(c, 2):.2f}" for c in v) + ")"


def _quat(q: Sequence[float]) -> str:
    return "[" + ", ".join(f"{_r(c, 3):g}" for c in q) + "]"


def _grouped(points: Sequence[PointInfo]) -> str:
    """Free points grouped by direction, ranges collapsed: ``z+ 0; x- 1-3; y+ 7,9``."""
    groups: dict[str, list[int]] = {}
    for p in points:
        if not p.occupied:
            groups.setdefault(p.direction, []).append(p.index)
    out = []
    for d, ks in groups.items():
        runs: list[str] = []
        start = prev = ks[0]
        for k in [*ks[1:], None]:
            if k is not None and k == prev + 1:
                prev = k
                continue
            runs.append(str(start) if start == prev else f"{start}-{prev}")
            if k is not None:
                start = prev = k
        out.append(f"{d} {','.join(runs)}")
    return "; ".join(out)


def machine_info3d(tree: ConstructionTree | str | bytes | Sequence[Any], *, reference_quirks: bool = True,
                   placed: PlacedMachine | None = None, ground_tol: float = 0.05) -> Machine3DInfo:
    """The 3D information of ``tree`` (a ``ConstructionTree``, or text / a block list, parsed with
    ``parse_tree``, which raises ``TreeParseError`` for a file-invalid one).

    ``placed`` reuses an existing placement of the same tree (blocks in tree order); otherwise the
    tree is placed and its spatial errors are reported in ``errors``.
    """
    if not isinstance(tree, ConstructionTree):
        tree = parse_tree(tree, reference_quirks=reference_quirks)
    errors: tuple[str, ...] = ()
    if placed is None or len(placed.blocks) != len(tree):
        report = check_tree(tree, reference_quirks=reference_quirks)
        assert report.machine is not None
        placed, errors = report.machine, report.errors
    else:
        errors = placed.errors
    solid_lows = [b.box_min[1] for b in placed.blocks if b.box_min is not None]
    lowest = min(solid_lows) if solid_lows else 0.0
    users: dict[tuple[int, int], list[int]] = {}
    for i in range(len(tree)):
        for p, k in tree.attachments(i):
            users.setdefault((p, k), []).append(i)
    blocks = tuple(_block(tree, placed, i, users, lowest, ground_tol) for i in range(len(tree)))
    return Machine3DInfo(blocks, tuple(float(v) for v in placed.size), placed.global_position,  # type: ignore[arg-type]
                         tuple(errors))


def _block(tree: ConstructionTree, placed: PlacedMachine, i: int, users: dict[tuple[int, int], list[int]],
           lowest: float, ground_tol: float) -> Block3DInfo:
    b, pb = tree.blocks[i], placed.blocks[i]
    spec = BLOCKS[b.type_id]
    parents = tuple(AttachRef(p, k, _face(tree.blocks[p].type_id, k)) for p, k in tree.attachments(i))
    children = tuple(AttachRef(c, k, _face(b.type_id, k))
                     for c in tree.children(i) for p, k in tree.attachments(c) if p == i)
    rot = quat_matrix(pb.rotation)
    origin = np.array(pb.position)
    points = []
    for k, local in enumerate(spec.attach_points):
        face = _face(b.type_id, k)
        used = tuple(users.get((i, k), ()))
        solid_users = [c for c in users.get((i, k), ()) if placed.blocks[c].box_min is not None]
        # a block actually built there knows its facing; otherwise rotate the face normal
        direction = placed.blocks[solid_users[0]].facing if solid_users else \
            (direction_label(rot @ np.array(_LOCAL_NORMALS[face])) if face in _LOCAL_NORMALS else "none")
        world = origin + rot @ np.array(local)
        points.append(PointInfo(k, face, direction, _v3(world), used, bool(solid_users)))
    extra: dict[str, Any] = {}
    if pb.position_b is not None:
        a, bb = np.array(pb.position), np.array(pb.position_b)
        centre, on_ground = _v3((a + bb) / 2), False
        extra = {"end_b": pb.position_b, "length": float(np.linalg.norm(bb - a))}
    else:
        assert pb.box_min is not None and pb.box_max is not None
        centre = _v3((np.array(pb.box_min) + np.array(pb.box_max)) / 2)
        on_ground = pb.box_min[1] - lowest <= ground_tol
        extra = {"box_min": pb.box_min, "box_max": pb.box_max}
    if b.type_id in POWERED_WHEEL_TYPES:
        d = np.array(wheel_drive(pb.rotation, pb.flipped))
        extra["drive"] = direction_label(d) if np.linalg.norm(d) > 0.5 else "none"
    return Block3DInfo(i, b.type_id, spec.name, spec.kind.value, parents, children, tuple(points),
                       pb.position, centre, pb.rotation, pb.facing, bool(on_ground), flipped=pb.flipped,
                       **extra)


def _face(type_id: str, k: int) -> str:
    try:
        return point_face(type_id, k)
    except IndexError:  # reference mode resolves some out-of-range points by Python indexing
        return "inside"


def _v3(v: np.ndarray) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))
