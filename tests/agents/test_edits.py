"""The edit language: parsing (tolerant and hostile text), applying (stable ids, renumbering, typed
per-step errors, spatial checks) and properties on random trees and edits."""

from __future__ import annotations

import pickle
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brickfield.agents.edits import (
    EDIT_GRAMMAR,
    Add,
    EditCode,
    EditError,
    EditLimits,
    EditScript,
    Move,
    Remove,
    apply_edits,
    canonical_tree,
    format_edit,
    parse_edits,
)
from brickfield.core.errors import BrickfieldError, ParseError
from brickfield.machines.design.catalog import BLOCKS, LINEAR_TYPES
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.tree import ConstructionTree, TreeParseError
from tests.machines._trees import CAR, OVERLAPPING, RICH


@pytest.fixture(scope="module")
def car() -> ConstructionTree:
    return parse_tree(CAR)


def tree_of(data: list[dict]) -> ConstructionTree:
    return parse_tree(data)


# --- parsing -------------------------------------------------------------------------------------

def test_canonical_forms_parse() -> None:
    script = parse_edits("Add [63] to [0] in [1]\nAdd [9] to [0] in [4] to [1] in [7]\nRemove [5]\n"
                         "Move [4] to [1] in [2]\nMove [6] to [0] in [1] to [2] in [0]")
    assert script.source == "lines"
    assert script.edits == (Add("63", ((0, 1),)), Add("9", ((0, 4), (1, 7))), Remove(5), Move(4, ((1, 2),)),
                            Move(6, ((0, 1), (2, 0))))
    assert [s.line for s in script.steps] == [1, 2, 3, 4, 5]
    assert not script.errors


@pytest.mark.parametrize("line, edit", [
    ("add 63 to 0 in 1", Add("63", ((0, 1),))),
    ("ADD [63] TO [0] IN [1]", Add("63", ((0, 1),))),
    ("- Add [63] to [0] in [1]", Add("63", ((0, 1),))),
    ("* add [ 63 ] to [ 0 ] in [ 1 ]", Add("63", ((0, 1),))),
    ("3. Add [63] to [0] in [1].", Add("63", ((0, 1),))),
    ("(2) Add [63] to [0] in [1]", Add("63", ((0, 1),))),
    ("Step 4: Add [63] to [0] in [1]", Add("63", ((0, 1),))),
    ("**Add [63] to [0] in [1]**", Add("63", ((0, 1),))),
    ("`Add [63] to [0] in [1]`", Add("63", ((0, 1),))),
    ("Add [63] to block 0 in point 1", Add("63", ((0, 1),))),
    ("Add [63] to [0] at attach point 1", Add("63", ((0, 1),))),
    ("Add [63] to [0] in [1]  # extend the chassis", Add("63", ((0, 1),))),
    ("Add [63] to [0] in [1] (longer chassis)", Add("63", ((0, 1),))),
    ("Add [63] to [0] in [1] - longer chassis", Add("63", ((0, 1),))),
    ("Add Log to 0 in 1", Add("63", ((0, 1),))),
    ("Add [Powered Wheel] to [0] in [2]", Add("2", ((0, 2),))),
    ("Add powered_wheel to 0 in 2", Add("2", ((0, 2),))),
    ("Add [2] (Powered Wheel) to [0] in [2]", Add("2", ((0, 2),))),
    ("Add [18_1] to [0] in [4]", Add("18_1", ((0, 4),))),
    ("Add [9] to [0] in [4], to [1] in [7]", Add("9", ((0, 4), (1, 7)))),
    ("Add [9] to [0] in [4] and [1] in [7]", Add("9", ((0, 4), (1, 7)))),
    ("remove 5", Remove(5)),
    ("Delete [5]", Remove(5)),
    ("Remove block 5", Remove(5)),
    ("Remove [5]; it is useless", Remove(5)),
    ("move [4] to [1] in [2]", Move(4, ((1, 2),))),
    ("Move block 4 onto block 1 at point 2", Move(4, ((1, 2),))),
])
def test_tolerant_lines(line: str, edit: object) -> None:
    script = parse_edits(line)
    assert script.edits == (edit,), script.steps


def test_unknown_type_name_is_kept_for_apply() -> None:
    assert parse_edits("Add [Trebuchet] to [0] in [1]").edits == (Add("Trebuchet", ((0, 1),)),)


