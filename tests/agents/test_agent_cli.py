"""``brickfield agent run`` on a local typer app, against the scripted fake OpenAI server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from brickfield.agents.cli import EXIT_ABORTED, run_cmd
from brickfield.agents.workflows import read_events
from tests.agents._workflow_fakes import responder, roles_of
from tests.agents.test_workflows import EXPECTED_CALLS
from tests.llm.fake_server import FakeChatServer

app = typer.Typer()
app.command("run")(run_cmd)


@app.callback()
def _group() -> None:
    """A local group, as the top-level CLI registers it."""


runner = CliRunner()


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer(responder) as srv:
        yield srv


def invoke(*args: str):
    return runner.invoke(app, ["run", *args])


def test_single_agent_json(server: FakeChatServer, tmp_path: Path) -> None:
    res = invoke("--workflow", "single", "--task", "catapult:1", "--model", "fake-model", "--base-url",
                 server.url, "--out", str(tmp_path), "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["workflow"] == "single" and record["best"]["evaluation"]["status"] == "ok"
    assert record["role_calls"] == EXPECTED_CALLS["single"]
    names = {p.name for p in tmp_path.iterdir()}
    assert {"transcript.jsonl", "result.json", "best.json", "best.bsg"} <= names


def test_iterative_with_switches_and_summary_table(server: FakeChatServer, tmp_path: Path) -> None:
    res = invoke("--workflow", "iterative", "--search", "best-of-n", "--iterations", "2", "--candidates", "2",
                 "--model", "openai:fake-model", "--base-url", server.url, "--out", str(tmp_path),
                 "--no-inspector", "--no-querier", "--no-history", "--seed", "3")
    assert res.exit_code == 0, res.output
    assert "refiner" in res.stdout and "final designs" in res.stdout and "best: ok" in res.stdout
    assert roles_of(server.bodies) == {"designer": 1, "refiner": 4 + 2 * 2}
    saved = json.loads((tmp_path / "result.json").read_text())
    ablations = saved["config"]["ablations"]
    assert saved["config"]["seed"] == 3 and ablations["inspector"] is False
    assert ablations["querier"] is False and ablations["edit_history"] is False
    assert saved["search"][0]["strategy"] == {"name": "best-of-n", "iterations": 2, "candidates": 2}


def test_hierarchical_builders_option(server: FakeChatServer, tmp_path: Path) -> None:
    res = invoke("-w", "hierarchical", "--n", "2", "--model", "fake-model", "--base-url", server.url,
                 "--out", str(tmp_path), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["role_calls"] == {"meta_designer": 1, "builder": 3 * 2}


def test_replay_and_cache_need_no_model(server: FakeChatServer, tmp_path: Path) -> None:
    live = invoke("-w", "single", "--model", "fake-model", "--base-url", server.url, "--out",
                  str(tmp_path / "live"), "--cache", str(tmp_path / "cache"), "--json")
    assert live.exit_code == 0, live.output
    calls = len(server.requests)
    for source in (tmp_path / "live" / "transcript.jsonl", tmp_path / "cache"):
        again = invoke("-w", "single", "--replay", str(source), "--out", str(tmp_path / "again"), "--json")
        assert again.exit_code == 0, again.output
        a, b = json.loads(again.stdout)["best"], json.loads(live.stdout)["best"]
        a["evaluation"].pop("timings"), b["evaluation"].pop("timings")
        assert a == b
    assert len(server.requests) == calls


def test_a_replay_that_lacks_a_request_stops_with_exit_3(server: FakeChatServer, tmp_path: Path) -> None:
    assert invoke("-w", "single", "--model", "fake-model", "--base-url", server.url, "--out",
                  str(tmp_path / "single")).exit_code == 0
    res = invoke("-w", "iterative", "--replay", str(tmp_path / "single" / "transcript.jsonl"), "--out",
                 str(tmp_path / "iter"))
    assert res.exit_code == EXIT_ABORTED
    assert "error: model endpoint failed" in res.stderr and "not in the transcript" in res.stderr
    assert json.loads((tmp_path / "iter" / "result.json").read_text())["completed"] is False
    assert read_events(tmp_path / "iter" / "transcript.jsonl")[-1]["event"] == "run_end"


def test_garbage_answers_exit_1(tmp_path: Path) -> None:
    with FakeChatServer(lambda record: None) as srv:  # the default echo reply: no machine in it
        res = invoke("-w", "single", "--model", "fake-model", "--base-url", srv.url, "--out", str(tmp_path),
                     "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["best"]["evaluation"]["status"] == "unparseable"


@pytest.mark.parametrize("args,message", [
    (["--workflow", "swarm", "--model", "m"], "unknown workflow"),
    (["--search", "beam", "--model", "m"], "unknown search"),
    (["--task", "plane:1", "--model", "m"], "plane"),
    (["-w", "single"], "--model"),
    (["--model", "replay:/no/such/run.jsonl"], "cannot read transcript"),
    (["--model", "m", "--prompts", "/no/such/folder"], "prompt folder"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    res = invoke(*args, "--out", str(tmp_path))
    assert res.exit_code == 2, res.output
    assert message in res.stderr and "Traceback" not in res.output


def test_user_prompt_folder_is_used(server: FakeChatServer, tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "single_agent_user.txt").write_text("Custom request for {level_name}. {notes}")
    res = invoke("-w", "single", "--model", "fake-model", "--base-url", server.url, "--prompts", str(folder),
                 "--out", str(tmp_path / "out"), "--json")
    assert res.exit_code == 0, res.output
    assert server.bodies[0]["messages"][1]["content"].startswith("Custom request for catapult_level1")
