"""`.bsg` export: layout, Data defaults, determinism, round trip, hostile input, reference agreement."""

from __future__ import annotations

import json
import math
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import place
from brickfield.machines.design.tree import TreeParseError
from brickfield.machines.io.bsg import (
    BsgParseError,
    block_data,
    bsg_to_tree,
    from_bsg,
    parse_bsg,
    to_bsg,
)
from tests.machines._trees import RICH

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TREES = SHARED / "reference" / "verdicts" / "machines" / "trees.jsonl"


@pytest.fixture(scope="module")
def rich():
    placed = place(parse_tree(RICH))
    return placed, to_bsg(placed, name="rich")


def _typed_data(block: ET.Element) -> list[tuple[str, str, object]]:
    out: list[tuple[str, str, object]] = []
    for e in block.find("Data"):
        value = [c.text for c in e] if e.tag == "Vector3" else e.text
        out.append((e.tag, e.get("key"), value))
    return out


def test_layout_is_the_game_save_format(rich):
    placed, text = rich
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<!--Besiege machine save file.-->\n')
    root = ET.fromstring(text)
    header = (root.tag, root.get("version"), root.get("bsgVersion"), root.get("name"))
    assert header == ("Machine", "1", "1.3", "rich")
    assert [c.tag for c in root] == ["Global", "Data", "Blocks"]
    gp = root.find("Global/Position")
    assert [float(gp.get(a)) for a in "xyz"] == pytest.approx(placed.global_position)
    assert {k: float(v) for k, v in root.find("Global/Rotation").attrib.items()} == {"x": 0, "y": 0, "z": 0,
                                                                                    "w": 1}
    assert root.find("Data/StringArray").get("key") == "requiredMods"
    blocks = root.findall("Blocks/Block")
    assert [b.get("id") for b in blocks] == [b.type_id for b in placed.blocks]
    for el, b in zip(blocks, placed.blocks, strict=True):
        assert [c.tag for c in el] == ["Transform", "Data"]
        assert [c.tag for c in el.find("Transform")] == ["Position", "Rotation", "Scale"]
        pos = [float(el.find("Transform/Position").get(a)) for a in "xyz"]
        assert pos == pytest.approx(np.subtract(b.position, placed.global_position), abs=1e-9)
        assert el.find("Transform/Scale").attrib == {"x": "1", "y": "1", "z": "1"}
        uuid.UUID(el.get("guid"))
    # numbers are written like the game's: no "1.0", no "-0", float32-style quaternions
    body = text.split("<Blocks>", 1)[1]
    assert '.0"' not in body and '"-0"' not in body and ".0<" not in body and "0.7071068" in body


def test_deterministic_guids(rich):
    placed, text = rich
    assert to_bsg(placed, name="rich") == text
    other = to_bsg(placed, name="rich", seed=1)
    guids = [b["guid"] for b in from_bsg(text)]
    assert len(set(guids)) == len(guids)
    assert guids != [b["guid"] for b in from_bsg(other)]
    strip = [(b["id"], b["position"], b["data"]) for b in from_bsg(other)]
    assert strip == [(b["id"], b["position"], b["data"]) for b in from_bsg(text)]


def test_data_defaults_per_type(rich):
    _, text = rich
    blocks = ET.fromstring(text).findall("Blocks/Block")
    data = {i: _typed_data(b) for i, b in enumerate(blocks)}
    assert data[0] == [("Integer", "bmt-version", "1")]
    assert data[1] == data[8] == []
    wheel = [("Boolean", "bmt-automatic", "True"), ("Boolean", "bmt-auto-brake", "False")]
    assert data[3] == data[5] == wheel
    assert data[6] == [("Single", "bmt-mass", "3")]
    assert data[7] == [("Integer", "bmt-version", "1"), ("Single", "bmt-speed", "1"),
                       ("Single", "bmt-acceleration", "Infinity"), ("Boolean", "bmt-auto-brake", "True"),
                       ("Boolean", "flipped", "False")]
    assert data[9][:3] == [("Single", "bmt-slider", "10"), ("StringArray", "bmt-contract", "L"),
                           ("Boolean", "bmt-toggle", "False")]
    for i in (9, 10, 11):
        ends = [(t, k) for t, k, _ in data[i][-2:]]
        assert ends == [("Vector3", "start-position"), ("Vector3", "end-position")]
        assert data[i][-2][2] == ["0", "0", "0"]
    assert from_bsg(text)[7]["data_types"]["bmt-acceleration"] == "Single"
    assert math.isinf(float(from_bsg(text)[7]["data"]["bmt-acceleration"]))


