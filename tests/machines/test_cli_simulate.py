"""`brickfield machine simulate`: text and JSON output, --trace, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from brickfield.cli import app as main_app
from brickfield.machines.cli import app
from brickfield.machines.tasks import reference_machine

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
