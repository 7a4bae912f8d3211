"""Role prompts: every role renders for every task family with the level's blocks and its answer
marker, user template folders override the packaged texts, bad templates and missing fields fail
clearly; the blueprint format; answer extraction."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from brickfield.agents.edits import EDIT_GRAMMAR, apply_edits
from brickfield.agents.info3d import machine_info3d
from brickfield.agents.prompts import (
    BLUEPRINT_FORMAT,
    ROLES,
    TASK_FIELDS,
    BlueprintError,
    PromptError,
    PromptFieldError,
    PromptTemplateError,
    answer_block,
    builder_prompt,
    default_prompts,
    designer_prompt,
    inspector_prompt,
    load_prompts,
    meta_designer_prompt,
    parse_blueprint,
    querier_prompt,
    refiner_prompt,
    render_role,
    resolve_level,
    single_agent_prompt,
    task_fields,
)
from brickfield.agents.prompts.roles import SAMPLE_INTERVAL_S
from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.levels.registry import get_level
from brickfield.machines.prompts import block_line, facing_table, tree_format_rules
from tests.machines._trees import CAR

LEVELS = ["car:1", "car:5", "catapult:1", "catapult:8", "delivery:3", "fetch:1"]
CAR_TEXT = parse_tree(CAR).to_text()
BLUEPRINT = {
    "machine": "four-wheel car", "requirements": ["drive forward"],
    "functional_blocks": [
        {"name": "chassis", "purpose": "carry everything.", "block_types": ["0", "63"], "connects_to": [],
         "design": "a log forward of the Starting Block"},
        {"name": "drive", "purpose": "push forward.", "block_types": [2], "connects_to": ["chassis"],
         "design": "powered wheels on the left and right faces"},
        {"name": "ballast", "purpose": "keep it down.", "block_types": ["35"], "connects_to": "chassis"}],
    "build_order": ["chassis", "drive", "ballast"]}


def context_for(role: str) -> dict[str, object]:
    """The required context of a role, with plausible values."""
    values = {"machine": CAR_TEXT, "feedback": "Score: 12.00 | valid machine", "stage": "drive: wheels",
              "blueprint": json.dumps(BLUEPRINT)}
    return {k: values[k] for k in ROLES[role].required if k in values}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_renders_for_every_task_family(role: str, level: str) -> None:
    p = render_role(role, level, **context_for(role))
    lvl = resolve_level(level)
    assert p.role == role and p.system and p.user
    assert f"```{p.answer}" in p.system  # the marker the workflow parses is asked for
    for t in BLOCKS:
        assert (block_line(t) in p.system) is (t in lvl.allowed_blocks), (role, t)
    assert lvl.label in p.system and lvl.prompt in p.system + p.user
    assert p.messages == [{"role": "system", "content": p.system}, {"role": "user", "content": p.user}]
    assert "{" not in p.user.replace(CAR_TEXT, "").replace(json.dumps(BLUEPRINT), "").replace(
        '{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}', "")  # no unfilled placeholder


def test_designer_prompt_for_all_26_levels() -> None:
    from brickfield.machines.levels.schema import list_levels

    texts = {n: designer_prompt(n).system for n in list_levels()}
    assert len(texts) == 26 and len(set(texts.values())) >= 20
    assert all(tree_format_rules() in t and facing_table() in t for t in texts.values())


def test_role_specific_contents() -> None:
    from brickfield.machines.feedback.querier import DEFAULT_LIMITS, PROPERTIES

    refiner = refiner_prompt("car:1", CAR_TEXT)
    assert EDIT_GRAMMAR in refiner.system and "```prediction" in refiner.system
    assert machine_info3d(parse_tree(CAR)).to_text() in refiner.user  # computed from the machine
    assert "Score so far: not simulated yet" in refiner.user and "(not simulated yet)" in refiner.user
    querier = querier_prompt("catapult:2", CAR_TEXT, "boulder fell at 1.2 s")
    assert f"at most {DEFAULT_LIMITS.max_items} requests" in querier.system
    assert all(p in querier.system for p in PROPERTIES) and "<= 5;" in querier.system
    assert f"at most {DEFAULT_LIMITS.max_values} values" in querier.system
    assert "boulder fell at 1.2 s" in querier.user
    assert BLUEPRINT_FORMAT in meta_designer_prompt("catapult:3").system
    builder = builder_prompt("car:1", parse_blueprint(BLUEPRINT), parse_blueprint(BLUEPRINT).stages[1])
    assert '"name": "drive"' in builder.user
    assert "drive: push forward. Blocks: 2 (Powered Wheel)." in builder.user
    assert '[{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]' in builder.user
    assert "#0 0 Starting Block | root" in builder.user
    assert "order_id <n>: <problem> -> <suggested change>" in inspector_prompt("car:1", CAR_TEXT).system
    assert "no feedback and no second attempt" in single_agent_prompt("delivery:1").system
    assert "key L held 0-5 s" in designer_prompt("catapult:4").system
    assert "UpArrow" in designer_prompt("fetch:1").system and "land the boulder in the target" in \
        designer_prompt("catapult:9").system


def test_sample_interval_matches_the_simulator() -> None:
    from brickfield.machines.sim.simulate import simulate

    assert inspect.signature(simulate).parameters["record_every"].default == SAMPLE_INTERVAL_S


def test_context_objects_are_written_as_text() -> None:
    tree = parse_tree(CAR)
    result = apply_edits(tree, "Remove [5]\nRemove [0]")
    p = refiner_prompt("car:1", tree, history=result, score=12.345,
                       feedback=SimpleNamespace(text="FEEDBACK TEXT"), inspection=["a", "b"])
    assert tree.to_text() in p.user and "2. Remove [0]: FAILED [root_block]" in p.user
    assert "Score so far: 12.35" in p.user and "FEEDBACK TEXT" in p.user and '["a", "b"]' in p.user
    shifted = parse_tree([{**b, "order_id": b["order_id"] + 10 * (b["order_id"] > 0)} for b in CAR])
    assert tree.to_text() in inspector_prompt("car:1", shifted).user  # written as the edit language's ids
    bad = inspector_prompt("car:1", '[{"id": "0", "order_id": 0, "parent": 3, "bp_id": -1}]')
    assert "(not available: the machine is not file-valid:" in bad.user


def test_notes_and_determinism() -> None:
    a = designer_prompt("car:2", notes="Use at most 8 blocks.")
    assert a.user.endswith("Use at most 8 blocks.")
    assert designer_prompt("car:2", notes="Use at most 8 blocks.") == a
    expected = f"Design a machine for level car_level2: {get_level('car', 2).prompt}"
    assert designer_prompt("car:2").user == expected


# --- task resolution -----------------------------------------------------------------------------

def test_resolve_level_from_names_levels_and_specs() -> None:
    lvl = get_level("catapult", 8, 3)
    assert resolve_level("catapult:8@3") == lvl == resolve_level(lvl)
    assert resolve_level("car_level2") == get_level("car", 2) == resolve_level(" CAR:2 ")
    assert resolve_level("fetch") == get_level("fetch", 1)
    spec = SimpleNamespace(domain="machines", params={"task": "catapult", "level": 8, "variant": 3})
    assert resolve_level(spec) == lvl
    assert "catapult_level8/variant3" in designer_prompt(spec).system
    from brickfield.machines.tasks import machine_task

    assert resolve_level(machine_task("delivery:4")) == get_level("delivery", 4)
    for bad in ("boat:1", "car:99", "", 3.5, None, SimpleNamespace(domain="lego", params={"task": "tower"})):
        with pytest.raises(PromptError) as err:
            resolve_level(bad)
        assert err.value.code == "unknown_task"


def test_task_fields_are_documented_and_lazy() -> None:
    fields = task_fields("car:1", ["duration", "allowed_ids"])
    assert fields == {"duration": "5", "allowed_ids": "0, 1, 2, 9, 15, 16, 22, 35, 41, 63"}
    assert set(task_fields("car:1")) == set(TASK_FIELDS)


# --- user templates ------------------------------------------------------------------------------

def test_custom_folder_overrides_per_role(tmp_path: Path) -> None:
    (tmp_path / "designer.txt").write_text("CUSTOM {level_name} uses {{json}}\n{block_table}",
                                           encoding="utf-8")
    (tmp_path / "environment_querier_user.txt").write_text("Q {feedback} / {machine}", encoding="utf-8")
    (tmp_path / "README.txt").write_text("{not a template", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    prompts = load_prompts(tmp_path)
    assert prompts.sources["designer"] == str(tmp_path / "designer.txt")
    assert prompts.sources["designer_user"] == "default"
    p = designer_prompt("car:1", prompts=prompts)
    assert p.system.startswith("CUSTOM car_level1 uses {json}\n- 0 Starting Block")
    assert p.user == designer_prompt("car:1").user
    q = querier_prompt("car:1", "[...]", "fell over", prompts=prompts)
    assert q.user == "Q fell over / [...]"
    assert q.system == querier_prompt("car:1", "[...]", "fell over").system
    assert load_prompts(None) is default_prompts()
    assert load_prompts(str(tmp_path)).templates == prompts.templates


@pytest.mark.parametrize("text, code, words", [
    ("Hello {machine}", "unknown_field", ["designer.txt", "{machine}", "block_table"]),
    ("Hello {level_nam}", "unknown_field", ["{level_nam}"]),
    ("JSON {\"id\": 0}", "bad_template", ["{{ and }}"]),  # forgot to double the braces
    ("open { brace", "bad_template", ["{{"]),
    ("close } brace", "bad_template", []),
    ("{0}", "bad_template", ["plain"]),
    ("{}", "bad_template", ["plain"]),
    ("{level_name.upper}", "bad_template", ["plain"]),
    ("{block_table[0]}", "bad_template", ["plain"]),
    ("{duration:{x}}", "bad_template", ["plain"]),
])
def test_bad_templates_are_refused_when_loaded(tmp_path: Path, text: str, code: str,
                                               words: list[str]) -> None:
    (tmp_path / "designer.txt").write_text(text, encoding="utf-8")
    with pytest.raises(PromptTemplateError) as err:
        load_prompts(tmp_path)
    assert err.value.code == code
    assert all(w in err.value.message for w in words), err.value.message


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(PromptError) as err:
        load_prompts(tmp_path / "missing")
    assert err.value.code == "not_a_folder"
    (tmp_path / "inspecter.txt").write_text("typo", encoding="utf-8")
    with pytest.raises(PromptError) as err:
        load_prompts(tmp_path)
    assert err.value.code == "unknown_prompt_file" and "inspector.txt" in err.value.message
    (tmp_path / "inspecter.txt").unlink()
    (tmp_path / "designer.txt").write_bytes(b"\xff\xfe bad utf-8")
    with pytest.raises(PromptError) as err:
        load_prompts(tmp_path)
    assert err.value.code == "unreadable"


def test_missing_and_unknown_fields() -> None:
    with pytest.raises(PromptFieldError) as err:
        render_role("refiner", "car:1")
    assert err.value.code == "missing_field" and "refiner needs machine" in err.value.message
    with pytest.raises(PromptFieldError) as err:
        render_role("querier", "car:1", machine=CAR_TEXT)
    assert "needs feedback" in err.value.message
    with pytest.raises(PromptFieldError) as err:
        render_role("designer", "car:1", machine=CAR_TEXT)
    assert err.value.code == "unknown_field" and "designer takes no field(s) machine" in err.value.message
    with pytest.raises(PromptFieldError) as err:
        render_role("refiner", "car:1", machine=CAR_TEXT, inspecton="typo")
    assert "inspecton" in err.value.message and "inspection" in err.value.message
    with pytest.raises(PromptError) as err:
        render_role("critic", "car:1")
    assert err.value.code == "unknown_role"
    assert render_role("Meta-Designer", "car:1").role == "meta_designer"
    assert render_role("env_querier", "car:1", machine="[]", feedback="x").role == "querier"


def test_packaged_texts_are_our_own() -> None:
    texts = default_prompts().templates
    assert len(texts) == 2 * len(ROLES)
    for phrase in ("Constructible", "block group", "building_point", "Modification Steps"):
        assert not any(phrase in t for t in texts.values()), phrase


def test_import_and_common_roles_need_no_mujoco() -> None:
    code = ("import sys; import brickfield.agents.info3d, brickfield.agents.edits, "
            "brickfield.agents.prompts; "
            "from brickfield.agents.prompts import render_role; "
            "render_role('designer', 'car:1'); render_role('refiner', 'catapult:2', machine='[]'); "
            "render_role('builder', 'car:1', blueprint='{}', stage='x'); "
            "assert 'mujoco' not in sys.modules, 'mujoco imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


# --- blueprint and answers -----------------------------------------------------------------------

def test_blueprint_parses_and_orders_stages() -> None:
    text = "Plan:\n```json\n" + json.dumps(BLUEPRINT, indent=2) + "\n```\nDone."
    bp = parse_blueprint(text, allowed_blocks=get_level("car", 1).allowed_blocks)
    assert [s.name for s in bp.stages] == ["chassis", "drive", "ballast"]
    assert bp.functional_blocks[1].block_types == ("2",)
    assert bp.functional_blocks[2].connects_to == ("chassis",)
    assert parse_blueprint(bp.to_text()) == bp and json.loads(bp.to_text())["build_order"][0] == "chassis"
    no_order = {k: v for k, v in BLUEPRINT.items() if k != "build_order"}
    assert parse_blueprint(no_order).build_order == ("chassis", "drive", "ballast")
    trailing_commas = '{"functional_blocks": [{"name": "a", "block_types": ["0"],},],}'
    assert parse_blueprint(trailing_commas).build_order == ("a",)


@pytest.mark.parametrize("change, code", [
    ({"functional_blocks": [{"name": "a", "block_types": ["999"]}]}, "unknown_type"),
    ({"functional_blocks": [{"name": "a", "block_types": ["46"]}]}, "type_not_allowed"),
    ({"functional_blocks": []}, "bad_count"),
    ({"functional_blocks": [{"name": f"p{i}"} for i in range(7)]}, "bad_count"),
    ({"build_order": ["chassis", "drive"]}, "bad_build_order"),
    ({"build_order": ["chassis", "drive", "ballast", "drive"]}, "bad_build_order"),
    ({"functional_blocks": [{"name": "a"}, {"name": "a"}], "build_order": ["a", "a"]}, "bad_schema"),
    ({"functional_blocks": [{"purpose": "no name"}]}, "bad_schema"),
    ({"functional_blocks": "chassis"}, "bad_schema"),
    ({"requirements": {"a": 1}}, "bad_schema"),
])
def test_blueprint_errors(change: dict, code: str) -> None:
    data = {**BLUEPRINT, **change}
    if "functional_blocks" in change and "build_order" not in change:
        data.pop("build_order")
    with pytest.raises(BlueprintError) as err:
        parse_blueprint(json.dumps(data), allowed_blocks=get_level("car", 1).allowed_blocks)
    assert code in [i.code for i in err.value.issues]


@pytest.mark.parametrize("text", ["no json here", "```json\n[1, 2]\n```", "x" * 60_000, "{" * 5000])
def test_blueprint_bad_text(text: str) -> None:
    with pytest.raises(BlueprintError):
        parse_blueprint(text)


def test_answer_block() -> None:
    text = ("```json\n[1]\n```\nthinking\n```edits\nRemove [1]\n```\n```edits\nRemove [2]\n```\n"
            "```query\n[{\"a\": 1}")
    assert answer_block(text, "edits") == "Remove [2]"
    assert answer_block(text, "JSON") == "[1]"
    assert answer_block(text, "query") == '[{"a": 1}'  # an answer cut off inside its block
    assert answer_block(text, "issues") is None and answer_block(None, "json") is None  # type: ignore[arg-type]