def test_flipped_wheels_face_x_minus(rich):
    placed, text = rich
    read = from_bsg(text)
    for i in (2, 3, 4, 5):
        facing_left = placed.blocks[i].facing == "x-"
        assert placed.blocks[i].flipped is facing_left
        assert (read[i]["data"].get("flipped") == "True") is facing_left
        y = -0.7071068 if facing_left else 0.7071068
        assert read[i]["rotation"] == pytest.approx([0, y, 0, 0.7071068])


def test_linear_blocks_store_end_b_minus_a(rich):
    placed, text = rich
    read = from_bsg(text)
    for i in (9, 10, 11):
        b = placed.blocks[i]
        assert read[i]["rotation"] == [0.0, 0.0, 0.0, 1.0]
        assert read[i]["position"] == pytest.approx(np.subtract(b.position, placed.global_position))
        assert read[i]["data"]["end-position"] == pytest.approx(np.subtract(b.position_b, b.position))
        assert [e.value for e in block_data(b)][-1] == tuple(read[i]["data"]["end-position"])


def test_round_trip_gives_the_same_placement(rich):
    placed, text = rich
    tree = bsg_to_tree(text)
    assert tree.to_json() == parse_tree(RICH).to_json()
    again = place(tree)
    assert again.global_position == pytest.approx(placed.global_position)
    for a, b in zip(again.blocks, placed.blocks, strict=True):
        assert (a.type_id, a.facing, a.flipped) == (b.type_id, b.facing, b.flipped)
        assert a.position == pytest.approx(b.position)
    assert to_bsg(again, name="rich") == text


def test_game_style_linear_block_rotation_is_applied(rich):
    # Saves made in the game rotate braces and store end B in the block's own frame.
    _, text = rich
    root = ET.fromstring(text)
    brace = root.findall("Blocks/Block")[10]
    s = math.sqrt(0.5)
    brace.find("Transform/Rotation").attrib.update(x="0", y=repr(s), z="0", w=repr(s))  # 90 deg about y
    end = brace.find("Data/Vector3[@key='end-position']")
    dx, dy, dz = (float(end.find(a).text) for a in "XYZ")
    for axis, v in zip("XYZ", (-dz, dy, dx), strict=True):  # R_y(90)^-1 (dx, dy, dz)
        end.find(axis).text = repr(v)
    assert bsg_to_tree(ET.tostring(root, encoding="unicode")).to_json() == parse_tree(RICH).to_json()


