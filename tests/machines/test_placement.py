"""Placement: child poses from attach points, facings, flips, auto-placement, the global form."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from brickfield.machines.design.catalog import BLOCKS, LINEAR_TYPES
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import (
    FACING_QUATS,
    FACINGS,
    facing_of_quaternion,
    layout,
    place,
    to_global,
    tree_from_global,
)
from brickfield.machines.design.tree import TreeParseError
from brickfield.machines.design.types import PlacedMachine
from tests.machines._trees import CAR, ROOT

NORMALS = {"x-": (-1, 0, 0), "x+": (1, 0, 0), "y-": (0, -1, 0), "y+": (0, 1, 0),
           "z-": (0, 0, -1), "z+": (0, 0, 1)}
ROOT_FACES = ("z+", "z-", "x-", "x+", "y+", "y-")  # root attach points 0..5


def rotate(q: tuple[float, ...], v: tuple[float, ...]) -> np.ndarray:
    x, y, z, w = q
    u = np.array([x, y, z])
    vv = np.array(v, dtype=float)
    return vv + 2 * w * np.cross(u, vv) + 2 * np.cross(u, np.cross(u, vv))


def placed(tree: list[dict[str, Any]], quirks: bool = True) -> PlacedMachine:
    return place(parse_tree(tree, reference_quirks=quirks), reference_quirks=quirks)


def lowest(m: PlacedMachine) -> float:
    return min(b.box_min[1] for b in m.blocks if b.box_min is not None)


def test_facing_quaternions_take_z_to_the_face_normal() -> None:
    assert FACINGS == ("x-", "x+", "y-", "y+", "z-", "z+")
    for label, q in FACING_QUATS.items():
        assert np.linalg.norm(q) == pytest.approx(1.0)
        assert np.allclose(rotate(q, (0, 0, 1)), NORMALS[label])
        assert facing_of_quaternion(q) == label
        assert facing_of_quaternion(tuple(-c for c in q)) == label  # q and -q are the same rotation
    # No roll: a block facing y+ has its left (x-) side... stay horizontal, its "up" turns to z-.
    assert np.allclose(rotate(FACING_QUATS["y+"], (0, 1, 0)), (0, 0, -1))
    assert facing_of_quaternion((0.3, 0.1, 0.2, 0.9)) is None


def test_verified_car() -> None:
    m = placed(CAR)
    root, log, w_lf, _, _, w_rb = m.blocks
    assert [b.facing for b in m.blocks] == ["z+", "z+", "x-", "x+", "x-", "x+"]
    assert [b.flipped for b in m.blocks] == [False, False, True, False, True, False]  # x- wheels flipped
    # Wheels sit against the sides of the root (front axle) and of the log's far end (rear axle).
    assert np.allclose(np.subtract(w_lf.position, root.position), (-0.5, 0, 0))
    assert np.allclose(np.subtract(w_rb.position, root.position), (0.5, 0, 3.0))
    assert np.allclose(np.subtract(log.position, root.position), (0, 0, 0.5))
    # Auto-placement: lowest point (wheel bottoms, 1 m below the axle) at y = 0.5, centred in x and z.
    assert lowest(m) == pytest.approx(0.5)
    lo = np.min([b.box_min for b in m.blocks], axis=0)
    hi = np.max([b.box_max for b in m.blocks], axis=0)
    assert np.allclose((lo + hi)[[0, 2]], 0.0)
    assert np.allclose(m.global_position, (0.0, 1.5, -1.5))
    assert m.size == pytest.approx((5.0, 2.0, 2.0))
    assert m.blocks[2].parents == (0,) and m.blocks[0].parents == ()


@pytest.mark.parametrize("tid", sorted(t for t in BLOCKS if t not in LINEAR_TYPES))
def test_every_block_extends_outward_from_every_root_face(tid: str) -> None:
    for bp, face in enumerate(ROOT_FACES):
        m = placed([ROOT, {"id": tid, "order_id": 1, "parent": 0, "bp_id": bp}])
        root, child = m.blocks
        assert child.facing == face
        n = np.array(NORMALS[face])
        face_point = np.array(root.position) + 0.5 * n
        assert np.allclose(child.position, face_point)  # origin = the root's attach point
        assert np.allclose(rotate(child.rotation, (0, 0, 1)), n)
        # The child's box lies on the outer side of that face (touching at most); only a second
        # starting block, centred on its origin, reaches back into its parent (reference probe-child-0).
        extent = np.array(child.box_min) if n.sum() > 0 else np.array(child.box_max)
        assert ((extent - face_point) @ n >= -1e-9) == (tid != "0")
        assert child.flipped == (tid in ("2", "46") and face == "x-")


def test_chain_of_logs_and_attach_point_positions() -> None:
    tree = [ROOT] + [{"id": "63", "order_id": i, "parent": i - 1, "bp_id": 0} for i in range(1, 4)]
    m = placed(tree)
    zs = [b.position[2] - m.blocks[0].position[2] for b in m.blocks]
    assert zs == pytest.approx([0.0, 0.5, 3.5, 6.5])
    assert m.size == pytest.approx((10.0, 1.0, 1.0))
    # A block on the log's side point 1 (left, first cell) faces x- and sits 0.5 m left of the axis.
    side = placed([ROOT, CAR[1], {"id": "15", "order_id": 2, "parent": 1, "bp_id": 1}]).blocks[2]
    assert side.facing == "x-"


def test_linear_block_ends_and_phantom_point() -> None:
    band = {"id": "9", "order_id": 6, "parent_a": 0, "bp_id_a": 4, "parent_b": 1, "bp_id_b": 9}
    m = placed([*CAR, band])
    b = m.blocks[6]
    root = np.array(m.blocks[0].position)
    assert np.allclose(np.subtract(b.position, root), (0, 0.5, 0))        # root top
    assert np.allclose(np.subtract(b.position_b, root), (0, 0.5, 3.0))    # log top (bp 9), last cell
    assert b.rotation == (0.0, 0.0, 0.0, 1.0) and b.box_min is None
    # Reference quirk 1: the phantom point at the pre-frame origin lifts the machine 4.05 m.
    lay = layout(parse_tree([*CAR, band]))
    assert lay.phantom_lift == pytest.approx(4.05)
    assert lowest(m) == pytest.approx(4.55)
    assert m.global_position[1] == pytest.approx(5.55)
    assert m.size[2] == pytest.approx(6.05)
    fixed = placed([*CAR, band], quirks=False)
    assert lowest(fixed) == pytest.approx(0.5) and fixed.size == pytest.approx((5.0, 2.0, 2.0))


def test_container_uses_a_unit_box_for_its_attach_face() -> None:
    tree = [ROOT, {"id": "30", "order_id": 1, "parent": 0, "bp_id": 4},
            {"id": "36", "order_id": 2, "parent": 1, "bp_id": 0}]
    _, cont, boulder = placed(tree).blocks
    assert cont.facing == boulder.facing == "y+"
    assert np.allclose(np.subtract(boulder.position, cont.position), (0, 1.0, 0))  # 1 m into the box
    # The boulder sits inside the container (it pokes 0.1 m out of the 2.8 m deep holder).
    assert np.all(np.array(cont.box_min) < boulder.box_min)
    assert np.all(np.array(boulder.box_max)[[0, 2]] < np.array(cont.box_max)[[0, 2]])
    assert boulder.box_max[1] - cont.box_max[1] == pytest.approx(0.1)


def test_large_wheel_edge_points_reference_vs_fixed() -> None:
    def edge_facing(root_bp: int, quirks: bool) -> str:
        tree = [ROOT, {"id": "46", "order_id": 1, "parent": 0, "bp_id": root_bp},
                {"id": "15", "order_id": 2, "parent": 1, "bp_id": 1}]
        return placed(tree, quirks).blocks[2].facing

    # Wheel facing z+: the reference's world-axis priority puts bp 1 on the x- side ...
    assert edge_facing(0, True) == "x-"
    # ... but facing x+ (the usual car wheel) on the wheel's front; the fixed rule always does that.
    assert edge_facing(3, True) == "x+"
    assert edge_facing(0, False) == "z+" and edge_facing(3, False) == "x+"


def test_global_representation_round_trip() -> None:
    band = {"id": "9", "order_id": 6, "parent_a": 0, "bp_id_a": 4, "parent_b": 1, "bp_id_b": 9}
    catapult = [ROOT, {"id": "30", "order_id": 1, "parent": 0, "bp_id": 4},
                {"id": "36", "order_id": 2, "parent": 1, "bp_id": 0},
                {"id": "46", "order_id": 3, "parent": 0, "bp_id": 2},
                {"id": "15", "order_id": 4, "parent": 3, "bp_id": 1},
                {"id": "7", "order_id": 5, "parent_a": 0, "bp_id_a": 5, "parent_b": 3, "bp_id_b": 8}]
    for tree in ([*CAR, band], catapult):
        for quirks in (True, False):
            m = placed(tree, quirks)
            rep = to_global(m)
            assert rep[0]["GR"] == [0.0, 0.0, 0.0, 1.0] and rep[1]["Position"] == [0.0, 0.0, 0.0]
            text = "```json\n" + json.dumps(rep) + "\n```"
            back = tree_from_global(text, reference_quirks=quirks)
            assert back.to_json() == tree
    assert "end-position" in to_global(placed([*CAR, band]))[7]


def test_global_representation_errors() -> None:
    rep = to_global(placed(CAR))
    bad = json.loads(json.dumps(rep))
    bad[3]["Position"][0] += 0.3  # no attach point there
    with pytest.raises(TreeParseError) as info:
        tree_from_global(bad)
    assert info.value.code == "bad_parent" and info.value.item == 2
    bad = json.loads(json.dumps(rep))
    bad[3]["Rotation"] = [0, 0, 0, 1]  # a wheel on the root's left side cannot face z+
    with pytest.raises(TreeParseError):
        tree_from_global(bad)
    with pytest.raises(TreeParseError) as info:
        tree_from_global([{"id": 63, "Position": [0, 0, 0], "Rotation": [0, 0, 0, 1]}])
    assert info.value.code == "bad_root"
    with pytest.raises(TreeParseError) as info:
        tree_from_global([{"id": 0, "Position": [0, 0], "Rotation": [0, 0, 0, 1]}])
    assert info.value.code == "bad_value"
    with pytest.raises(TreeParseError) as info:
        tree_from_global([rep[0]])  # the global position and no blocks
    assert info.value.code == "empty"


def test_placement_is_deterministic() -> None:
    assert placed(CAR) == placed(CAR)
