"""`brickfield machine simulate`: text and JSON output, --trace, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brickfield.cli import app as main_app
from brickfield.machines.cli import app
from brickfield.machines.reference import reference_machine

runner = CliRunner()


def _write(tmp_path: Path, name: str, tree: object) -> str:
    path = tmp_path / name
    path.write_text(tree if isinstance(tree, str) else json.dumps(tree), encoding="utf-8")
    return str(path)


def test_json_output_has_score_validity_reward_damage_timing(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    result = runner.invoke(app, ["simulate", path, "--task", "car", "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["valid"] is True and d["score"] >= 30.0 and d["reward"] == d["score"]
    assert d["damage"] == [] and d["task"] == "car_level1"
    assert set(d["timing"]) >= {"compile_s", "sim_s", "sim_seconds"} and d["timing"]["sim_seconds"] == 5.0


def test_text_summary_and_trace_file_through_main_cli(tmp_path: Path) -> None:
    path = _write(tmp_path, "cat.txt", "My catapult:\n```json\n" + json.dumps(reference_machine("catapult"))
                  + "\n```\n")
    out = tmp_path / "trace.json"
    result = runner.invoke(main_app, ["machine", "simulate", path, "--task", "catapult", "--level", "1",
                                      "--trace", str(out)])
    assert result.exit_code == 0, result.output
    assert "Task: catapult_level1" in result.stdout and "Score:" in result.stdout
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
    d = json.loads(runner.invoke(app, ["simulate", path, "--task", "catapult", "--json"]).stdout)
    assert d["valid"] is True and d["invalid_reason"] is None
    assert [(e["order_id"], e["type_id"]) for e in d["damage"]] == [(1, "41")]
    assert 0.8 < d["damage"][0]["time"] < 1.3 and d["damage"][0]["force"] > 8000.0
    text = runner.invoke(app, ["simulate", path, "--task", "catapult"]).stdout
    assert "(order_id 1) broke off" in text


def test_invalid_machine_exits_1_and_still_reports(tmp_path: Path) -> None:
    tree = [*reference_machine("car"), {"id": "63", "order_id": 6, "parent": 0, "bp_id": 1},
            {"id": "63", "order_id": 7, "parent": 0, "bp_id": 1}]
    result = runner.invoke(app, ["simulate", _write(tmp_path, "bad.json", tree), "--json"])
    assert result.exit_code == 1
    d = json.loads(result.stdout)
    assert d["valid"] is False and d["reward"] == 0.0 and d["errors"]


def test_unreadable_input_and_unknown_task_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", _write(tmp_path, "x.txt", "no machine here")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["simulate", _write(tmp_path, "c.json", reference_machine("car")),
                                 "--task", "spaceship"])
    assert result.exit_code == 2


# --- every task family, variants, the levels listing -------------------------------------------
@pytest.mark.parametrize(("task", "level", "machine"), [("car", 2, "car"), ("catapult", 8, "catapult"),
                                                        ("delivery", 1, "car"), ("fetch", 1, "car")])
def test_simulate_one_level_of_each_task(tmp_path: Path, task: str, level: int, machine: str) -> None:
    path = _write(tmp_path, "m.json", reference_machine(machine))
    result = runner.invoke(app, ["simulate", path, "--task", task, "--level", str(level), "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["task"] == f"{task}_level{level}" and d["valid"] and d["score"] >= 0.0
    if task in ("catapult", "delivery", "fetch"):
        assert "win" in d["metrics"]
    text = runner.invoke(app, ["simulate", path, "--task", task, "--level", str(level)])
    assert text.exit_code == 0 and f"Task: {task}_level{level}" in text.stdout
    if task == "delivery":
        assert "iron_ore" in text.stdout      # the goal object is reported like a target


def test_simulate_variant_is_reproducible_and_bad_level_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "car.json", reference_machine("car"))
    runs = [json.loads(runner.invoke(app, ["simulate", path, "--task", "car", "--variant", "4",
                                           "--json"]).stdout) for _ in range(2)]
    assert runs[0]["score"] == runs[1]["score"] and runs[0]["level"] == "car_level1/variant4"
    bad = runner.invoke(app, ["simulate", path, "--task", "delivery", "--level", "12"])
    assert bad.exit_code == 2 and "delivery_level12" in bad.output
    for cmd in (["simulate", path], ["query", path, "--request", "[]"]):
        negative = runner.invoke(app, [*cmd, "--variant", "-5"])
        assert negative.exit_code == 2 and "--variant" in negative.output, negative.output


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
    assert runner.invoke(app, ["levels", "--task", "boat"]).exit_code == 2