def test_retracted_piston_is_written_as_18():
    tree = parse_tree([{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
                       {"id": "18_1", "order_id": 1, "parent": 0, "bp_id": 0},
                       {"id": "15", "order_id": 2, "parent": 1, "bp_id": 0}])
    text = to_bsg(place(tree))
    assert [b["id"] for b in from_bsg(text)] == ["0", "18", "15"]
    # the child sits where only the retracted piston puts it, which resolves the ambiguity
    assert bsg_to_tree(text).types == ("0", "18_1", "15")
    marked = text.replace('<Block id="18"', '<Block id="18"', 1).replace(
        "<Data />", '<Data><Boolean key="preextended">False</Boolean></Data>', 1)
    assert from_bsg(marked)[1]["type"] == "18_1"


def test_not_a_tree_and_scaled_blocks_are_refused(rich):
    _, text = rich
    moved = text.replace('<Position x="0" y="0" z="0.5" />', '<Position x="0.3" y="0" z="0.5" />', 1)
    with pytest.raises(TreeParseError):
        bsg_to_tree(moved)
    with pytest.raises(BsgParseError) as err:
        bsg_to_tree(text.replace('<Scale x="1" y="1" z="1" />', '<Scale x="2" y="1" z="1" />', 1))
    assert err.value.code == "bad_value"


HOSTILE = {
    "billion_laughs": ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">'
                       '<!ENTITY c "&b;&b;&b;&b;">]><Machine>&c;</Machine>', "forbidden_dtd"),
    "external_entity": ('<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><Machine>&x;</Machine>',
                        "forbidden_dtd"),
    "doctype_only": ('<!DOCTYPE Machine SYSTEM "http://example.invalid/m.dtd"><Machine/>', "forbidden_dtd"),
    "undefined_entity": ("<Machine>&x;</Machine>", "bad_xml"),
    "malformed": ("<Machine><Blocks></Machine>", "bad_xml"),
    "empty": ("", "bad_xml"),
    "huge": ("<Machine>" + " " * 4_000_001 + "</Machine>", "too_large"),
    "deep": ("<Machine>" + "<a>" * 100 + "</a>" * 100 + "</Machine>", "too_deep"),
    "wrong_root": ("<Level/>", "bad_bsg"),
    "no_blocks": ('<Machine><Global><Position x="0" y="0" z="0"/><Rotation x="0" y="0" z="0" w="1"/>'
                  "</Global></Machine>", "bad_bsg"),
    "nan_position": ('<Machine><Global><Position x="nan" y="0" z="0"/><Rotation x="0" y="0" z="0" w="1"/>'
                     "</Global><Blocks/></Machine>", "bad_value"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_malformed_xml_is_refused(name):
    text, code = HOSTILE[name]
    with pytest.raises(BsgParseError) as err:
        from_bsg(text)
    assert err.value.code == code


def test_too_many_blocks_and_bytes_input(rich):
    _, text = rich
    assert from_bsg(text.encode("utf-8")) == from_bsg(text)
    with pytest.raises(BsgParseError) as err:
        parse_bsg(text, max_blocks=3)
    assert err.value.code == "too_many_blocks"


@pytest.mark.skipif(not TREES.exists(), reason="shared reference data not available")
def test_agrees_with_reference_bsg_on_every_file_valid_case():
    cases = [json.loads(line) for line in TREES.read_text().splitlines() if line.strip()]
    cases = [c for c in cases if c["file_valid"]]
    disagree: list[str] = []
    for case in cases:
        placed = place(parse_tree(case["tree"]))
        text = to_bsg(placed, name=case["id"])
        machine = parse_bsg(text)
        ok = np.allclose(machine.global_position, case["global_position"], atol=1e-4)
        for got, ref in zip(machine.blocks, case["blocks"], strict=True):
            q, qr = np.array(got["rotation"]), np.array(ref["local_rotation"])
            ok &= got["id"] == ref["bsg_id"]
            ok &= np.allclose(got["position"], ref["local_position"], atol=1e-4)
            ok &= min(np.abs(q - qr).max(), np.abs(q + qr).max()) < 1e-5
            ok &= got["data"].keys() == ref["bsg_data"].keys()
            for key, value in ref["bsg_data"].items():
                ok &= (np.allclose(got["data"][key], value, atol=1e-4) if isinstance(value, list)
                       else got["data"][key] == value)
            if "end_position" in ref:
                ok &= np.allclose(got["data"]["end-position"], ref["end_position"], atol=1e-4)
        # the file also reads back to a tree whose placement writes the very same file
        ok &= to_bsg(place(bsg_to_tree(text)), name=case["id"]) == text
        if not ok:
            disagree.append(case["id"])
    print(f"bsg agreement with the reference: {len(cases) - len(disagree)}/{len(cases)}")
    assert len(cases) >= 140
    assert not disagree