def test_fence_wins_over_prose(car: ConstructionTree) -> None:
    text = ("I will Remove [3] first? No.\n```edits\n1. Add [15] to [0] in [4]\n\n# comment\n"
            "Remove [5]\n```\nAdd [63] to [0] in [1] (outside the fence: ignored)")
    script = parse_edits(text)
    assert script.source == "fence"
    assert script.edits == (Add("15", ((0, 4),)), Remove(5))
    assert [s.line for s in script.steps] == [3, 6]


def test_fence_reports_malformed_lines() -> None:
    script = parse_edits("```edits\nAdd a wheel somewhere\nRemove [2]\n```")
    assert [s.verb for s in script.steps] == ["add", "remove"]
    assert script.steps[0].error is not None and script.steps[0].error.code == EditCode.BAD_SYNTAX
    assert "Add [type] to [parent] in [point]" in script.steps[0].error.message
    assert script.steps[1].edit == Remove(2)


def test_modification_steps_section() -> None:
    text = ("<Thought Process>\nmove things\n</Thought Process>\n<Modification Steps>\nRemove [5]\n"
            "Move [4] to [1] in [2]\n</Modification Steps>\n<Simulation Prediction>\nRemove [1]\n")
    script = parse_edits(text)
    assert script.source == "section"
    assert script.edits == (Remove(5), Move(4, ((1, 2),)))
    assert script.steps[0].line == 5


def test_prose_is_skipped_outside_fences() -> None:
    text = "Move the log 2 m forward.\nI suggest we add 2 wheels.\nRemove [5]\nMove [x] to [1] in [2]"
    script = parse_edits(text)
    assert script.source == "lines"
    assert [s.text for s in script.steps] == ["Remove [5]", "Move [x] to [1] in [2]"]
    assert script.steps[1].error is not None and script.steps[1].error.code == EditCode.BAD_SYNTAX


def test_no_steps_and_crlf() -> None:
    assert parse_edits("nothing to change").steps == ()
    assert parse_edits("").source == "none"
    assert parse_edits("Remove [1]\r\nRemove [2]\r").edits == (Remove(1), Remove(2))


edit_strategy = st.one_of(
    st.builds(lambda t, p, k: Add(t, ((p, k),)), st.sampled_from(sorted(set(BLOCKS) - LINEAR_TYPES)),
              st.integers(0, 10**9 - 1), st.integers(0, 99)),
    st.builds(lambda t, a, b, c, d: Add(t, ((a, b), (c, d))), st.sampled_from(sorted(LINEAR_TYPES)),
              *[st.integers(0, 500)] * 4),
    st.builds(Remove, st.integers(0, 10**9 - 1)),
    st.builds(lambda o, p, k: Move(o, ((p, k),)), *[st.integers(0, 500)] * 3),
    st.builds(lambda o, a, b, c, d: Move(o, ((a, b), (c, d))), *[st.integers(0, 500)] * 5),
)


@settings(max_examples=150, derandomize=True)
@given(st.lists(edit_strategy, max_size=8))
def test_format_parse_round_trip(edits: list) -> None:
    text = "\n".join(format_edit(e) for e in edits)
    script = parse_edits(text)
    assert script.edits == tuple(edits)
    assert parse_edits(script.to_text()).edits == tuple(edits)
    assert EditScript.from_edits(edits).to_text() == text


# --- applying ------------------------------------------------------------------------------------

def test_add_appends_with_the_next_order_id(car: ConstructionTree) -> None:
    r = apply_edits(car, "Add [15] to [0] in [4]")
    assert r.ok and r.applied == (0,)
    assert len(r.tree) == 7
    new = r.tree.blocks[6]
    assert (new.type_id, new.order_id, new.parent, new.bp_id) == ("15", 6, 0, 4)
    assert r.id_map[6] == 6


def test_remove_renumbers_and_updates_parents(car: ConstructionTree) -> None:
    # block 2 (a wheel on the root) goes: 3, 4, 5 shift down; the wheels on the log now name parent 1
    r = apply_edits(car, "Remove [2]")
    assert r.ok
    assert [b.order_id for b in r.tree.blocks] == [0, 1, 2, 3, 4]
    assert [(b.parent, b.bp_id) for b in r.tree.blocks] == [(-1, -1), (0, 0), (0, 3), (1, 3), (1, 6)]
    assert r.id_map == {0: 0, 1: 1, 3: 2, 4: 3, 5: 4}


