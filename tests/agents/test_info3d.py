"""The parsed 3D information: per-block records, text and JSON forms, wheel drive directions (equal to
the feedback module's), attach-point predictions checked against real placements, no MuJoCo import."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brickfield.agents.edits import Add, apply_edits
from brickfield.agents.info3d import direction_label, machine_info3d, wheel_drive
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import FACING_QUATS, place
from brickfield.machines.design.tree import TreeParseError
from tests.machines._trees import CAR, OVERLAPPING, RICH

CATAPULT = [
    {"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
    {"id": "63", "order_id": 1, "parent": 0, "bp_id": 0},
    {"id": "5", "order_id": 2, "parent": 0, "bp_id": 4},
    {"id": "63", "order_id": 3, "parent": 2, "bp_id": 3},
    {"id": "30", "order_id": 4, "parent": 3, "bp_id": 9},
    {"id": "36", "order_id": 5, "parent": 4, "bp_id": 0},
    {"id": "9", "order_id": 6, "parent_a": 1, "bp_id_a": 8, "parent_b": 3, "bp_id_b": 7},
]


def test_car_records() -> None:
    info = machine_info3d(parse_tree(CAR))
    assert [b.order_id for b in info.blocks] == list(range(6))
    root, log, *wheels = info.blocks
    assert (root.name, root.parents, root.facing, root.on_ground) == ("Starting Block", (), "z+", False)
    assert [(c.order_id, c.point, c.face) for c in root.children] == [(1, 0, "front"), (2, 2, "left"),
                                                                      (3, 3, "right")]
    assert root.free_points == (1, 4, 5)
    assert (log.parents[0].order_id, log.parents[0].point, log.parents[0].face) == (0, 0, "front")
    assert [w.drive for w in wheels] == ["z+"] * 4  # BesiegeField reports "Power Direction: z+" for all four
    assert [w.facing for w in wheels] == ["x-", "x+", "x-", "x+"]
    assert [w.flipped for w in wheels] == [True, False, True, False]
    assert all(w.on_ground for w in wheels) and not log.on_ground
    assert [w.rotation for w in wheels[:2]] == [FACING_QUATS["x-"], FACING_QUATS["x+"]]
    assert root.drive is None and log.drive is None
    assert info.errors == () and info.size == (5.0, 2.0, 2.0)


def test_text_is_one_line_per_block() -> None:
    info = machine_info3d(parse_tree(CAR))
    lines = info.to_text().splitlines()
    assert len(lines) == 2 + len(info.blocks)
    assert lines[0].startswith("Machine: 6 blocks; 5.00 m long (z) x 2.00 m wide (x) x 2.00 m high (y)")
    assert lines[2] == ("#0 0 Starting Block | root | faces z+ | centre (0.00, 1.50, -1.50) | "
                        "q [0, 0, 0, 1] | ground no | children #1@0 #2@2 #3@3 | free z- 1; y+ 4; y- 5")
    assert lines[4].startswith("#2 2 Powered Wheel | on #0 point 2 (left face) | faces x- (flipped) |")
    assert "| ground yes | drives z+ | free x- 0" in lines[4]
    assert "free z+ 0; x- 1-2; x+ 4-5; y+ 7-9; y- 10-12" in lines[3]


def test_json_form() -> None:
    info = machine_info3d(parse_tree(RICH))
    d = info.to_dict()
    assert json.loads(json.dumps(d)) == d
    band = next(b for b in d["blocks"] if b["type_id"] == "9")
    assert [p["order_id"] for p in band["parents"]] == [8, 6]
    assert band["box_min"] is None and band["length"] > 0 and band["end_b"] is not None
    ballast = d["blocks"][6]
    assert ballast["children"] == [{"order_id": 9, "point": 0, "face": "front"}]
    point0 = ballast["points"][0]
    assert point0["used_by"] == [9] and point0["occupied"] is False  # a rubber band only anchors there
    assert [b["drive"] for b in d["blocks"] if b["type_id"] in ("2", "46")] == ["z+"] * 4


def test_two_point_block_line_and_catapult_facts() -> None:
    info = machine_info3d(parse_tree(CATAPULT))
    band = info.blocks[6]
    assert band.to_text().startswith("#6 9 Rubber Band | joins #1 point 8 (up) at (")
    assert "and #3 point 7 (up) at" in band.to_text()
    assert band.length == pytest.approx(float(np.linalg.norm(np.subtract(band.end_b, band.position))))
    container = info.blocks[4]
    assert container.facing == "y+" and container.children[0].order_id == 5
    hinge = info.blocks[2]
    assert hinge.parents[0].face == "up" and hinge.facing == "y+"


def test_spatial_errors_and_inputs() -> None:
    info = machine_info3d(json.dumps(OVERLAPPING))
    assert info.errors and info.errors[0].startswith("overlap error:")
    assert info.to_text().splitlines()[0].endswith(
        "NOT spatially valid: overlap error:Block order_id 2 and Block order_id 6 overlap, "
        "totally 1 overlaps")
    with pytest.raises(TreeParseError):
        machine_info3d('[{"id": "0"}]')
    tree = parse_tree(CAR)
    assert machine_info3d(tree, placed=place(tree)) == machine_info3d(tree)
    shifted = [{**b, "order_id": b["order_id"] + 10 * (b["order_id"] > 0)} for b in CAR]
    assert machine_info3d(shifted) == machine_info3d(tree)  # ids are list positions, as edits use them


def test_wheel_drive_facts() -> None:
    # research note: a wheel facing z+ pushes x-, z- pushes x+, y+- gives no traction
    assert direction_label(wheel_drive(FACING_QUATS["z+"], False)) == "x-"
    assert direction_label(wheel_drive(FACING_QUATS["z-"], False)) == "x+"
    assert np.linalg.norm(wheel_drive(FACING_QUATS["y+"], False)) < 1e-9
    tree = apply_edits(parse_tree(CAR), "Add [2] to [1] in [0]\nAdd [2] to [0] in [5]", spatial=False).tree
    info = machine_info3d(tree)
    assert [b.drive for b in info.blocks[6:]] == ["x-", "none"]


@pytest.mark.parametrize("data", [CAR, RICH, CATAPULT], ids=["car", "rich", "catapult"])
@pytest.mark.parametrize("quirks", [True, False])
def test_free_point_predictions_match_real_placements(data: list, quirks: bool) -> None:
    """Build a small block on every free point: it must face the predicted direction and sit at the
    predicted position (relative to the root, since auto-placement re-centres the machine)."""
    tree = parse_tree(data, reference_quirks=quirks)
    info = machine_info3d(tree, reference_quirks=quirks)
    root0 = np.array(info.blocks[0].position)
    checked = 0
    for b in info.blocks:
        if quirks and b.type_id in ("46", "60"):
            continue  # reference mode: edge points of rotated large wheels change face (placement quirk 2)
        for p in b.points:
            if p.occupied:
                continue
            r = apply_edits(tree, [Add("15", ((b.order_id, p.index),))], spatial=False,
                            reference_quirks=quirks)
            assert r.ok, r.report()
            placed = place(r.tree, reference_quirks=quirks)
            new = placed.blocks[-1]
            assert new.facing == p.direction, (b.order_id, p.index)
            rel = np.array(new.position) - np.array(placed.blocks[0].position)
            assert np.allclose(rel, np.array(p.position) - root0, atol=0.011), (b.order_id, p.index)
            checked += 1
    assert checked >= 10

