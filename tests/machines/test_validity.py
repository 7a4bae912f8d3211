"""Validity reports: file + spatial checks, messages, quirk modes, the JSON form."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.validity import SizeLimits, check_machine, check_tree
from tests.machines._trees import CAR, ROOT

OVERLAP = "overlap error:Block order_id {} and Block order_id {} overlap\ntotally 1 overlaps\n"


def blk(tid: str, oid: int, parent: int, bp: int) -> dict[str, Any]:
    return {"id": tid, "order_id": oid, "parent": parent, "bp_id": bp}


def chain(*specs: tuple[str, int, int]) -> list[dict[str, Any]]:
    """Root plus blocks given as (type, parent, bp), numbered in order."""
    return [ROOT] + [blk(t, i, p, bp) for i, (t, p, bp) in enumerate(specs, 1)]


def test_verified_car_is_valid_and_serialises() -> None:
    report = check_machine("Here you go:\n```json\n" + json.dumps(CAR) + "\n```")
    assert report.valid and report.file_valid and report.spatial_valid is True
    d = report.to_dict()
    assert {"file_valid", "spatial_valid", "valid", "errors", "blocks"} <= set(d)
    assert d["errors"] == [] and d["warnings"] == [] and len(d["blocks"]) == 6
    assert d["blocks"][2] == {"order_id": 2, "type": "2", "position": [-0.5, 1.5, -1.5],
                              "rotation": [0.0, -0.707107, 0.0, 0.707107], "flipped": True}
    assert d["global_position"] == [0.0, 1.5, -1.5] and d["size"] == [5.0, 2.0, 2.0]
    assert json.loads(json.dumps(d)) == d


def test_overlap_message_and_touching_boxes() -> None:
    extra_wheel = [*copy.deepcopy(CAR), blk("2", 6, 1, 1)]  # on the log's left, next to wheel 2
    report = check_machine(extra_wheel)
    assert report.file_valid and report.spatial_valid is False and not report.valid
    assert report.errors == (OVERLAP.format(2, 6),)
    assert report.machine is not None and report.machine.errors == report.errors
    # Wheels on the root's front and back only touch the root: fine.
    assert check_machine(chain(("2", 0, 0), ("2", 0, 1))).valid


def test_container_exemption_is_for_direct_children_only() -> None:
    assert check_machine(chain(("30", 0, 4), ("63", 1, 0))).valid                # log inside a container
    grandchild = check_machine(chain(("30", 0, 4), ("15", 1, 0), ("15", 2, 0)))
    assert grandchild.errors == ("overlap error:Block order_id 1 and Block order_id 3 overlap\n"
                                 "totally 1 overlaps\n",)
    two_boulders = chain(("30", 0, 4), ("36", 1, 0), ("36", 1, 0))
    ref = check_machine(two_boulders)
    assert ref.file_valid and "Block order_id 2 and Block order_id 3 overlap" in ref.errors[0]
    assert any("attach point 0 of block 1" in w for w in ref.warnings)  # warning-level duplicate_attach
    strict = check_machine(two_boulders, reference_quirks=False)
    assert not strict.file_valid and strict.issues[0].code == "duplicate_attach"


def test_size_limits_are_strict() -> None:
    logs = [("63", i, 0) for i in range(5)]                    # 0.5 + 5*3 + 1 (block) + ... along z
    exactly = chain(*logs, ("15", 5, 0))                       # length 17.0 passes
    assert check_machine(exactly).valid
    over = check_machine(chain(*logs, ("15", 5, 0), ("2", 6, 0)))
    assert over.errors == ("size error:17.5,2.0,2.0",)
    tall = chain(("63", 0, 4), ("63", 1, 0), ("1", 2, 0), ("2", 3, 0))  # height exactly 9.5
    assert check_machine(tall).valid
    assert check_machine(tall, size_limits=SizeLimits(height=9.0)).errors[0].startswith("size error:")


def test_phantom_point_quirk_reproduced_and_fixed() -> None:
    # Two logs hanging under the root and a brace: the brace's phantom zero box sits inside log 2.
    brace = {"id": "7", "order_id": 3, "parent_a": 0, "bp_id_a": 0, "parent_b": 2, "bp_id_b": 7}
    tree = [*chain(("63", 0, 5), ("63", 1, 0)), brace]
    ref = check_machine(tree)
    assert ref.file_valid and not ref.valid
    assert ref.errors == (OVERLAP.format(2, 3),)
    assert any("phantom" in w for w in ref.warnings)
    fixed = check_machine(tree, reference_quirks=False)
    assert fixed.valid and fixed.warnings == ()
    # Height: the rubber band's phantom makes a 7 m machine report 11.55 m.
    up = [*chain(("63", 0, 4), ("63", 1, 0)), dict(brace, id="9")]
    assert check_machine(up).errors == ("size error:1.0,1.0,11.55",)
    assert check_machine(up, reference_quirks=False).valid


def test_file_invalid_reports() -> None:
    bad = copy.deepcopy(CAR)
    bad[4]["bp_id"] = 13
    report = check_machine(bad)
    assert not report.file_valid and report.spatial_valid is None and not report.valid
    assert report.errors == ("illegal building:Warning: Block(orderID 4)parent block(ID 63)"
                             "does not exist Constructible point13。",)
    assert report.to_dict()["blocks"] is None and report.machine is None
    assert [(i.code, i.item) for i in report.issues] == [("bad_attach_point", 4)]
    unknown = [*copy.deepcopy(CAR), blk("85", 6, 0, 4)]
    assert check_machine(unknown).errors == ("illegal attachable face",)
    strict = check_machine(unknown, reference_quirks=False)
    assert strict.errors == ("illegal building:Warning: Block(orderID 6)unknown block type 85",)
    for garbage in ("", "hello", "[1, 2, 3]", '{"a": 1}', b"\x00\xff", "[{}]", [None], [[]]):
        rep = check_machine(garbage)
        assert not rep.file_valid and rep.errors and rep.issues


def test_root_only_machine_reference_vs_strict() -> None:
    assert check_machine([ROOT]).errors == ("illegal attachable face",)
    assert check_machine([ROOT], reference_quirks=False).valid


def test_check_tree_on_parsed_tree_matches_check_machine() -> None:
    tree = parse_tree(CAR)
    assert check_tree(tree).to_dict() == check_machine(CAR).to_dict()


@pytest.mark.parametrize("quirks", [True, False])
def test_reports_are_deterministic(quirks: bool) -> None:
    tree = chain(("30", 0, 4), ("36", 1, 0), ("46", 0, 2), ("15", 3, 1))
    a = check_machine(tree, reference_quirks=quirks).to_dict()
    b = check_machine(json.dumps(tree), reference_quirks=quirks).to_dict()
    assert a == b
