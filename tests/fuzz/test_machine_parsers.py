"""Hostile input to every machine reader: only typed errors (ParseError subclasses), never a crash.

Readers: ``parse_tree`` and ``check_machine`` (which never raises at all) in both modes,
``tree_from_global`` (the global-position form), ``parse_bsg``/``bsg_to_tree`` (``.bsg`` XML), on
text, bytes and already-decoded data; and the block limit (``MAX_BLOCKS``) on every path in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brickfield.core.textio import short_repr
from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import layout, place, to_global, tree_from_global
from brickfield.machines.design.tree import MAX_BLOCKS, TreeLimits
from brickfield.machines.design.validity import check_machine
from brickfield.machines.io.bsg import PISTON_WORK, bsg_to_tree, parse_bsg, to_bsg
from brickfield.machines.reference import reference_machine
from tests.fuzz._common import FAST, HUGE_NUMBERS, LONG, TEN_MB, deep_list, deep_texts, expect_typed, hostile

TREES = [reference_machine(n) for n in ("car", "catapult", "delivery", "fetch")]
PLACED = [place(parse_tree(t)) for t in TREES]
SAMPLES = ([json.dumps(t) for t in TREES] + [str(t) for t in TREES[:2]]
           + [f"Here is my machine:\n```json\n{json.dumps(TREES[0], indent=1)}\n```\nDone."]
           + [json.dumps(to_global(p)) for p in PLACED[:2]] + [to_bsg(p) for p in PLACED[:2]])


def machine_readers(data: Any) -> None:
    """Every reader on ``data``: a ParseError or a result; ``check_machine`` always reports."""
    for quirks in (True, False):
        expect_typed(parse_tree, data, reference_quirks=quirks)
        report = check_machine(data, reference_quirks=quirks)
        assert report.valid == (report.file_valid and report.spatial_valid is True)
        assert report.file_valid or report.issues
        json.dumps(report.to_dict())
        expect_typed(tree_from_global, data, reference_quirks=quirks)
    if isinstance(data, (str, bytes)):
        expect_typed(parse_bsg, data)
        expect_typed(bsg_to_tree, data)


@FAST
@given(hostile(SAMPLES))
def test_hostile_text_and_bytes(data: str | bytes) -> None:
    machine_readers(data)


@pytest.mark.fuzz
@LONG
@given(hostile(SAMPLES))
def test_fuzz_hostile_text_and_bytes(data: str | bytes) -> None:
    machine_readers(data)


_KEYS = ["id", "order_id", "parent", "bp_id", "parent_a", "bp_id_a", "parent_b", "bp_id_b", "Position",
         "Rotation", "end-position", "GP", "GR", "GlobalPosition"]
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-4, 12), st.integers(), st.floats(),
                    st.sampled_from(["0", "15", "2", "9", "18_1", " 3", "1_0", "\u0663", "x", ""]),
                    st.sampled_from([400, -400, 5000]).map(lambda k: 10**abs(k) * (1 if k > 0 else -1)))
_value = st.one_of(_scalar, st.lists(_scalar, max_size=5), st.just(deep_list(300)))
_block = st.dictionaries(st.sampled_from(_KEYS), _value, max_size=8)
_decoded = st.lists(st.one_of(_block, _scalar), min_size=1, max_size=8)


@FAST
@given(_decoded)
def test_decoded_data(data: list[Any]) -> None:
    machine_readers(data)


@pytest.mark.fuzz
@LONG
@given(_decoded)
def test_fuzz_decoded_data(data: list[Any]) -> None:
    machine_readers(data)


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deep_nesting(depth: int) -> None:
    for text in deep_texts(depth):
        machine_readers(text)
        machine_readers(f"<Machine>{'<a>' * min(depth, 50_000)}</Machine>")
    machine_readers([deep_list(depth)])
    machine_readers([{"id": deep_list(depth), "order_id": 0, "parent": -1, "bp_id": -1}])


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=[short_repr(n, 12) for n in HUGE_NUMBERS])
def test_huge_numbers_in_every_field(number: str) -> None:
    tree = json.dumps(TREES[0])
    for key in ("order_id", "parent", "bp_id"):
        machine_readers(tree.replace(f'"{key}": 1', f'"{key}": {number}', 1))
    glob = json.dumps(to_global(PLACED[0]))
    machine_readers(glob.replace("0.0", number, 3))
    bsg = to_bsg(PLACED[1])
    for attr in ('x="', 'w="', "<X>"):
        machine_readers(bsg.replace(attr, attr + number, 2))


@pytest.mark.parametrize("data", ["x" * TEN_MB, b"\x00" * TEN_MB, "[" + '{"id": "0"},' * (TEN_MB // 12),
                                  "\ufeff" + "[" * TEN_MB, "<Machine>" + " " * TEN_MB + "</Machine>"],
                         ids=["x", "nul", "blocks", "brackets", "xml"])
def test_ten_megabytes_refused_as_too_large(data: str | bytes) -> None:
    for fn in (parse_tree, tree_from_global, parse_bsg, bsg_to_tree):
        exc = expect_typed(fn, data)
        assert exc is not None and exc.code == "too_large"
    report = check_machine(data)
    assert not report.file_valid and report.issues[0].code == "too_large"


def test_byte_order_mark_is_accepted_everywhere() -> None:
    text = SAMPLES[0]
    bom = "\ufeff" + text
    assert parse_tree(bom) == parse_tree(text) == parse_tree(b"\xef\xbb\xbf" + text.encode())
    assert check_machine(bom).valid
    glob = json.dumps(to_global(PLACED[0]))
    assert tree_from_global("\ufeff" + glob) == tree_from_global(glob)
    bsg = to_bsg(PLACED[0])
    assert bsg_to_tree("\ufeff" + bsg) == bsg_to_tree(bsg.encode("utf-8-sig")) == bsg_to_tree(bsg)


def test_lone_surrogates_in_a_bsg_are_a_parse_error_not_a_unicode_error() -> None:
    bsg = to_bsg(PLACED[0], name="car")
    for hostile_text in (bsg.replace('name="car"', 'name="\ud800"'), bsg.replace('id="2"', 'id="\udfff"', 1)):
        expect_typed(parse_bsg, hostile_text)
        expect_typed(bsg_to_tree, hostile_text)


def test_malformed_linear_end_position_in_a_bsg_is_a_parse_error() -> None:
    bsg = to_bsg(PLACED[1])   # the catapult's rubber band stores its end B as a Vector3
    assert '<Vector3 key="end-position">' in bsg
    strings = '<StringArray key="end-position">{}</StringArray><Vector3 key="x">'
    for bad in (strings.format("<String>a</String>"), strings.format("<String>1</String><String>2</String>"),
                '<Vector3 key="end-position"><X>NaN</X><Y>0</Y><Z>Infinity</Z></Vector3><Vector3 key="x">'):
        exc = expect_typed(bsg_to_tree, bsg.replace('<Vector3 key="end-position">', bad, 1))
        assert exc is not None and exc.code == "bad_value"


def _pile(n: int) -> list[dict[str, Any]]:
    """A file-valid ``n``-block tree (wooden blocks on the root's attach points)."""
    points = len(BLOCKS["0"].attach_points)
    return [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}] + [
        {"id": "15", "order_id": i, "parent": 0, "bp_id": i % points} for i in range(1, n)]


