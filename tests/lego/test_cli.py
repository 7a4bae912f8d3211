import json

from typer.testing import CliRunner

from brickfield.cli import app
from brickfield.lego.examples import example_names, example_text

runner = CliRunner()


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_version_and_help():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and "brickfield" in r.stdout
    r = runner.invoke(app, ["lego", "--help"])
    assert r.exit_code == 0 and "check" in r.stdout


def test_check_exit_codes(tmp_path):
    good = _write(tmp_path, "good.txt", example_text("stairs_8"))
    unstable = _write(tmp_path, "bad.txt", example_text("stairs_9"))
    garbage = _write(tmp_path, "garbage.txt", "no bricks here\n")
    assert runner.invoke(app, ["lego", "check", good]).exit_code == 0
    assert runner.invoke(app, ["lego", "check", unstable]).exit_code == 1
    assert runner.invoke(app, ["lego", "check", garbage]).exit_code == 2
    assert runner.invoke(app, ["lego", "check", str(tmp_path / "missing.txt")]).exit_code == 2


def test_check_json_fields_per_brick_in_input_order(tmp_path):
    text = "```\n2x4 (0,0,0)\n3x5 (0,0,1)\n1x1 (9,9,5)\n```\n"
    r = runner.invoke(app, ["lego", "check", _write(tmp_path, "x.txt", text), "--json"])
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["valid"] is False and d["stable"] is False
    assert d["bricks"] == ["2x4 (0,0,0)", "3x5 (0,0,1)", "1x1 (9,9,5)"]
    assert d["reasons"][0] == [] and d["reasons"][1] == ["not_in_library"]
    assert "floating" in d["reasons"][2]
    assert len(d["scores"]) == 3 and d["scores"][1] is None


def test_check_stdin():
    r = runner.invoke(app, ["lego", "check", "-", "--json"], input="2x2 (0,0,0)\n2x2 (0,0,1)\n")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["stable"] is True


def test_batch_bad_lines_give_error_records(tmp_path):
    lines = [json.dumps({"id": "a", "bricks": example_text("tower")}), "{not json",
             json.dumps({"id": "c", "bricks": 7}),
             json.dumps({"id": "d", "bricks": example_text("stairs_9")})]
    inp = _write(tmp_path, "in.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["lego", "check", "--batch", inp, "--out", str(out)])
    assert r.exit_code == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [rec.get("id") for rec in recs] == ["a", None, "c", "d"]
    assert recs[0]["stable"] is True and recs[0]["seconds"] > 0
    assert recs[1]["error"]["code"] == "bad_json"
    assert recs[2]["error"]["code"] == "bad_record"
    assert recs[3]["stable"] is False and max(recs[3]["scores"]) == 1.0


def test_score_and_to_ldr(tmp_path):
    a = _write(tmp_path, "a.txt", example_text("stairs_8"))
    b = _write(tmp_path, "b.txt", example_text("stairs_8"))
    r = runner.invoke(app, ["lego", "score", a, "--target", b, "--json"])
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["reward"] == 1.0 and d["geometry"]["iou"] == 1.0
    r = runner.invoke(app, ["lego", "to-ldr", a])
    assert r.exit_code == 0
    assert r.stdout.count("0 STEP") == 8 and "3004.dat" in r.stdout


def test_examples_have_expected_verdicts():
    from brickfield.lego.evaluate import evaluate_text

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
                 ["check", "--batch", batch, "--out", folder], ["to-ldr", good, "--out", folder]):
        r = runner.invoke(app, ["lego", *args])
        assert r.exit_code == 2, (args, r.exception)  # a traceback exits with 1
        assert "cannot" in r.output, args


def test_score_align_out_of_range_is_a_usage_error(tmp_path):
    a = _write(tmp_path, "a.txt", example_text("stairs_8"))
    for align in ("-1", "100000"):
        r = runner.invoke(app, ["lego", "score", a, "--target", a, "--align", align])
        assert r.exit_code == 2, (align, r.exception)
