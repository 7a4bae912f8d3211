"""A deliberately small tree -> PlacedMachine helper for physics unit tests.

It implements only what hand-written test machines need (child origin = parent attach point,
outward face normal of the parent's world box, no-roll rotations, flipped powered wheels, ground
drop so the lowest point sits at ``lowest``). The project's real placement lives in
``brickfield.machines.design.placement``; these tests exercise physics independently of it.
"""

from __future__ import annotations

import numpy as np

from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.types import PlacedBlock, PlacedMachine

_S = np.sqrt(0.5)
FACING_QUAT = {  # [x, y, z, w] taking local +z to the facing direction (Besiege frame)
    "z+": (0.0, 0.0, 0.0, 1.0), "z-": (0.0, 1.0, 0.0, 0.0), "x-": (0.0, -_S, 0.0, _S),
    "x+": (0.0, _S, 0.0, _S), "y+": (-_S, 0.0, 0.0, _S), "y-": (_S, 0.0, 0.0, _S),
}


def rot(q: tuple[float, ...]) -> np.ndarray:
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _box(type_id: str, pos: np.ndarray, q: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    s = BLOCKS[type_id]
    centre, size = (np.array([0, 0, 0.5]), np.ones(3)) if type_id == "30" else (np.array(s.center),
                                                                                 np.array(s.size))
    r = rot(q)
    c = pos + r @ centre
    half = np.abs(r) @ (size / 2)
    return c - half, c + half


def place(tree: list[dict], lowest: float = 0.5) -> PlacedMachine:
    """Place a construction tree (list of dicts in the BesiegeField format)."""
    pos: list[np.ndarray] = []
    quats: list[tuple[float, ...]] = []
    facing: list[str] = []
    ends: list[tuple[np.ndarray, np.ndarray] | None] = []

    def attach(p: int, bp: int) -> np.ndarray:
        return np.round(pos[p] + rot(quats[p]) @ np.array(BLOCKS[tree[p]["id"]].attach_points[bp]), 4)

    for i, t in enumerate(tree):
        tid = str(t["id"])
        if i == 0:
            pos.append(np.zeros(3))
            quats.append(FACING_QUAT["z+"])
            facing.append("z+")
            ends.append(None)
            continue
        if "parent_a" in t:
            a, b = attach(t["parent_a"], t["bp_id_a"]), attach(t["parent_b"], t["bp_id_b"])
            pos.append(a)
            quats.append(FACING_QUAT["z+"])
            facing.append("z+")
            ends.append((a, b))
            continue
        p = t["parent"]
        pt = attach(p, t["bp_id"])
        lo, hi = _box(str(tree[p]["id"]), pos[p], quats[p])
        face = "z+"
        for ax, name in ((0, "x"), (1, "y"), (2, "z")):
            if abs(pt[ax] - lo[ax]) < 0.005:
                face = name + "-"
                break
            if abs(pt[ax] - hi[ax]) < 0.005:
                face = name + "+"
                break
        pos.append(pt)
        quats.append(FACING_QUAT[face])
        facing.append(face)
        ends.append(None)
    lows = [_box(str(t["id"]), pos[i], quats[i])[0][1] for i, t in enumerate(tree) if ends[i] is None]
    shift = np.array([0.0, lowest - min(lows), 0.0])
    blocks = []
    for i, t in enumerate(tree):
        tid = str(t["id"])
        parents: tuple[int, ...] = ()
        if "parent_a" in t:
            parents = (t["parent_a"], t["parent_b"])
        elif i > 0:
            parents = (t["parent"],)
        lo_hi = None if ends[i] is not None else _box(tid, pos[i] + shift, quats[i])
        blocks.append(PlacedBlock(
            index=i, order_id=int(t["order_id"]), type_id=tid,
            position=tuple(pos[i] + shift), rotation=tuple(quats[i]), parents=parents,
            box_min=None if lo_hi is None else tuple(lo_hi[0]),
            box_max=None if lo_hi is None else tuple(lo_hi[1]),
            position_b=None if ends[i] is None else tuple(ends[i][1] + shift),
            flipped=tid in ("2", "46") and facing[i] == "x-", facing=facing[i]))
    return PlacedMachine(blocks=tuple(blocks), global_position=tuple(shift), size=(0.0, 0.0, 0.0))
