"""`brickfield machine export`: formats, --out, --level, .bsg input, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import mujoco
from typer.testing import CliRunner

from brickfield.cli import app as main_app
from brickfield.machines.cli import app
from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import place
from brickfield.machines.io.bsg import from_bsg, to_bsg
from tests.machines._trees import CAR, OVERLAPPING, RICH, write

runner = CliRunner()


def test_bsg_to_stdout_named_after_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "my_car.txt", "Here:\n```json\n" + json.dumps(CAR) + "\n```\n")
    result = runner.invoke(app, ["export", path, "--format", "bsg"])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_bsg(place(parse_tree(CAR)), name="my_car")


def test_bsg_to_out_file_and_through_the_main_cli(tmp_path: Path) -> None:
    out = tmp_path / "rich.bsg"
    result = runner.invoke(main_app, ["machine", "export", write(tmp_path, "r.json", json.dumps(RICH)),
                                      "--out", str(out), "--name", "Rich"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert 'name="Rich"' in text and len(from_bsg(text)) == len(RICH)


def test_mjcf_with_and_without_level(tmp_path: Path) -> None:
    path = write(tmp_path, "car.json", json.dumps(CAR))
    plain = runner.invoke(app, ["export", path, "--format", "mjcf"])
    assert plain.exit_code == 0, plain.output
    alone = mujoco.MjModel.from_xml_string(plain.stdout)
    scene = runner.invoke(app, ["export", path, "-f", "mjcf", "--level", "car:1"])
    assert scene.exit_code == 0, scene.output
    model = mujoco.MjModel.from_xml_string(scene.stdout)
    assert model.ngeom == alone.ngeom + 3 and model.nbody == alone.nbody
    assert "cube_2" in scene.stdout   # car_level1's back wall
    for spelling in (["--task", "car"], ["-t", "car_level1"]):   # the same level syntax everywhere
        same = runner.invoke(app, ["export", path, "-f", "mjcf", *spelling])
        assert same.exit_code == 0 and same.stdout == scene.stdout, spelling


def test_mjcf_scene_of_a_level_variant(tmp_path: Path) -> None:
    path = write(tmp_path, "car.json", json.dumps(CAR))
    base = runner.invoke(app, ["export", path, "-f", "mjcf", "-t", "catapult:8"]).stdout
    at = runner.invoke(app, ["export", path, "-f", "mjcf", "-t", "catapult:8@3"])
    opt = runner.invoke(app, ["export", path, "-f", "mjcf", "-t", "catapult:8", "--variant", "3"])
    assert at.exit_code == 0 and opt.exit_code == 0, at.output + opt.output
    assert at.stdout == opt.stdout != base
    mujoco.MjModel.from_xml_string(at.stdout)


def test_bsg_input_is_accepted(tmp_path: Path) -> None:
    bsg = write(tmp_path, "car.bsg", to_bsg(place(parse_tree(CAR)), name="car"))
    again = runner.invoke(app, ["export", bsg])
    assert again.exit_code == 0, again.output
    assert again.stdout == Path(bsg).read_text(encoding="utf-8")
    assert runner.invoke(app, ["export", bsg, "--format", "mjcf"]).exit_code == 0


def test_invalid_machine_exits_1_with_errors_on_stderr(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", write(tmp_path, "bad.json", json.dumps(OVERLAPPING))])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "overlap error" in result.stderr
    bad_bp = [*CAR[:-1], {"id": "2", "order_id": 5, "parent": 1, "bp_id": 99}]
    result = runner.invoke(app, ["export", write(tmp_path, "bp.json", json.dumps(bad_bp)), "-f", "mjcf"])
    assert result.exit_code == 1
    assert "illegal building" in result.stderr


def test_bsg_not_forming_a_tree_exits_1(tmp_path: Path) -> None:
    text = to_bsg(place(parse_tree(CAR))).replace('<Position x="0" y="0" z="0.5" />',
                                                  '<Position x="0.3" y="0" z="0.5" />', 1)
    result = runner.invoke(app, ["export", write(tmp_path, "moved.bsg", text)])
    assert result.exit_code == 1
    assert "attach point" in result.stderr


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["export", str(tmp_path / "missing.json")]).exit_code == 2
    assert runner.invoke(app, ["export", write(tmp_path, "prose.txt", "no machine here")]).exit_code == 2
    hostile = '<!DOCTYPE m [<!ENTITY a "aaaa">]><Machine>&a;</Machine>'
    result = runner.invoke(app, ["export", write(tmp_path, "evil.bsg", hostile)])
    assert result.exit_code == 2
    assert "forbidden_dtd" in result.stderr


def test_bad_options_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "car.json", json.dumps(CAR))
    assert runner.invoke(app, ["export", path, "--format", "stl"]).exit_code == 2
    assert runner.invoke(app, ["export", path, "--level", "car:1"]).exit_code == 2  # bsg has no level
    assert runner.invoke(app, ["export", path, "--variant", "2"]).exit_code == 2    # nor a variant
    result = runner.invoke(app, ["export", path, "-f", "mjcf", "--level", "car:99"])
    assert result.exit_code == 2
    assert "unknown level car:99" in result.stderr and "known: car:1" in result.stderr
    result = runner.invoke(app, ["export", path, "-f", "mjcf", "--level", "car:1", "--variant", "-1"])
    assert result.exit_code == 2 and "--variant" in result.output
    result = runner.invoke(app, ["export", path, "--out", str(tmp_path)])
    assert result.exit_code == 2 and "cannot write" in result.stderr
