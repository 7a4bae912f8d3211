"""`brickfield machine check`: single file, stdin, JSON output, exit codes, JSONL batches."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from brickfield.cli import app as main_app
from brickfield.machines.cli import app
from tests.machines._trees import CAR, OVERLAPPING, ROOT, write

runner = CliRunner()


def test_valid_machine_table_and_exit_0(tmp_path: Path) -> None:
    path = write(tmp_path, "car.txt", "My car:\n```json\n" + json.dumps(CAR) + "\n```\n")
    result = runner.invoke(app, ["check", path])
    assert result.exit_code == 0, result.output
    assert "VALID" in result.output and "Log" in result.output and "flipped" in result.output


def test_json_output_and_invalid_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", write(tmp_path, "bad.json", json.dumps(OVERLAPPING)), "--json"])
    assert result.exit_code == 1
    d = json.loads(result.output)
    assert d["file_valid"] is True and d["spatial_valid"] is False and d["valid"] is False
    assert d["errors"] == ["overlap error:Block order_id 2 and Block order_id 6 overlap\n"
                           "totally 1 overlaps\n"]
    assert len(d["blocks"]) == 7 and set(d["blocks"][0]) == {"order_id", "type", "position", "rotation"}
    text = runner.invoke(app, ["check", write(tmp_path, "bad2.json", json.dumps(OVERLAPPING))])
    assert text.exit_code == 1 and "INVALID (spatial)" in text.output and "overlap error" in text.output


def test_file_invalid_exit_1_and_unreadable_exit_2(tmp_path: Path) -> None:
    bad_keys = [*CAR[:5], {"id": "2", "order_id": 5, "parent": 1}]
    result = runner.invoke(app, ["check", write(tmp_path, "keys.json", json.dumps(bad_keys))])
    assert result.exit_code == 1 and "structure illegal" in result.output
    assert runner.invoke(app, ["check", str(tmp_path / "missing.json")]).exit_code == 2
    missing = runner.invoke(app, ["check", str(tmp_path / "missing.json"), "--json"])
    assert missing.exit_code == 2 and json.loads(missing.stdout)["error"]["code"] == "unreadable"
    prose = runner.invoke(app, ["check", write(tmp_path, "prose.txt", "I could not design it."), "--json"])
    assert prose.exit_code == 2
    assert json.loads(prose.output)["issues"][0]["code"] == "bad_json"
    assert runner.invoke(app, ["check", write(tmp_path, "empty.json", "[]")]).exit_code == 2


def test_stdin_and_strict_flag() -> None:
    root_only = json.dumps([ROOT])
    assert runner.invoke(app, ["check", "-"], input=json.dumps(CAR)).exit_code == 0
    assert runner.invoke(app, ["check", "-"], input=root_only).exit_code == 1       # reference: Reject
    assert runner.invoke(app, ["check", "-", "--strict"], input=root_only).exit_code == 0


def test_batch_one_record_envelope_per_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "car", "tree": CAR}),
        json.dumps({"id": "car-text", "tree": "```json\n" + json.dumps(CAR) + "\n```"}),
        json.dumps({"id": "overlap", "tree": OVERLAPPING}),
        "{not json",
        json.dumps({"id": "no-tree"}),
        json.dumps([1, 2]),
        json.dumps({"id": "garbage", "tree": "hello"}),
        json.dumps({"id": "as-text", "text": json.dumps(CAR)}),
    ]
    src = write(tmp_path, "in.jsonl", "\n".join(lines) + "\n\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["check", "--batch", src, "--out", str(out)])
    assert result.exit_code == 0, result.output
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(recs) == 8
    assert [r["id"] for r in recs] == ["car", "car-text", "overlap", None, "no-tree", None, "garbage",
                                       "as-text"]
    assert [r["line"] for r in recs] == [1, 2, 3, 4, 5, 6, 7, 8]
    for r in recs:
        assert set(r) in ({"id", "line", "task", "report"}, {"id", "line", "error"}), r
    reports = {r["id"]: r["report"] for r in recs if "report" in r}
    assert reports["car"]["valid"] and reports["car-text"]["valid"]
    assert reports["car"]["blocks"] == reports["car-text"]["blocks"] == reports["as-text"]["blocks"]
    assert reports["overlap"]["valid"] is False and reports["overlap"]["spatial_valid"] is False
    assert recs[3]["error"]["code"] == "bad_json" and recs[4]["error"]["code"] == "bad_record"
    assert recs[5]["error"]["code"] == "bad_record"
    assert reports["garbage"]["file_valid"] is False
    assert reports["garbage"]["errors"] == ["illegal attachable face"]
    assert "8 records" in result.stderr
    # Without --out, the same records go to stdout.
    to_stdout = runner.invoke(app, ["check", "--batch", src])
    assert [json.loads(x) for x in to_stdout.stdout.splitlines()] == recs


def test_mounted_under_main_cli(tmp_path: Path) -> None:
    path = write(tmp_path, "car.json", json.dumps(CAR))
    result = runner.invoke(main_app, ["machine", "check", path, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] is True
