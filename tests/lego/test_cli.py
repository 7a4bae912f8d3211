"""`brickfield lego ...`: check/score through the LEGO domain, records, batches, exit codes."""

import json

from typer.testing import CliRunner

from brickfield.cli import app
from brickfield.core import get_domain
from brickfield.lego.examples import example_names, example_text

runner = CliRunner()


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _records(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_version_and_help():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and "brickfield" in r.stdout
    r = runner.invoke(app, ["lego", "--help"])
    assert r.exit_code == 0 and "check" in r.stdout and "legolize" in r.stdout


def test_check_exit_codes(tmp_path):
    good = _write(tmp_path, "good.txt", example_text("stairs_8"))
    unstable = _write(tmp_path, "bad.txt", example_text("stairs_9"))
    invalid = _write(tmp_path, "invalid.txt", "2x2 (0,0,0)\n3x5 (0,0,1)\n")
    garbage = _write(tmp_path, "garbage.txt", "no bricks here\n")
    assert runner.invoke(app, ["lego", "check", good]).exit_code == 0
    assert runner.invoke(app, ["lego", "check", unstable]).exit_code == 1
    assert runner.invoke(app, ["lego", "check", invalid]).exit_code == 1
    assert runner.invoke(app, ["lego", "check", garbage]).exit_code == 2
    assert runner.invoke(app, ["lego", "check", str(tmp_path / "missing.txt")]).exit_code == 2


def test_check_json_is_the_evaluation_record_per_brick_in_input_order(tmp_path):
    text = "```\n2x4 (0,0,0)\n3x5 (0,0,1)\n1x1 (9,9,5)\n```\n"
    r = runner.invoke(app, ["lego", "check", _write(tmp_path, "x.txt", text), "--json"])
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["task_id"] == "lego/free" and d["status"] == "invalid"
    assert d["valid"] is False and d["details"]["stable"] is False and d["reward"] == 0.0
    assert d["details"]["bricks"] == ["2x4 (0,0,0)", "3x5 (0,0,1)", "1x1 (9,9,5)"]
    assert d["details"]["reasons"][0] == [] and d["details"]["reasons"][1] == ["not_in_library"]
    assert "floating" in d["details"]["reasons"][2]
    assert len(d["details"]["scores"]) == 3 and d["details"]["scores"][1] is None
    assert {i["code"] for i in d["issues"]} >= {"not_in_library"}
    # the same record as the domain's
    dom = get_domain("lego")
    ev = dom.evaluate_text(text, dom.task("free", caption="free design"))
    assert ev.to_dict(timings=False) == {k: v for k, v in d.items() if k != "timings"}


def test_check_unparseable_is_an_evaluation_and_unreadable_is_an_error_record(tmp_path):
    r = runner.invoke(app, ["lego", "check", _write(tmp_path, "g.txt", "no bricks here\n"), "--json"])
    d = json.loads(r.stdout)
    assert r.exit_code == 2 and d["status"] == "unparseable" and d["issues"][0]["code"] == "no_bricks"
    assert d["reward"] == 0.0 and d["design_text"] is None
    text = runner.invoke(app, ["lego", "check", _write(tmp_path, "g2.txt", "nothing")])
    assert text.exit_code == 2 and "unparseable" in text.stderr
    for path in (str(tmp_path / "missing.txt"), str(tmp_path)):
        r = runner.invoke(app, ["lego", "check", path, "--json"])
        assert r.exit_code == 2 and set(json.loads(r.stdout)) == {"error"}
        assert json.loads(r.stdout)["error"]["code"] == "unreadable"


def test_check_stdin_and_human_output(tmp_path):
    r = runner.invoke(app, ["lego", "check", "-", "--json"], input="2x2 (0,0,0)\n2x2 (0,0,1)\n")
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["details"]["stable"] is True and d["reward"] == 1.0 and d["success"] is True
    r = runner.invoke(app, ["lego", "check", _write(tmp_path, "s9.txt", example_text("stairs_9"))])
    assert r.exit_code == 1 and "VALID and UNSTABLE" in r.stdout and "reward 0.0000" in r.stdout


def test_check_with_a_caption_or_a_target_builds_that_task(tmp_path):
    a = _write(tmp_path, "a.txt", example_text("stairs_8"))
    d = json.loads(runner.invoke(app, ["lego", "check", a, "--caption", "a staircase", "--json"]).stdout)
    assert d["task_id"] == "lego/free" and set(d["components"]) == {"valid", "stable"}
    r = runner.invoke(app, ["lego", "check", a, "--task", "stairs", "--json"])   # suite task: PVPO
    d = json.loads(r.stdout)
    assert r.exit_code == 0 and d["task_id"] == "lego/stairs"
    assert d["components"] == {"r_phys": 1.0, "r_vox": 1.0}
    tower = _write(tmp_path, "t.txt", example_text("tower"))
    d = json.loads(runner.invoke(app, ["lego", "check", a, "--target", tower, "--json"]).stdout)
    assert d["components"]["r_vox"] < 1.0 and d["metrics"]["iou"] < 1.0
    assert runner.invoke(app, ["lego", "check", a, "--task", "stairs", "--lam", "2"]).exit_code == 2


def test_batch_records_in_input_order_with_error_records(tmp_path):
    lines = [json.dumps({"id": "a", "bricks": example_text("tower")}), "{not json",
             json.dumps({"id": "c", "bricks": 7}),
             json.dumps({"id": "d", "bricks": example_text("stairs_9")}),
             json.dumps({"id": "e", "bricks": "garbage"}),
             json.dumps({"id": "f", "bricks": example_text("stairs_8"), "target": example_text("stairs_8")})]
    inp = _write(tmp_path, "in.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["lego", "check", "--batch", inp, "--out", str(out)])
    assert r.exit_code == 0
    recs = _records(out)
    assert [rec["id"] for rec in recs] == ["a", None, "c", "d", "e", "f"]
    assert [rec["line"] for rec in recs] == [1, 2, 3, 4, 5, 6]
    ev = {rec["id"]: rec["evaluation"] for rec in recs if "evaluation" in rec}
    assert all(rec["task"] == rec["evaluation"]["task_id"] for rec in recs if "evaluation" in rec)
    assert ev["a"]["details"]["stable"] is True and ev["a"]["reward"] == 1.0
    assert recs[1]["error"]["code"] == "bad_json" and set(recs[1]) == {"id", "line", "error"}
    assert recs[2]["error"]["code"] == "bad_record"
    assert ev["d"]["details"]["stable"] is False and max(ev["d"]["details"]["scores"]) == 1.0
    assert ev["e"]["status"] == "unparseable"
    assert ev["f"]["components"] == {"r_phys": 1.0, "r_vox": 1.0}   # a record's own target
    assert "6 records" in r.stderr


def test_score_prints_components_and_metrics(tmp_path):
    a = _write(tmp_path, "a.txt", example_text("stairs_8"))
    b = _write(tmp_path, "b.txt", example_text("stairs_8"))
    r = runner.invoke(app, ["lego", "score", a, "--target", b, "--json"])
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["reward"] == 1.0 and d["metrics"]["iou"] == 1.0
    assert d["components"] == {"r_phys": 1.0, "r_vox": 1.0}
    assert d["metrics"]["voxel_distance"] == 0.0 and d["metrics"]["fscore"] == 1.0
    tower = _write(tmp_path, "t.txt", example_text("tower"))
    text = runner.invoke(app, ["lego", "score", a, "--target", tower])
    assert text.exit_code == 0
    for name in ("R_phys", "R_vox", "reward (PVPO, λ=0.5)", "IoU", "voxel distance", "F-score"):
        assert name in text.stdout, name
    invalid = runner.invoke(app, ["lego", "score", _write(tmp_path, "i.txt", "2x2 (0,0,0)\n3x5 (0,0,1)\n"),
                                  "--target", b, "--json"])
    d = json.loads(invalid.stdout)
    assert invalid.exit_code == 1 and d["status"] == "invalid" and 0.0 < d["reward"] < 1.0   # PVPO partial
    assert runner.invoke(app, ["lego", "score", a]).exit_code == 2                 # no target
    assert runner.invoke(app, ["lego", "score", a, "--task", "stairs"]).exit_code == 0


def test_score_batch_with_record_and_default_targets(tmp_path):
    s8, tower = example_text("stairs_8"), example_text("tower")
    lines = [json.dumps({"id": 1, "bricks": s8}), json.dumps({"id": 2, "bricks": s8, "target": tower}),
             json.dumps({"id": 3, "bricks": s8, "target": "not bricks"}), json.dumps({"id": 4, "bricks": s8,
                                                                                     "target": 5})]
    inp = _write(tmp_path, "in.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["lego", "score", "--batch", inp, "--target", _write(tmp_path, "t.txt", s8),
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    recs = _records(out)
    assert recs[0]["evaluation"]["reward"] == 1.0
    assert recs[1]["evaluation"]["components"]["r_vox"] < 1.0
    assert recs[2]["error"]["code"] == "bad_task" and "target" in recs[2]["error"]["message"]
    assert recs[3]["error"]["code"] == "bad_record"
    # without a default target, records without their own get an error record
    r = runner.invoke(app, ["lego", "score", "--batch", inp])
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert recs[0]["error"]["code"] == "bad_record" and "target" in recs[0]["error"]["message"]
    assert recs[1]["evaluation"]["components"]["r_vox"] < 1.0


def test_batch_resume_keeps_finished_lines_and_cuts_a_partial_one(tmp_path):
    lines = [json.dumps({"id": f"s{i}", "bricks": example_text(name)})
             for i, name in enumerate(("tower", "table", "wall"))]
    inp = _write(tmp_path, "in.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["lego", "check", "--batch", inp, "--out", str(out)]).exit_code == 0
    full = out.read_text().splitlines()
    out.write_text(full[0] + "\n" + full[1][:40])        # a run killed while writing its second line
    r = runner.invoke(app, ["lego", "check", "--batch", inp, "--out", str(out), "--resume"])
    assert r.exit_code == 0 and "1 already in --out" in r.stderr
    again = out.read_text().splitlines()
    assert [json.loads(x)["id"] for x in again] == ["s0", "s1", "s2"]
    strip = [{k: v for k, v in json.loads(x)["evaluation"].items() if k != "timings"}
             for x in (*full, *again)]
    assert strip[:3] == strip[3:]
    assert runner.invoke(app, ["lego", "check", "--batch", inp, "--resume"]).exit_code == 2   # needs --out


def test_score_and_to_ldr(tmp_path):
    a = _write(tmp_path, "a.txt", example_text("stairs_8"))
    r = runner.invoke(app, ["lego", "to-ldr", a])
    assert r.exit_code == 0
    assert r.stdout.count("0 STEP") == 8 and "3004.dat" in r.stdout


def test_examples_have_expected_verdicts():
    from brickfield.lego.domain import evaluate_text

    expected = {"arch": True, "floating": False, "stairs_8": True, "stairs_9": False, "table": True,
                "tower": True, "wall": True}
    assert set(example_names()) == set(expected)
    for name, stable in expected.items():
        assert evaluate_text(example_text(name)).details["stable"] is stable, name


def test_unreadable_or_unwritable_paths_exit_2_without_a_traceback(tmp_path):
    good = _write(tmp_path, "good.txt", example_text("tower"))
    batch = _write(tmp_path, "in.jsonl", json.dumps({"id": 1, "bricks": example_text("tower")}) + "\n")
    folder = str(tmp_path)
    for args in (["check", "--batch", folder], ["check", "--batch", str(tmp_path / "missing.jsonl")],
                 ["check", "--batch", batch, "--out", folder], ["to-ldr", good, "--out", folder],
                 ["score", "--batch", batch, "--target", good, "--out", folder],
                 ["score", good, "--target", folder], ["check", good, "--target", folder],
                 ["check", "--batch", batch, "--out", folder, "--resume"]):
        r = runner.invoke(app, ["lego", *args])
        assert r.exit_code == 2, (args, r.exception)  # a traceback exits with 1
        assert "cannot" in r.output and "Traceback" not in r.output, args


def test_score_align_out_of_range_is_a_usage_error(tmp_path):
    a = _write(tmp_path, "a.txt", example_text("stairs_8"))
    for align in ("-1", "100000"):
        r = runner.invoke(app, ["lego", "score", a, "--target", a, "--align", align])
        assert r.exit_code == 2, (align, r.exception)
