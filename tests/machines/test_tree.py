"""Construction-tree extraction, file checks (both modes), the tree object, and a fuzz test."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brickfield.core.errors import ParseError
from brickfield.machines.design.parse import check_tree_data, parse_tree, tree_from_blocks
from brickfield.machines.design.tree import (
    REJECT_MESSAGE,
    TreeCode,
    TreeLimits,
    TreeParseError,
    load_tree_data,
)
from brickfield.machines.design.types import TreeBlock
from brickfield.machines.design.validity import check_machine
from tests.machines._trees import CAR

BAND = {"id": "9", "order_id": 6, "parent_a": 0, "bp_id_a": 4, "parent_b": 1, "bp_id_b": 9}


def car(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return copy.deepcopy(CAR) + [copy.deepcopy(e) for e in extra]


def codes(tree: Any, quirks: bool = True) -> list[tuple[str, int | None]]:
    chk = check_tree_data(load_tree_data(tree), reference_quirks=quirks)
    return [(i.code, i.item) for i in chk.issues]


# --- extraction ---------------------------------------------------------------------------------

def test_extracts_first_parsable_json_fence_from_prose() -> None:
    text = ("I will build a car.\n```json\n[{broken\n```\nFixed version:\n```json\n"
            + json.dumps(CAR) + "\n```\nThat's it.")
    assert load_tree_data(text) == CAR


def test_whole_text_and_python_literal_fallbacks() -> None:
    assert load_tree_data(json.dumps(CAR)) == CAR
    literal = str(CAR).replace("}]", "},]")  # single quotes + trailing comma: only literal_eval reads it
    with pytest.raises(json.JSONDecodeError):
        json.loads(literal)
    assert load_tree_data(literal) == CAR
    assert load_tree_data(json.dumps(CAR).encode()) == CAR
    assert load_tree_data(tuple(CAR)) == CAR


@pytest.mark.parametrize(("text", "code"), [
    ("no tree here", TreeCode.BAD_JSON),
    ("```json\n[{\"id\": \"0\"\n```", TreeCode.BAD_JSON),          # broken fence, prose around
    ("```json\n" + json.dumps(CAR), TreeCode.BAD_JSON),            # unterminated fence
    ('{"blocks": []}', TreeCode.BAD_JSON),                        # object, not a list
    ("[]", TreeCode.EMPTY),
    ("[" * 100 + "]" * 100, TreeCode.TOO_DEEP),
    (b"\xff\xfe[", TreeCode.BAD_JSON),
])
def test_unreadable_text_gives_typed_errors(text: str | bytes, code: TreeCode) -> None:
    with pytest.raises(TreeParseError) as info:
        load_tree_data(text)
    assert info.value.code == code


def test_size_and_block_limits() -> None:
    with pytest.raises(TreeParseError) as info:
        load_tree_data(json.dumps(CAR), TreeLimits(max_bytes=50))
    assert info.value.code == "too_large"
    with pytest.raises(TreeParseError) as info:
        load_tree_data(CAR, TreeLimits(max_blocks=5))
    assert info.value.code == "too_many_blocks"
    with pytest.raises(TreeParseError) as info:
        load_tree_data(42)  # type: ignore[arg-type]
    assert info.value.code == "bad_type"
    big_literal = str(CAR) + " " * 300
    with pytest.raises(TreeParseError):
        load_tree_data(big_literal, TreeLimits(max_literal_bytes=100))


# --- the tree object ----------------------------------------------------------------------------

def test_car_parses_and_round_trips() -> None:
    tree = parse_tree(car(BAND))
    assert len(tree) == 7 and tree.types == ("0", "63", "2", "2", "2", "2", "9")
    assert tree.to_json() == car(BAND)
    assert parse_tree(tree.to_text()).to_json() == car(BAND)
    assert tree.children(0) == (1, 2, 3, 6) and tree.children(1) == (4, 5, 6)
    assert tree.parent_of(0) is None and tree.parent_of(4) == 1
    assert tree.attachments(6) == ((0, 4), (1, 9))
    assert tree[6].is_two_parent and not tree[1].is_two_parent
    assert tree.descendants(1) == (4, 5, 6) and tree.descendants(5) == ()
    rebuilt = tree_from_blocks(list(tree))
    assert rebuilt == tree


def test_from_blocks_validates() -> None:
    with pytest.raises(TreeParseError) as info:
        tree_from_blocks([TreeBlock("0", 0), TreeBlock("63", 1, 0, 6)])
    assert info.value.code == "bad_attach_point" and info.value.item == 1


# --- file checks, reference mode ----------------------------------------------------------------

def test_reference_messages_are_exact() -> None:
    chk = check_tree_data(car({"id": "15", "order_id": 6, "parent": 1, "bp_id": 13}))
    assert chk.message == ("illegal building:Warning: Block(orderID 6)parent block(ID 63)"
                           "does not exist Constructible point13。")
    chk = check_tree_data(car({"id": "7", "order_id": 6, "parent": 1, "bp_id": 7}))
    assert chk.message == ("illegal building:Warning: Block(orderID 6)is linear block but not exist "
                           "two parents")
    bad = car()
    bad[1]["extra"] = 1
    chk = check_tree_data(bad)
    assert chk.message == ("illegal building:Warning: Block(orderID 1)structure illegal\n"
                           "Warning: Block(orderID 4)parent block(orderID 1)illegal, so it is illegal too.\n"
                           "Warning: Block(orderID 5)parent block(orderID 1)illegal, so it is illegal too.")
    assert [(i.code, i.item) for i in chk.issues] == [("wrong_keys", 1), ("cascade", 4), ("cascade", 5)]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda t: t[2].pop("bp_id"), [("wrong_keys", 2)]),
    (lambda t: t[2].update(bp_id="x"), [("bad_value", 2)]),
    (lambda t: t[0].update(id="15"), [("bad_root", 0)] + [("cascade", i) for i in range(1, 6)]),
    (lambda t: t[4].update(bp_id=13), [("bad_attach_point", 4)]),
    (lambda t: t.append({"id": "15", "order_id": 6, "parent_a": 0, "bp_id_a": 4, "parent_b": 1,
                         "bp_id_b": 7}), [("two_parents_not_linear", 6)]),
    (lambda t: t.append({"id": "9", "order_id": 6, "parent": 0, "bp_id": 4}), [("linear_one_parent", 6)]),
])
def test_illegal_building_codes(mutate: Any, expected: list[tuple[str, int]]) -> None:
    tree = car()
    mutate(tree)
    chk = check_tree_data(tree)
    assert not chk.file_valid and not chk.rejected
    assert chk.message.startswith("illegal building:")
    assert [(i.code, i.item) for i in chk.issues] == expected
    with pytest.raises(TreeParseError) as info:
        chk.raise_if_invalid()
    assert info.value.code == expected[0][0] and info.value.item == expected[0][1]


@pytest.mark.parametrize(("mutate", "code", "item"), [
    (lambda t: t.append({"id": "85", "order_id": 6, "parent": 0, "bp_id": 4}), "unknown_type", 6),
    (lambda t: t[1].update(parent=4), "bad_parent", 1),                  # later in the list
    (lambda t: t[5].update(parent=99), "bad_parent", 5),                 # missing
    (lambda t: t[3].pop("order_id"), "wrong_keys", 3),
    (lambda t: t[2].update(bp_id=None), "bad_value", 2),
    (lambda t: t.append({"id": "15", "order_id": 6, "parent": 0, "bp_id": -7}), "bad_attach_point", 6),
    (lambda t: t.__delitem__(slice(1, None)), "bad_root", 0),           # root only
    (lambda t: t.append(dict(BAND, parent_b=7)), "bad_parent", 6),       # band's second parent later
])
def test_reference_reject_class(mutate: Any, code: str, item: int) -> None:
    tree = car()
    mutate(tree)
    chk = check_tree_data(tree)
    assert chk.rejected and not chk.file_valid and chk.message == REJECT_MESSAGE
    assert (chk.issues[-1].code, chk.issues[-1].item) == (code, item)


def test_reference_leniencies_are_reproduced() -> None:
    lenient = car({"id": 15, "order_id": "6", "parent": " 1 ", "bp_id": 7.9})
    tree = parse_tree(lenient)
    assert tree[6] == TreeBlock("15", 6, 1, 7)
    assert tree.attachments(6) == ((1, 7),)
    neg = parse_tree(car({"id": "15", "order_id": 6, "parent": -6, "bp_id": -1}))
    assert neg.attachments(6) == ((1, 12),)  # list index 1 (the log), its last attach point
    root = car()
    root[0].update(parent=3, bp_id=2)
    assert parse_tree(root)[0] == TreeBlock("0", 0, -1, -1)


def test_duplicate_attach_is_a_note_in_reference_mode_and_an_error_in_strict_mode() -> None:
    tree = car({"id": "2", "order_id": 6, "parent": 0, "bp_id": 2})
    chk = check_tree_data(tree)
    assert chk.file_valid
    assert [(n.code, n.item) for n in chk.notes] == [("duplicate_attach", 6)]
    assert codes(tree, quirks=False) == [("duplicate_attach", 6)]
    # Linear blocks may share attach points in both modes.
    two_bands = car(BAND, dict(BAND, order_id=7))
    assert check_tree_data(two_bands).notes == ()
    assert check_tree_data(two_bands, reference_quirks=False).file_valid


# --- file checks, strict mode -------------------------------------------------------------------

@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda t: t[5].update(bp_id=6.5), [("bad_value", 5)]),
    (lambda t: t[5].update(bp_id=True), [("bad_value", 5)]),
    (lambda t: t[5].update(order_id=7), [("bad_order", 5)]),
    (lambda t: t[0].update(parent=3), [("bad_root", 0)] + [("cascade", i) for i in range(1, 6)]),
    (lambda t: t[5].update(parent=-6), [("bad_parent", 5)]),
    (lambda t: t[1].update(parent=4), [("bad_parent", 1), ("cascade", 4), ("cascade", 5)]),
    (lambda t: t[4].update(bp_id=-1), [("bad_attach_point", 4)]),
    (lambda t: t.append({"id": "0", "order_id": 6, "parent": 1, "bp_id": 7}), [("bad_root", 6)]),
    (lambda t: t.append({"id": "99", "order_id": 6, "parent": 1, "bp_id": 7}), [("unknown_type", 6)]),
    (lambda t: t.append({"id": "15", "order_id": 6, "parent": 6, "bp_id": 0}), [("bad_parent", 6)]),
])
def test_strict_mode_codes(mutate: Any, expected: list[tuple[str, int]]) -> None:
    tree = car()
    mutate(tree)
    assert codes(tree, quirks=False) == expected


def test_strict_mode_accepts_clean_variants() -> None:
    tree = car({"id": 15, "order_id": 6.0, "parent": "1", "bp_id": 7})
    assert parse_tree(tree, reference_quirks=False)[6] == TreeBlock("15", 6, 1, 7)
    assert len(parse_tree(car()[:1], reference_quirks=False)) == 1  # a root-only machine


# --- fuzz -----------------------------------------------------------------------------------------

_KEYS = ["id", "order_id", "parent", "bp_id", "parent_a", "bp_id_a", "parent_b", "bp_id_b", "x"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-8, 16), st.floats(allow_nan=True),
                     st.sampled_from(["0", "2", "9", "30", "63", "18_1", " 3", "1_0", "x", ""]))
_json = st.recursive(_scalars | st.text(max_size=5), lambda c: st.lists(c, max_size=4)
                     | st.dictionaries(st.text(max_size=3), c, max_size=4), max_leaves=20)
_block = st.dictionaries(st.sampled_from(_KEYS), _scalars, min_size=2, max_size=7)
_treeish = st.lists(_block, min_size=1, max_size=10)
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), _json.map(json.dumps),
                 _treeish.map(json.dumps), _treeish.map(str), _json))
def test_fuzz_parser_raises_only_parse_errors(source: Any) -> None:
    for quirks in (True, False):
        with contextlib.suppress(ParseError):
            parse_tree(source, reference_quirks=quirks)
        report = check_machine(source, reference_quirks=quirks)  # never raises at all
        assert report.valid == (report.file_valid and report.spatial_valid is True)
        json.dumps(report.to_dict())


@_FUZZ
@given(st.lists(st.tuples(st.sampled_from(["15", "63", "2", "30", "36", "46", "5", "9", "7", "0"]),
                          st.integers(-3, 12), st.integers(-2, 14), st.integers(-3, 12), st.integers(-2, 14)),
                max_size=12))
def test_fuzz_near_valid_trees_place_or_fail_cleanly(spec: list[tuple[str, int, int, int, int]]) -> None:
    tree: list[dict[str, Any]] = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]
    for i, (tid, pa, ka, pb, kb) in enumerate(spec, 1):
        if tid in ("7", "9"):
            tree.append({"id": tid, "order_id": i, "parent_a": pa, "bp_id_a": ka,
                         "parent_b": pb, "bp_id_b": kb})
        else:
            tree.append({"id": tid, "order_id": i, "parent": pa, "bp_id": ka})
    for quirks in (True, False):
        report = check_machine(tree, reference_quirks=quirks)
        if report.file_valid:
            assert report.machine is not None and len(report.machine.blocks) == len(tree)
            # Auto-placement rests the machine on y = 0.5 (the phantom point can only lift it).
            lowest = min(b.box_min[1] for b in report.machine.blocks if b.box_min)
            assert lowest >= 0.5 - 1e-9
            if not quirks:
                assert lowest == pytest.approx(0.5)