def test_remove_renumbers_two_parent_refs() -> None:
    rich = tree_of(RICH)
    r = apply_edits(rich, "Remove [10]\nRemove [7]")  # brace 10 is a leaf; then the spinning block 7 is ...
    assert [e.code for e in r.errors] == [EditCode.HAS_CHILDREN]  # ... still the winch's parent_b
    r = apply_edits(rich, "Remove [10]\nRemove [11]\nRemove [7]")
    assert r.ok
    band = next(b for b in r.tree.blocks if b.type_id == "9")
    assert (band.order_id, band.parent, band.parent_b) == (8, 7, 6)  # ids 8 and 6 were unaffected / shifted
    assert parse_tree(r.tree.to_text()) == r.tree


def test_ids_are_stable_within_a_script(car: ConstructionTree) -> None:
    # ids refer to the input tree even after a Remove; the k-th Add creates N + k
    r = apply_edits(car, "Remove [2]\nAdd [15] to [0] in [4]\nAdd [15] to [6] in [0]\nRemove [3]")
    assert r.ok, r.report()
    assert [b.type_id for b in r.tree.blocks] == ["0", "63", "2", "2", "15", "15"]
    assert (r.tree.blocks[5].parent, r.tree.blocks[5].bp_id) == (4, 0)
    assert r.id_map == {0: 0, 1: 1, 4: 2, 5: 3, 6: 4, 7: 5}


def test_failed_add_still_reserves_its_id(car: ConstructionTree) -> None:
    r = apply_edits(car, "Add [15] to [0] in [0]\nAdd [15] to [0] in [4]\nAdd [15] to [6] in [0]\n"
                    "Add [15] to [7] in [0]", stop_on_error=False)
    assert [(e.step, e.code) for e in r.errors] == [(0, EditCode.POINT_OCCUPIED), (2, EditCode.UNKNOWN_BLOCK)]
    assert "Add step that failed" in r.errors[1].message
    assert r.applied == (1, 3)
    assert (r.tree.blocks[7].parent, r.tree.blocks[7].bp_id) == (6, 0)  # block 7 hangs from block 6


def test_move_takes_the_subtree_and_round_trips(car: ConstructionTree) -> None:
    from brickfield.machines.design.placement import place

    r = apply_edits(car, "Move [1] to [0] in [1]")  # the log goes behind the root, its wheels with it
    assert r.ok, r.report()
    assert (r.tree.blocks[1].parent, r.tree.blocks[1].bp_id) == (0, 1)
    assert [(b.parent, b.bp_id) for b in r.tree.blocks[4:]] == [(1, 3), (1, 6)]
    before, after = place(car), place(r.tree)
    def dz(m: object, i: int) -> float:  # z of block i relative to the root (placement re-centres)
        return m.blocks[i].box_min[2] - m.blocks[0].box_min[2]  # type: ignore[attr-defined]

    assert dz(before, 4) > 0 > dz(after, 4) and dz(before, 5) > 0 > dz(after, 5)
    assert after.blocks[1].facing == "z-"
    back = apply_edits(r.tree, "Move [1] to [0] in [0]")
    assert back.ok and back.tree == car


def test_add_then_remove_is_identity(car: ConstructionTree) -> None:
    r = apply_edits(car, "Add [9] to [0] in [4] to [1] in [7]\nAdd [15] to [1] in [8]\n"
                         "Remove [7]\nRemove [6]")
    assert r.ok, r.report()
    assert r.tree == car


def test_canonical_tree_resolves_written_ids() -> None:
    data = [dict(b) for b in CAR]
    for b in data[1:]:
        b["order_id"] += 10  # reference mode reads parents as list positions, whatever order_id says
    tree = parse_tree(data)
    assert [b.order_id for b in tree.blocks] == [0, 11, 12, 13, 14, 15]
    canon = canonical_tree(tree)
    assert [b.order_id for b in canon.blocks] == list(range(6))
    assert canon == parse_tree(CAR)