def test_block_limit_on_every_path() -> None:
    n = MAX_BLOCKS + 1
    big = _pile(n)
    tree = parse_tree(big, limits=TreeLimits(max_blocks=n))
    placed = place(tree, max_blocks=n)
    inputs = {"tree list": (parse_tree, big), "tree text": (parse_tree, json.dumps(big)),
              "global form": (tree_from_global, json.dumps(to_global(placed))),
              "bsg": (parse_bsg, to_bsg(placed)), "bsg tree": (bsg_to_tree, to_bsg(placed)),
              "placement": (layout, tree), "place": (place, tree)}
    for name, (fn, data) in inputs.items():
        exc = expect_typed(fn, data)
        assert exc is not None and exc.code == "too_many_blocks", name
    assert check_machine(big).issues[0].code == "too_many_blocks"
    # exactly at the limit every path accepts the machine
    ok = _pile(MAX_BLOCKS)
    placed_ok = place(parse_tree(ok))
    assert len(tree_from_global(json.dumps(to_global(placed_ok)))) == MAX_BLOCKS
    assert len(bsg_to_tree(to_bsg(placed_ok))) == MAX_BLOCKS


def test_many_open_pistons_in_a_big_bsg_take_one_type() -> None:
    # 6 pistons saved without preextended in a 512-block file: 64 combinations x 512 blocks is over
    # PISTON_WORK, so every piston takes the extended type (one try instead of up to 64)
    points = len(BLOCKS["0"].attach_points)
    data = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]
    data += [{"id": "18", "order_id": i, "parent": 0, "bp_id": i % points} for i in range(1, 7)]
    data += [{"id": "15", "order_id": i, "parent": i - 1 if i > 7 else 0, "bp_id": 0}
             for i in range(7, MAX_BLOCKS)]
    tree = parse_tree(data)
    bsg = to_bsg(place(tree))
    assert (64 * MAX_BLOCKS > PISTON_WORK and bsg.count('id="18"') == 6
            and 'key="preextended"' not in bsg)
    back = bsg_to_tree(bsg)
    assert back.types == tree.types
    assert [b.position for b in place(back).blocks] == [b.position for b in place(tree).blocks]


@pytest.mark.parametrize("key", ["id", "order_id", "parent", "bp_id"])
def test_ints_too_long_for_str_in_decoded_trees(key: str) -> None:
    # Python refuses str() of an int over 4,300 digits: every message must still be written
    huge = 10**5000
    for index in (0, 1):
        tree = [dict(b) for b in TREES[0]]
        tree[index][key] = huge
        machine_readers(tree)
    machine_readers([{"id": huge, "Position": [0, 0, 0], "Rotation": [0, 0, 0, 1]}])
    machine_readers([{"id": 0, "Position": [huge, 0, 0], "Rotation": [0, 0, 0, 1]}])
