"""``generate_command`` registered on a local typer app, as the lego CLI group will register it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from brickfield.gen.cli import generate_command
from brickfield.lego.ldraw import from_ldr
from brickfield.lego.textformat import parse_text
from tests.gen.conftest import get_model, get_tokenizer
from tests.llm.fake_server import FakeChatServer, ok

app = typer.Typer()
app.command("generate")(generate_command)
app.command("noop")(lambda: None)  # a second command, so "generate" stays a subcommand
runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    get_model("bytelevel").save_pretrained(folder)
    get_tokenizer("bytelevel").save_pretrained(folder)
    return folder


def test_local_model_writes_txt_ldr_and_summary(model_dir, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["generate", "--model", str(model_dir), "--caption", "a chair", "--n", "2",
                              "--max-bricks", "4", "--max-regenerations", "1", "--mode", "parity", "--out",
                              str(out)])
    assert res.exit_code == 0, res.output
    assert "rejections" in res.output and "rollbacks" in res.output
    for i in range(2):
        text = (out / f"structure_{i:02d}.txt").read_text()
        structure = parse_text(text, strict=True).structure
        assert 1 <= len(structure) <= 4
        assert from_ldr((out / f"structure_{i:02d}.ldr").read_text()).bricks == structure.bricks
    summary = json.loads((out / "summary.json").read_text())
    assert summary["caption"] == "a chair" and len(summary["generations"]) == 2


def test_same_seed_same_output(model_dir):
    args = ["generate", "--model", str(model_dir), "--caption", "a car", "--max-bricks", "3", "--json",
            "--seed", "5", "--reject-floating"]
    a, b = runner.invoke(app, args), runner.invoke(app, args)
    assert a.exit_code == 0, a.output
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert [g["text"] for g in ja["generations"]] == [g["text"] for g in jb["generations"]]


def test_server_with_vllm_dialect_sends_the_regex():
    with FakeChatServer() as server:
        server.responder = lambda req: ok("2x4 (0,0,0)\n2x2 (0,0,1)\n")
        res = runner.invoke(app, ["generate", "--base-url", server.url, "--model", "served", "--caption",
                                  "a tower", "--dialect", "vllm", "--api-key", "k", "--json"])
        assert res.exit_code == 0, res.output
        assert "structured_outputs" in server.bodies[0]
    assert json.loads(res.stdout)["generations"][0]["text"] == "2x4 (0,0,0)\n2x2 (0,0,1)\n"


@pytest.mark.parametrize("args, needle", [
    (["--caption", "x"], "--model"),
    (["--caption", "x", "--model", "m", "--mode", "greedy"], "--mode"),
])
def test_usage_errors_exit_2(args, needle):
    res = runner.invoke(app, ["generate", *args])
    assert res.exit_code == 2 and needle in res.output


def test_missing_model_folder_is_an_error_not_a_traceback(tmp_path):
    res = runner.invoke(app, ["generate", "--model", str(tmp_path / "nope"), "--caption", "x"])
    assert res.exit_code == 2
    assert "error:" in res.output and "Traceback" not in res.output