@pytest.mark.parametrize("text, code, message", [
    ("Add [999] to [0] in [4]", EditCode.UNKNOWN_TYPE, "unknown block type"),
    ("Add [0] to [1] in [0]", EditCode.ROOT_BLOCK, "Starting Block"),
    ("Remove [0]", EditCode.ROOT_BLOCK, "cannot be removed"),
    ("Move [0] to [1] in [0]", EditCode.ROOT_BLOCK, "cannot be moved"),
    ("Add [15] to [42] in [0]", EditCode.UNKNOWN_BLOCK, "parent block 42 does not exist"),
    ("Add [15] to [-1] in [0]", EditCode.UNKNOWN_BLOCK, "parent block -1 does not exist"),
    ("Add [15] to [1] in [13]", EditCode.BAD_ATTACH_POINT, "attach points 0-12"),
    ("Add [15] to [2] in [1]", EditCode.BAD_ATTACH_POINT, "attach points 0-0"),
    ("Add [15] to [0] in [2]", EditCode.POINT_OCCUPIED, "already holds block 2"),
    ("Add [9] to [0] in [4]", EditCode.WRONG_ARITY, "needs two targets"),
    ("Add [15] to [0] in [4] to [1] in [7]", EditCode.WRONG_ARITY, "needs one target"),
    ("Remove [1]", EditCode.HAS_CHILDREN, "attached to it (4, 5)"),
    ("Remove [9]", EditCode.UNKNOWN_BLOCK, "block 9 does not exist; the machine has order_ids 0-5"),
    ("Move [1] to [4] in [0]", EditCode.BAD_MOVE_ORDER, "smaller order_id"),
    ("Move [4] to [4] in [0]", EditCode.BAD_MOVE_ORDER, "smaller order_id"),
    ("Move [4] to [1] in [3]", EditCode.NO_CHANGE, "already attached there"),
    ("Move [4] to [1] in [6]", EditCode.POINT_OCCUPIED, "already holds block 5"),
    ("Add [2] to [1] in [1]", EditCode.SPATIAL, "overlap"),
    ("Add [63] to [0] in [4]\nAdd [63] to [6] in [0]\nAdd [63] to [7] in [0]\nAdd [63] to [8] in [0]",
     EditCode.SPATIAL, "over the 17 x 17 x 9.5 m limit"),
    ("Frobnicate [3]", EditCode.BAD_SYNTAX, "not an edit step"),
])
def test_error_codes(car: ConstructionTree, text: str, code: EditCode, message: str) -> None:
    r = apply_edits(car, "```edits\n" + text + "\n```")
    assert [e.code for e in r.errors] == [code], r.report()
    err = r.errors[0]
    assert message in err.message
    assert isinstance(err, EditError) and isinstance(err, ParseError) and isinstance(err, BrickfieldError)
    assert err.line == r.steps[err.step].line == err.step + 2  # line 1 is the fence
    assert err.text == r.steps[err.step].text
    assert r.tree == car if not r.applied else len(r.tree) > len(car)


def test_stop_or_continue(car: ConstructionTree) -> None:
    text = "Add [15] to [0] in [4]\nRemove [1]\nAdd [15] to [6] in [0]\nRemove [5]"
    stop = apply_edits(car, text)
    assert stop.applied == (0,) and [e.step for e in stop.errors] == [1] and stop.skipped == (2, 3)
    assert not stop.ok and stop.changed
    assert [stop.status(i) for i in range(4)] == ["applied", "error", "skipped", "skipped"]
    assert len(stop.tree) == 7
    go = apply_edits(car, text, stop_on_error=False)
    assert go.applied == (0, 2, 3) and [e.step for e in go.errors] == [1] and go.skipped == ()
    assert [b.type_id for b in go.tree.blocks] == ["0", "63", "2", "2", "2", "15", "15"]
    report = go.report().splitlines()
    assert report[1].startswith("2. Remove [1]: FAILED [has_children]") and report[0].endswith("applied")
    assert "not applied" in stop.report().splitlines()[2]


def test_allowed_blocks_and_block_limit(car: ConstructionTree) -> None:
    r = apply_edits(car, "Add [46] to [0] in [4]", allowed_blocks={"0", "2", "63"})
    assert [e.code for e in r.errors] == [EditCode.TYPE_NOT_ALLOWED]
    r = apply_edits(car, "Add [15] to [0] in [4]", max_blocks=6)
    assert [e.code for e in r.errors] == [EditCode.TOO_MANY_BLOCKS]


def test_spatial_checks_tolerate_existing_overlaps() -> None:
    tree = parse_tree(OVERLAPPING)
    assert apply_edits(tree, "Add [15] to [0] in [4]").ok  # the wheel-in-wheel overlap was there before
    car = parse_tree(CAR)
    assert apply_edits(car, "Add [2] to [1] in [1]", spatial=False).ok


def test_reference_mode_rejects_a_root_only_machine() -> None:
    tree = parse_tree(CAR[:2])
    r = apply_edits(tree, "Remove [1]")
    assert [e.code for e in r.errors] == [EditCode.INVALID_TREE]
    assert "only the starting block" in r.errors[0].message
    assert apply_edits(tree, "Remove [1]", reference_quirks=False).tree.types == ("0",)


