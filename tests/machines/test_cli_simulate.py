"""`brickfield machine simulate`: the Evaluation record, level syntax, bindings, task params, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brickfield.cli import app as main_app
from brickfield.core import get_domain
from brickfield.machines.cli import app
from brickfield.machines.reference import reference_machine
from tests.machines._trees import ROOT

runner = CliRunner()


def _write(tmp_path: Path, name: str, tree: object) -> str:
    path = tmp_path / name
    path.write_text(tree if isinstance(tree, str) else json.dumps(tree), encoding="utf-8")
    return str(path)


def _record(args: list[str]) -> tuple[int, dict]:
    result = runner.invoke(app, ["simulate", *args, "--json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def test_json_output_is_the_evaluation_record(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    code, d = _record([path, "--task", "car"])
    assert code == 0
    assert d["task_id"] == "machines/car:1" and d["status"] == "ok" and d["valid"] is True
    assert d["metrics"]["score"] >= 30.0 and d["reward"] == d["metrics"]["score"]
    assert d["components"] == {"valid": 1.0, "score": d["metrics"]["score"]}
    assert d["details"]["damage"] == [] and d["details"]["level"] == "car_level1"
    assert set(d["timings"]) >= {"compile_s", "sim_s"}
    # the CLI record is the domain's record (one reward definition everywhere)
    dom = get_domain("machines")
    ev = dom.evaluate_text(json.dumps(reference_machine("car")), dom.task("car:1"))
    assert ev.to_dict(timings=False) == {k: v for k, v in d.items() if k != "timings"}


def test_text_summary_and_trace_file_through_main_cli(tmp_path: Path) -> None:
    path = _write(tmp_path, "cat.txt", "My catapult:\n```json\n" + json.dumps(reference_machine("catapult"))
                  + "\n```\n")
    out = tmp_path / "trace.json"
    result = runner.invoke(main_app, ["machine", "simulate", path, "--task", "catapult:1",
                                      "--trace", str(out)])
    assert result.exit_code == 0, result.output
    assert "Task: catapult_level1" in result.stdout and "Score:" in result.stdout
    assert "machines/catapult:1: status ok" in result.stdout and "timing: compile" in result.stdout
    trace = json.loads(out.read_text(encoding="utf-8"))
    assert len(trace["times"]) == 26 and len(trace["positions"][0]) == len(reference_machine("catapult"))


def test_damage_is_reported(tmp_path: Path) -> None:
    # a wooden pole (fragile) carrying 15 kg of ballast; its rubber band makes the reference
    # placement spawn it 5 m up (phantom-point quirk) and the landing snaps the pole
    tree = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
            {"id": "41", "order_id": 1, "parent": 0, "bp_id": 4},
            *({"id": "35", "order_id": k + 2, "parent": 1, "bp_id": bp}
              for k, bp in enumerate((0, 2, 4, 6, 8))),
            {"id": "9", "order_id": 7, "parent_a": 0, "bp_id_a": 0, "parent_b": 1, "bp_id_b": 1}]
    path = _write(tmp_path, "tower.json", tree)
    _code, d = _record([path, "--task", "catapult"])
    assert d["valid"] is True and d["details"]["invalid_reason"] is None
    damage = d["details"]["damage"]
    assert [(e["order_id"], e["type_id"]) for e in damage] == [(1, "41")]
    assert 0.8 < damage[0]["time"] < 1.3 and damage[0]["force"] > 8000.0
    text = runner.invoke(app, ["simulate", path, "--task", "catapult"]).stdout
    assert "(order_id 1) broke off" in text


def test_invalid_machine_exits_1_and_still_reports(tmp_path: Path) -> None:
    tree = [*reference_machine("car"), {"id": "63", "order_id": 6, "parent": 0, "bp_id": 1},
            {"id": "63", "order_id": 7, "parent": 0, "bp_id": 1}]
    path = _write(tmp_path, "bad.json", tree)
    code, d = _record([path])
    assert code == 1
    assert d["status"] == "invalid" and d["valid"] is False and d["reward"] == 0.0 and d["issues"]
    text = runner.invoke(app, ["simulate", path])
    assert text.exit_code == 1 and "status invalid" in text.stdout


def test_unreadable_input_and_unknown_task_exit_2(tmp_path: Path) -> None:
    prose = _write(tmp_path, "x.txt", "no machine here")
    result = runner.invoke(app, ["simulate", prose])
    assert result.exit_code == 2 and "unparseable" in result.stderr
    code, d = _record([prose])
    assert code == 2 and d["status"] == "unparseable" and d["issues"][0]["code"] == "bad_json"
    missing = runner.invoke(app, ["simulate", str(tmp_path / "missing.json"), "--json"])
    assert missing.exit_code == 2 and json.loads(missing.stdout)["error"]["code"] == "unreadable"
    result = runner.invoke(app, ["simulate", _write(tmp_path, "c.json", reference_machine("car")),
                                 "--task", "spaceship"])
    assert result.exit_code == 2 and "unknown level spaceship:1" in result.stderr


# --- every task family, the level syntax, variants, the levels listing ---------------------------
@pytest.mark.parametrize(("level", "machine"), [("car:2", "car"), ("catapult_level8", "catapult"),
                                                ("delivery:1", "car"), ("fetch:1", "car")])
def test_simulate_one_level_of_each_task(tmp_path: Path, level: str, machine: str) -> None:
    path = _write(tmp_path, "m.json", reference_machine(machine))
    code, d = _record([path, "--task", level])
    task, number = level.replace("_level", ":").split(":")
    assert code == 0
    assert d["task_id"] == f"machines/{task}:{number}" and d["details"]["level"] == f"{task}_level{number}"
    assert d["valid"] and d["metrics"]["score"] >= 0.0
    if task in ("catapult", "delivery", "fetch"):
        assert "win" in d["metrics"]
    text = runner.invoke(app, ["simulate", path, "-t", level])
    assert text.exit_code == 0 and f"Task: {task}_level{number}" in text.stdout
    if task == "delivery":
        assert "iron_ore" in text.stdout      # the goal object is reported like a target


def test_level_alias_and_short_option_name_the_same_task(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    spellings = (["--task", "car:2"], ["--level", "car_level2"], ["-t", "car:2"])
    records = [_record([path, *opt])[1] for opt in spellings]
    assert records[0]["task_id"] == "machines/car:2"
    assert all(r["reward"] == records[0]["reward"] for r in records)


def test_simulate_variant_is_reproducible_and_bad_level_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    runs = [_record([path, *opt])[1] for opt in (["--task", "car", "--variant", "4"], ["--task", "car:1@4"])]
    assert runs[0]["task_id"] == runs[1]["task_id"] == "machines/car:1@4"
    assert runs[0]["metrics"]["score"] == runs[1]["metrics"]["score"]
    assert runs[0]["metrics"]["score"] != _record([path])[1]["metrics"]["score"]
    bad = runner.invoke(app, ["simulate", path, "--task", "delivery:12"])
    assert bad.exit_code == 2 and "delivery:12" in bad.output and "known: car:1" in bad.output
    for cmd in (["simulate", path], ["query", path, "--request", "[]"]):
        negative = runner.invoke(app, [*cmd, "--variant", "-5"])
        assert negative.exit_code == 2 and "--variant" in negative.output, negative.output
        negative = runner.invoke(app, [*cmd, "--task", "catapult:8@-3"])
        assert negative.exit_code == 2 and "bad level name" in negative.output, negative.output
    twice = runner.invoke(app, ["simulate", path, "--task", "car:1@2", "--variant", "3"])
    assert twice.exit_code == 2 and "variant given twice" in twice.output


def test_levels_command_lists_every_level() -> None:
    result = runner.invoke(app, ["levels", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 26 and rows[0]["name"] == "car_level1" and rows[-1]["name"] == "fetch_level1"
    fetch = rows[-1]
    assert fetch["duration"] == 22.0 and fetch["win_condition"] == "Target_deliver"
    assert "45" in fetch["allowed_blocks"] and fetch["prompt"] and fetch["goal_objects"] == ["iron_ore"]
    table = runner.invoke(main_app, ["machine", "levels", "--task", "catapult"])
    assert table.exit_code == 0 and "catapult_level11" in table.stdout and "car_level1" not in table.stdout
    one = json.loads(runner.invoke(app, ["levels", "--task", "car:2", "--json"]).stdout)
    assert [r["name"] for r in one] == ["car_level2"]
    variant = json.loads(runner.invoke(app, ["levels", "-t", "catapult:8@3", "--json"]).stdout)
    assert [r["name"] for r in variant] == ["catapult_level8/variant3"]
    for bad in ("boat", "car:9"):
        result = runner.invoke(app, ["levels", "--task", bad])
        assert result.exit_code == 2 and "car" in result.stderr, bad


# --- key bindings ------------------------------------------------------------------------------
def test_fetch_reference_scores_1_with_the_task_default_bindings(tmp_path: Path) -> None:
    path = _write(tmp_path, "fetch.json", reference_machine("fetch"))
    result = runner.invoke(main_app, ["machine", "simulate", path, "--task", "fetch:1"])
    assert result.exit_code == 0, result.output
    assert "machines/fetch:1: status ok, reward 1.0000, success yes" in result.stdout
    code, d = _record([path, "--task", "fetch:1"])
    assert code == 0 and d["reward"] == 1.0 and d["success"] is True and d["metrics"]["win"]


def test_bindings_option_json_and_file_replace_the_default(tmp_path: Path) -> None:
    path = _write(tmp_path, "fetch.json", reference_machine("fetch"))
    explicit = _record([path, "-t", "fetch:1", "--bindings", '{"13": {"detach": "V"}}'])[1]
    keys = tmp_path / "keys.json"
    keys.write_text('{"*": {"detach": "V"}}')
    from_file = _record([path, "-t", "fetch:1", "--bindings", f"@{keys}"])[1]
    assert explicit["reward"] == from_file["reward"] == 1.0
    # Besiege's default J is never pressed on fetch: the hook is never dropped
    default_j = _record([path, "-t", "fetch:1", "--bindings", '{"*": {"detach": "J"}}'])[1]
    assert default_j["status"] == "ok" and default_j["reward"] == 0.0


def test_bad_bindings_exit_2_with_a_message(tmp_path: Path) -> None:
    path = _write(tmp_path, "fetch.json", reference_machine("fetch"))
    cases = {"{bad": "invalid JSON", "[1, 2]": "JSON object", '{"x": {"detach": "V"}}': "order_id",
             '{"13": "V"}': "map action names", '{"99": {"detach": "V"}}': "unknown order_id 99",
             '{"13": {"fly": "V"}}': "no action 'fly'", f"@{tmp_path}": "cannot read"}
    for value, message in cases.items():
        for cmd in ("simulate", "query"):
            extra = ["--request", "[]"] if cmd == "query" else []
            result = runner.invoke(app, [cmd, path, "-t", "fetch:1", "--bindings", value, *extra])
            assert result.exit_code == 2, (cmd, value, result.output)
            assert message in result.stderr and "Traceback" not in result.output, (cmd, value, result.stderr)


# --- other task parameters -----------------------------------------------------------------------
def test_strict_allow_any_block_and_simulate_invalid(tmp_path: Path) -> None:
    root_only = _write(tmp_path, "root.json", [ROOT])
    assert _record([root_only])[0] == 1                          # the reference rejects a lone root
    code, d = _record([root_only, "--strict"])
    assert code == 0 and d["status"] == "ok"
    catapult = _write(tmp_path, "cat.json", reference_machine("catapult"))
    code, d = _record([catapult, "-t", "car:2"])
    assert code == 1 and d["issues"][0]["code"] == "block_not_allowed" and d["details"]["simulated"] is False
    code, d = _record([catapult, "-t", "car:2", "--simulate-invalid"])
    assert code == 1 and d["details"]["simulated"] is True and d["reward"] == 0.0
    code, d = _record([catapult, "-t", "car:2", "--allow-any-block"])
    assert code == 0 and d["status"] == "ok" and d["details"]["disallowed_blocks"]


def test_seed_and_wall_seconds(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    a, b = (_record([path, "--seed", "3"])[1] for _ in range(2))
    assert a["task_key"] == b["task_key"] and a["metrics"] == b["metrics"]
    assert a["task_key"] != _record([path])[1]["task_key"]       # the seed is part of the task
    code, d = _record([path, "--wall-seconds", "1e-6"])
    assert code == 1 and d["issues"][-1]["code"] == "wall_limit"
    for bad in ("0", "-1", "4000"):
        result = runner.invoke(app, ["simulate", path, "--wall-seconds", bad])
        assert result.exit_code == 2 and "wall_seconds" in result.stderr, bad


def test_feedback_levels(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    score = runner.invoke(app, ["simulate", path, "--feedback", "score"])
    assert score.exit_code == 0 and score.stdout.startswith("status ok, reward 43.")
    assert "[Wheels]" not in score.stdout
    assert "[Wheels]" in runner.invoke(app, ["simulate", path]).stdout
    assert runner.invoke(app, ["simulate", path, "--feedback", "loud"]).exit_code == 2
