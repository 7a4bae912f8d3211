"""What every command shares: help texts, the never-a-traceback guard, hostile input, the batch record
envelope (order, error records, workers, resume, killed runs) and ``python -m brickfield``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from brickfield.cli import app
from brickfield.core.cliutil import GuardedGroup, Job, parse_json_option, run_batch, run_guarded
from brickfield.lego.examples import example_text
from brickfield.machines.reference import reference_machine

runner = CliRunner()

COMMANDS = [["lego", "check"], ["lego", "score"], ["lego", "to-ldr"], ["machine", "check"],
            ["machine", "simulate"], ["machine", "query"], ["machine", "export"], ["machine", "levels"]]


def _write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def _jsonl(tmp_path: Path, name: str, lines: list[object]) -> str:
    return _write(tmp_path, name, "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")


# --- help and the entry point -------------------------------------------------------------------
@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_explains_itself(cmd: list[str]) -> None:
    result = runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Exit" in text and "2" in text, cmd
    if cmd[-1] in ("check", "score", "simulate"):
        assert "--batch" in text and '"id"' in text and "--out" in text, cmd
    if cmd[-1] in ("simulate", "query", "export", "levels"):
        assert "--task" in text and "--level" in text, cmd


def test_python_dash_m_brickfield_help() -> None:
    result = subprocess.run([sys.executable, "-m", "brickfield", "--help"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "lego" in result.stdout and "machine" in result.stdout and "Exit codes" in result.stdout


def test_guard_turns_a_crash_into_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    crashy = typer.Typer(cls=GuardedGroup, add_completion=False)

    @crashy.command()
    def boom() -> None:
        raise RuntimeError("the evaluator fell over")

    @crashy.command()
    def fine() -> None:
        raise typer.Exit(1)     # commands' own exits pass through untouched

    result = runner.invoke(crashy, ["boom"])
    assert result.exit_code == 2 and "error: RuntimeError: the evaluator fell over" in result.stderr
    assert "Traceback" not in result.output
    assert runner.invoke(crashy, ["fine"]).exit_code == 1
    assert runner.invoke(crashy, ["boom", "--bogus"]).exit_code == 2          # typer's usage errors stay

    def outside() -> None:
        raise ValueError("before any command ran")

    with pytest.raises(SystemExit) as exc:
        run_guarded(outside)
    assert exc.value.code == 2 and "error: ValueError: before any command ran" in capsys.readouterr().err


# --- hostile input --------------------------------------------------------------------------------
def test_hostile_input_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    car = _write(tmp_path, "car.json", reference_machine("car"))
    bricks = _write(tmp_path, "b.txt", example_text("tower"))
    mbatch = _jsonl(tmp_path, "m.jsonl", [{"id": 1, "tree": reference_machine("car")}])
    lbatch = _jsonl(tmp_path, "l.jsonl", [{"id": 1, "bricks": example_text("tower")}])
    folder = str(tmp_path)
    cases = [
        ["machine", "simulate", folder], ["machine", "check", folder], ["machine", "export", folder],
        ["machine", "query", folder, "--request", "[]"], ["lego", "check", folder], ["lego", "score", folder,
                                                                                      "--task", "tower"],
        ["machine", "simulate", "--batch", folder], ["machine", "check", "--batch", folder],
        ["machine", "simulate", "--batch", mbatch, "--out", folder],
        ["machine", "check", "--batch", mbatch, "--out", str(tmp_path / "no" / "such" / "dir.jsonl")],
        ["lego", "check", "--batch", lbatch, "--out", folder],
        ["machine", "simulate", car, "--trace", folder],
        ["machine", "simulate", car, "--bindings", "{not json"],
        ["machine", "simulate", car, "--bindings", "7"],
        ["machine", "simulate", car, "--task", "car:99"], ["machine", "simulate", car, "--task", "!!"],
        ["machine", "simulate", car, "--task", ""], ["machine", "export", car, "-f", "mjcf", "-t", "car:0"],
        ["machine", "simulate", car, "--variant", "-1"], ["machine", "simulate", car, "-t", "car:1@-1"],
        ["machine", "levels", "--task", "car:1@-2"],
        ["machine", "simulate", car, "--workers", "-1", "--batch", mbatch],
        ["machine", "simulate", car, "--wall-seconds", "nan"], ["lego", "check", bricks, "--task", "tower",
                                                               "--align", "99"],
        ["lego", "check", bricks, "--target", folder], ["lego", "check", bricks, "--caption", ""],
        ["machine", "simulate"], ["lego", "check"], ["machine", "query", car, "--request", "{bad"],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert "Traceback" not in result.output, args
        assert result.stderr.strip() or result.stdout.strip(), args      # says why


def test_parse_json_option(tmp_path: Path) -> None:
    assert parse_json_option('{"*": {"detach": "V"}}', "--bindings") == {"*": {"detach": "V"}}
    path = _write(tmp_path, "k.json", '{"13": {"detach": "V"}}')
    assert parse_json_option(f"@{path}", "--bindings") == {"13": {"detach": "V"}}
    for bad in ("{", f"@{tmp_path / 'missing'}", "[" * 100_000):
        with pytest.raises(typer.Exit) as exc:
            parse_json_option(bad, "--bindings")
        assert exc.value.exit_code == 2


# --- the batch envelope -----------------------------------------------------------------------------
def _machine_lines() -> list[object]:
    car, fetch = reference_machine("car"), reference_machine("fetch")
    return [{"id": "car", "tree": car}, "{broken", {"id": "fetch", "tree": fetch, "task": "fetch:1"},
            {"id": "nowhere", "tree": car, "task": "car:99"}, {"id": "empty"}, [1, 2],
            {"id": "prose", "text": "I cannot build that."},
            {"id": 7, "tree": json.dumps(car), "task": "car:2"},
            {"id": "badtask", "tree": car, "task": 5}]


def test_machine_simulate_batch_envelope(tmp_path: Path) -> None:
    src = _jsonl(tmp_path, "in.jsonl", _machine_lines())
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["machine", "simulate", "--batch", src, "--out", str(out), "-t", "car:1"])
    assert result.exit_code == 0, result.output
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in recs] == ["car", None, "fetch", "nowhere", "empty", None, "prose", 7, "badtask"]
    assert [r["line"] for r in recs] == list(range(1, 10))
    for r in recs:
        assert list(r) in (["id", "line", "task", "evaluation"], ["id", "line", "error"]), r
        if "error" in r:
            assert set(r["error"]) >= {"code", "message"}
    assert recs[0]["task"] == "machines/car:1" and recs[0]["evaluation"]["status"] == "ok"
    assert recs[2]["task"] == "machines/fetch:1" and recs[2]["evaluation"]["reward"] == 1.0   # default V
    assert [recs[i]["error"]["code"] for i in (1, 3, 4, 5, 8)] == [
        "bad_json", "bad_task", "bad_record", "bad_record", "bad_record"]
    assert "known: car:1" in recs[3]["error"]["message"]
    assert recs[6]["evaluation"]["status"] == "unparseable"
    assert recs[7]["task"] == "machines/car:2" and recs[7]["evaluation"]["status"] == "ok"
    assert "9 records: 5 error, 3 ok, 1 unparseable" in result.stderr
    # stdin in, stdout out: the same records
    piped = runner.invoke(app, ["machine", "simulate", "--batch", "-"], input=Path(src).read_text())
    assert piped.exit_code == 0
    strip = [{k: v for k, v in r.items() if k != "evaluation"} for r in recs]
    piped_recs = [json.loads(x) for x in piped.stdout.splitlines()]
    assert [{k: v for k, v in r.items() if k != "evaluation"} for r in piped_recs] == strip


def test_batch_workers_give_the_serial_records_in_input_order(tmp_path: Path) -> None:
    lines = [{"id": i, "tree": reference_machine(name), "task": task}
             for i, (name, task) in enumerate([("car", "car:1"), ("catapult", "catapult:1"), ("car", "car:2"),
                                               ("delivery", "delivery:5"), ("catapult", "car:1")])]
    src = _jsonl(tmp_path, "in.jsonl", [*lines[:2], "not json", *lines[2:]])

    def run(workers: str) -> list[dict]:
        out = tmp_path / f"out{workers}.jsonl"
        result = runner.invoke(app, ["machine", "simulate", "--batch", src, "--out", str(out), "-w", workers])
        assert result.exit_code == 0, result.output
        recs = [json.loads(x) for x in out.read_text().splitlines()]
        for r in recs:
            r.get("evaluation", {}).pop("timings", None)
        return recs

    serial, parallel = run("1"), run("2")
    assert [r["id"] for r in serial] == [0, 1, None, 2, 3, 4]
    assert parallel == serial


def test_machine_simulate_batch_resume(tmp_path: Path) -> None:
    src = _jsonl(tmp_path, "in.jsonl", [{"id": "a", "tree": reference_machine("car")}, "{x",
                                        {"id": "b", "tree": reference_machine("car"), "task": "car:2"}])
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["machine", "simulate", "--batch", src, "--out", str(out)]).exit_code == 0
    done = out.read_text().splitlines()
    out.write_text("\n".join(done[:2]) + "\n")   # the third record was never written
    result = runner.invoke(app, ["machine", "simulate", "--batch", src, "--out", str(out), "--resume"])
    assert result.exit_code == 0 and "2 already in --out" in result.stderr
    again = out.read_text().splitlines()
    assert [json.loads(x)["id"] for x in again] == ["a", None, "b"] and again[:2] == done[:2]
    check = runner.invoke(app, ["machine", "check", "--batch", src, "--out", str(out), "--resume"])
    assert check.exit_code == 0 and out.read_text().splitlines() == again   # nothing left to do


def test_run_batch_writes_in_input_order_and_keeps_finished_lines_when_killed(tmp_path: Path) -> None:
    src = _jsonl(tmp_path, "in.jsonl", [{"id": i, "text": str(i)} for i in range(5)])
    out = tmp_path / "out.jsonl"

    def reverse(jobs: list[Job], emit) -> None:
        for i in reversed(range(len(jobs))):
            emit(i, {"task": None, "report": {"text": jobs[i].text}})

    run_batch(src, out, lambda rec: Job(rec["text"]), reverse)
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [0, 1, 2, 3, 4]

    def killed(jobs: list[Job], emit) -> None:
        emit(0, {"task": None, "report": {}})
        emit(1, {"task": None, "report": {}})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(src, out, lambda rec: Job(rec["text"]), killed)
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [0, 1]
    summary = run_batch(src, out, lambda rec: Job(rec["text"]), reverse, resume=True)
    assert summary.skipped == 2
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [0, 1, 2, 3, 4]


def test_file_or_batch_and_batch_only_options(tmp_path: Path) -> None:
    car = _write(tmp_path, "car.json", reference_machine("car"))
    bricks = _write(tmp_path, "b.txt", example_text("tower"))
    mbatch = _jsonl(tmp_path, "m.jsonl", [{"id": 1, "tree": reference_machine("car")}])
    out = str(tmp_path / "o.jsonl")
    cases = {("machine", "simulate", car, "--batch", mbatch): "not both",
             ("machine", "simulate", car, "--out", out): "apply to --batch",
             ("machine", "simulate", car, "--workers", "2"): "apply to --batch",
             ("machine", "simulate", "--batch", mbatch, "--trace", out): "--trace",
             ("machine", "check", car, "--resume"): "apply to --batch",
             ("lego", "check", bricks, "--out", out): "apply to --batch",
             ("lego", "score", bricks, "--task", "tower", "--batch", mbatch): "not both",
             ("lego", "score"): "give FILE"}
    for args, message in cases.items():
        result = runner.invoke(app, list(args))
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
    assert not Path(out).exists()


def test_progress_bar_only_for_out_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from brickfield.core import cliutil

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with_out = cliutil._OrderedSink(tmp_path / "a.jsonl", False, 1, "x")
    to_stdout = cliutil._OrderedSink(None, False, 1, "x")
    assert with_out.progress.disable is False and to_stdout.progress.disable is True
    with_out.close()
    to_stdout.close()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    piped = cliutil._OrderedSink(tmp_path / "b.jsonl", False, 1, "x")
    assert piped.progress.disable is True
    piped.close()