def test_tree_given_as_text(car: ConstructionTree) -> None:
    assert apply_edits(car.to_text(), "Remove [5]").tree == apply_edits(car, "Remove [5]").tree
    with pytest.raises(TreeParseError):
        apply_edits('[{"id": "0"}]', "Remove [5]")


def test_edit_objects_and_bad_objects(car: ConstructionTree) -> None:
    r = apply_edits(car, [Add("15", ((0, 4),)), Remove(5)])
    assert r.ok and r.steps[0].line is None and r.steps[0].text == "Add [15] to [0] in [4]"
    bad = apply_edits(car, [Add("15", (("0", 4),)), "Remove [5]", Remove(True), Move(4, ((1,),))],  # type: ignore[list-item]
                      stop_on_error=False)
    assert [e.code for e in bad.errors] == [EditCode.BAD_SYNTAX] * 3 + [EditCode.BAD_SYNTAX]
    assert bad.tree == car


def test_error_records_pickle_and_serialise(car: ConstructionTree) -> None:
    r = apply_edits(car, "Remove [1]")
    err = r.errors[0]
    back = pickle.loads(pickle.dumps(err))
    assert back.to_dict() == err.to_dict() == {"code": "has_children", "message": err.message, "step": 0,
                                               "line": 1, "text": "Remove [1]"}
    d = r.to_dict()
    assert d["steps"][0]["status"] == "error" and d["tree"] == car.to_json() and d["ok"] is False
    assert pickle.loads(pickle.dumps(r)).tree == car


def test_grammar_text_names_every_form() -> None:
    for form in ("Add [type] to [parent] in [point]", "Remove [order_id]",
                 "Move [order_id] to [new_parent] in [point]", "to [parent_b] in [point_b]"):
        assert form in EDIT_GRAMMAR


# --- hostile text --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "x" * 60_000,
    "Add [" * 20_000,
    "\n".join(["Remove [1]"] * 500),
    "Add " + "[0] to " * 60 + "in [1]",
    "Add " + "a" * 390 + " to [0] in [1]",
    "Move " + "[1] " * 99,
    "Add [2] to [٣] in [1]",                # Arabic-Indic digit
    "Add [2] to [0] in [1]\x00\x1b[31m",
    "```edits\n" + ("Add 2 to" + " " * 380 + "1 in x\n") * 64 + "```",  # backtracking bait
    "```edits\n" + ("Remove 111111111" + " " * 300 + "z\n") * 64 + "```",
    "Remove [12345678901234567890]",
    "Remove [[3]]",
    "```edits\n" + "Remove [1]\n" * 70 + "```",
    "<Modification Steps>" * 1000,
    "```edits\n```edits\n```",
    "\ud800 Remove [1]",
])
def test_hostile_text_never_raises(car: ConstructionTree, text: str) -> None:
    start = time.perf_counter()
    script = parse_edits(text)
    r = apply_edits(car, script, stop_on_error=False)
    elapsed = time.perf_counter() - start
    assert len(script.steps) <= EditLimits().max_steps + 1
    assert sorted(r.applied + r.skipped + tuple(e.step for e in r.errors)) == list(range(len(script.steps)))
    assert parse_tree(r.tree.to_text()) == r.tree
    assert elapsed < 30  # a hang guard, not a speed assertion


def test_limits_are_reported() -> None:
    assert parse_edits("x" * 60_000).steps[0].error.code == EditCode.TOO_LARGE  # type: ignore[union-attr]
    many = parse_edits("\n".join(["Remove [1]"] * 70))
    assert len(many.steps) == 65 and many.steps[-1].error.code == EditCode.TOO_MANY_STEPS  # type: ignore[union-attr]
    assert parse_edits(None).steps[0].error.code == EditCode.BAD_SYNTAX  # type: ignore[arg-type,union-attr]
    assert parse_edits(b"Remove [1]").edits == (Remove(1),)
    assert parse_edits("Remove [1]\n" * 5, EditLimits(max_steps=2)).steps[-1].error.code == "too_many_steps"  # type: ignore[union-attr]


# --- properties ----------------------------------------------------------------------------------

_SOLID_POOL = ("1", "15", "63", "2", "35", "22", "5", "16", "40")


