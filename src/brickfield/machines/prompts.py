"""Prompt texts of the machines domain, generated from the block catalog and the level data so that
prompts and code cannot drift: the block table (ids, names, sizes, attach points per face) and the
task's system prompt (construction-tree format, rules, allowed blocks, controls, scoring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from brickfield.machines.design.catalog import LINEAR_TYPES, attach_box, get_block
from brickfield.machines.design.placement import FACING_QUATS
from brickfield.machines.design.quat import quat_matrix
from brickfield.machines.design.validity import SIZE_LIMITS, SizeLimits
from brickfield.machines.levels.registry import Level

__all__ = ["block_faces", "block_line", "block_table", "facing_table", "level_controls", "level_scoring",
           "machine_system_prompt", "point_face", "tree_format_rules", "type_order"]

_FACE_ORDER = ((2, 1, "front"), (2, -1, "back"), (0, -1, "left"), (0, 1, "right"), (1, -1, "down"),
               (1, 1, "up"))
"""(axis, side, name) in the order a point on two faces is named; block frame: +z front, x right, y up."""


def point_face(type_id: str, index: int) -> str:
    """Face of attach point ``index`` of a block type in the block's own frame: ``front``, ``back``,
    ``left``, ``right``, ``down`` or ``up`` (``inside`` when on none). Raises ``IndexError`` for a
    point the type does not have, ``UnknownBlockError`` for an unknown type."""
    spec = get_block(type_id)
    if not 0 <= index < len(spec.attach_points):
        raise IndexError(f"block type {type_id} has no attach point {index}")
    center, size = attach_box(spec)
    p = spec.attach_points[index]
    return next((n for axis, side, n in _FACE_ORDER
                 if abs(p[axis] - (center[axis] + side * size[axis] / 2)) < 5e-3), "inside")


def block_faces(type_id: str) -> str:
    """Attach points of a block type grouped by face, e.g. ``front 0; left 1-3; right 4-6``."""
    spec = get_block(type_id)
    groups: dict[str, list[int]] = {}
    for k in range(len(spec.attach_points)):
        groups.setdefault(point_face(type_id, k), []).append(k)

    def span(ks: list[int]) -> str:
        return str(ks[0]) if len(ks) == 1 else (f"{ks[0]}-{ks[-1]}" if ks == list(range(ks[0], ks[-1] + 1))
                                                else ",".join(map(str, ks)))
    return "; ".join(f"{face} {span(ks)}" for face, ks in groups.items())


def block_line(type_id: str) -> str:
    spec = get_block(type_id)
    if type_id in LINEAR_TYPES:
        return f"- {type_id} {spec.name}: two-point block, connects two attach points (no volume)"
    x, y, z = (f"{v:g}" for v in spec.size)
    points = f"attach points {block_faces(type_id)}" if spec.attach_points else "no attach points"
    return f"- {type_id} {spec.name} ({x}x{y}x{z} m): {points}"


def type_order(type_id: str) -> tuple[int, str]:
    """Sort key of block type ids: numeric ids in numeric order, then the rest."""
    head = type_id.split("_")[0]
    return (int(head) if head.isdigit() else 1 << 30, type_id)


def block_table(type_ids: Iterable[str]) -> str:
    """One line per block type (id, name, size, attach points per face), in id order."""
    return "\n".join(block_line(t) for t in sorted(type_ids, key=type_order))


def _schedule(level: Any) -> dict[str, list[list[float]]]:
    sched = getattr(level, "schedule", None)
    if hasattr(sched, "to_dict"):
        return sched.to_dict()
    if isinstance(sched, Mapping):
        return {str(k): [[float(a), float(b)] for a, b in v] for k, v in sched.items()}
    return {}


_SCORING = {
    "Car_distance": "score = straight-line distance (m) the Starting Block travels during the run",
    "Boulder_throw": "score = throw distance of the boulder x (1 + height gained), counted only if the "
                     "boulder flies at least 3 m high and is thrown, not carried",
    "Boulder_throw_with_target": "score = 1 when a boulder reaches the goal area, else the average of how "
                                 "close a boulder came to it and the level's progress",
    "Target_deliver": "score = 1 when the goal object reaches its goal area, else how much of the gap "
                      "between them was closed",
}


_LOCAL_AXES = (("front", (0.0, 0.0, 1.0)), ("back", (0.0, 0.0, -1.0)), ("left", (-1.0, 0.0, 0.0)),
               ("right", (1.0, 0.0, 0.0)), ("up", (0.0, 1.0, 0.0)), ("down", (0.0, -1.0, 0.0)))


def facing_table() -> str:
    """Where each face of a block points in the world for each of the six facings a block can have
    (blocks attach without roll, so the facing fixes everything), computed from the placement
    rotations: ``- facing x-: front x-, back x+, left z-, ...``."""
    lines = []
    for facing in ("z+", "z-", "x+", "x-", "y+", "y-"):
        rot = quat_matrix(FACING_QUATS[facing])
        cells = []
        for name, v in _LOCAL_AXES:
            w = [sum(rot[r][c] * v[c] for c in range(3)) for r in range(3)]
            k = max(range(3), key=lambda i: abs(w[i]))
            cells.append(f"{name} {'xyz'[k]}{'+' if w[k] > 0 else '-'}")
        lines.append(f"- facing {facing}: " + ", ".join(cells))
    return "\n".join(lines)


def tree_format_rules(size_limits: SizeLimits = SIZE_LIMITS) -> str:
    """The construction-tree format and building rules as a bullet list (keys, order ids, two-point
    blocks, attach points and facing, world frame, overlap and size limits, what powered parts do).
    Shared by the system prompt and the agent role prompts so they cannot disagree."""
    lim = size_limits
    return f"""- The first entry is the Starting Block: \
{{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}}.
- Every other block: {{"id": "<type id>", "order_id": <n>, "parent": <order_id of the block it attaches \
to>, "bp_id": <attach point index on that parent>}}. order_id counts 0, 1, 2, ... in list order and a \
parent always comes earlier in the list.
- Two-point blocks (brace 7, rubber band 9, winch 45) join two attach points instead: {{"id": "9", \
"order_id": <n>, "parent_a": <order_id>, "bp_id_a": <index>, "parent_b": <order_id>, "bp_id_b": <index>}}.
- Use exactly these keys; "id" is a string, the other values are integers.
- A block is built on its parent's attach point and points away from the face that point is on: its \
"front" is that outward direction, and it extends along it. Attach points are listed per face of the \
block in its own frame (front, back, left, right, up, down).
- World frame: y is up, z is forward, x is right (left-handed), 1 unit = 1 m. The Starting Block faces \
forward (+z).
- Blocks must not overlap, each attach point takes one block, and the machine must fit in \
{lim.length:g} m (z) x {lim.width:g} m (x) x {lim.height:g} m (y).
- Powered wheels spin from the start; a wheel whose axle points left or right drives the machine \
forward. Rubber bands contract while their key is held."""


def level_controls(lvl: Level) -> str:
    """The level's key schedule in words (``key L held 0-5 s``), or ``no keys are pressed``."""
    keys = _schedule(lvl)
    return "; ".join(f"key {k} held " + ", ".join(f"{a:g}-{b:g} s" for a, b in spans)
                     for k, spans in sorted(keys.items())) or "no keys are pressed"


def level_scoring(lvl: Level) -> str:
    """How the level scores a machine, in one sentence fragment (``score = ...``)."""
    return _SCORING.get(lvl.win_condition, f"scored by the {lvl.win_condition!r} win condition")


def machine_system_prompt(lvl: Level) -> str:
    """Format instructions for the construction-tree JSON on one level (blocks allowed there, rules,
    controls and scoring). Written for brickfield; the facts follow BesiegeField's format."""
    blocks = block_table(lvl.allowed_blocks)
    return f"""You design machines for a Besiege-style physics simulator.

Answer with one construction tree: a JSON list of blocks inside a ```json code block.
{tree_format_rules()}

Blocks allowed on this level (type id, name, size x*y*z, attach point indices per face):
{blocks}

Level {lvl.name}: the simulation runs {float(getattr(lvl, "duration", 0.0)):g} s; {level_controls(lvl)}.
Scoring: {level_scoring(lvl)}. An invalid machine scores 0."""