@st.composite
def random_trees(draw: st.DrawFn) -> ConstructionTree:
    """Strict-valid trees built by attaching random blocks to free points (an independent oracle)."""
    blocks: list[dict] = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]
    used: set[tuple[int, int]] = set()
    for i in range(1, draw(st.integers(1, 8)) + 1):
        options = [(p, k) for p, b in enumerate(blocks) if "parent" in b
                   for k in range(len(BLOCKS[b["id"]].attach_points)) if (p, k) not in used]
        if draw(st.booleans()) and len(blocks) > 1:
            a, b = draw(st.sampled_from(_all_points(blocks))), draw(st.sampled_from(_all_points(blocks)))
            blocks.append({"id": draw(st.sampled_from(sorted(LINEAR_TYPES))), "order_id": i, "parent_a": a[0],
                           "bp_id_a": a[1], "parent_b": b[0], "bp_id_b": b[1]})
        elif options:
            p, k = draw(st.sampled_from(options))
            used.add((p, k))
            blocks.append({"id": draw(st.sampled_from(_SOLID_POOL)), "order_id": i, "parent": p, "bp_id": k})
    return parse_tree(blocks, reference_quirks=False)


def _all_points(blocks: list[dict]) -> list[tuple[int, int]]:
    return [(p, k) for p, b in enumerate(blocks) if "parent" in b
            for k in range(len(BLOCKS[b["id"]].attach_points))]


def _valid_edit(tree: ConstructionTree, draw: st.DrawFn) -> Add | Remove | Move | None:
    """An edit that must apply to ``tree`` (strict mode, no spatial check), or None."""
    n = len(tree)
    occupied = {(p, k) for i in range(n) if tree.blocks[i].type_id not in LINEAR_TYPES
                for p, k in tree.attachments(i)}
    free = [(p, k) for p in range(n) if tree.blocks[p].type_id not in LINEAR_TYPES
            for k in range(len(BLOCKS[tree.blocks[p].type_id].attach_points)) if (p, k) not in occupied]
    leaves = [i for i in range(1, n) if not tree.children(i)]
    movable = [(j, pk) for j in range(1, n) if tree.blocks[j].type_id not in LINEAR_TYPES
               for pk in free if pk[0] < j]
    kind = draw(st.sampled_from(["add", "remove", "move"]))
    if kind == "add" and free:
        return Add(draw(st.sampled_from(_SOLID_POOL)), (draw(st.sampled_from(free)),))
    if kind == "remove" and leaves:
        return Remove(draw(st.sampled_from(leaves)))
    if kind == "move" and movable:
        j, pk = draw(st.sampled_from(movable))
        return Move(j, (pk,))
    return None


@settings(max_examples=60, derandomize=True)
@given(random_trees(), st.data())
def test_valid_edits_always_apply_and_keep_the_tree_file_valid(tree: ConstructionTree,
                                                               data: st.DataObject) -> None:
    for _ in range(6):
        edit = _valid_edit(tree, data.draw)
        if edit is None:
            continue
        r = apply_edits(tree, [edit], spatial=False, reference_quirks=False)
        assert r.ok, (edit, r.report())
        assert parse_tree(r.tree.to_text(), reference_quirks=False) == r.tree
        expected = len(tree) + (1 if isinstance(edit, Add) else -1 if isinstance(edit, Remove) else 0)
        assert len(r.tree) == expected
        tree = r.tree


@settings(max_examples=80, derandomize=True)
@given(random_trees(), st.lists(edit_strategy.map(lambda e: e), max_size=6), st.booleans(), st.booleans(),
       st.booleans())
def test_random_edits_never_crash_and_keep_validity(tree: ConstructionTree, edits: list, quirks: bool,
                                                     spatial: bool, stop: bool) -> None:
    small = [_shrink(e, len(tree) + 3) for e in edits]
    r = apply_edits(tree, small, reference_quirks=quirks, spatial=spatial, stop_on_error=stop)
    steps = sorted(r.applied + r.skipped + tuple(e.step for e in r.errors))
    assert steps == list(range(len(small)))
    assert parse_tree(r.tree.to_text(), reference_quirks=quirks) == r.tree
    assert sorted(r.id_map.values()) == list(range(len(r.tree)))
    if not r.applied:
        assert r.tree == tree


def _shrink(edit: Add | Remove | Move, n: int) -> Add | Remove | Move:
    """Keep ids near the tree size so that many random edits are valid."""
    if isinstance(edit, Remove):
        return Remove(edit.order_id % n)
    targets = tuple((p % n, k % 13) for p, k in edit.targets)
    return Add(edit.type_id, targets) if isinstance(edit, Add) else Move(edit.order_id % n, targets)
