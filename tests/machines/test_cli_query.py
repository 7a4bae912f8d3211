"""`brickfield machine query`: answers from the trace, typed errors with exit 2."""

import json

import pytest
from typer.testing import CliRunner

from brickfield.cli import app
from brickfield.machines.evaluate import evaluate_machine
from brickfield.machines.reference import reference_machine

runner = CliRunner()


def _car(tmp_path):
    p = tmp_path / "car.json"
    p.write_text(json.dumps(reference_machine("car")))
    return str(p)


def test_query_answers_match_the_simulated_trace(tmp_path):
    req = json.dumps([{"order_id": 0, "duration": [0, 1], "properties": ["position"]}])
    r = runner.invoke(app, ["machine", "query", _car(tmp_path), "--request", req, "--json"])
    assert r.exit_code == 0, r.output
    item = json.loads(r.stdout)["items"][0]
    ep = evaluate_machine(reference_machine("car"), "car", 1).episode
    assert len(item["position"]) == 6  # samples at 0.0, 0.2, ..., 1.0 s
    assert item["position"][-1] == list(ep.positions[5, 0])


def test_query_request_from_file_and_bad_requests(tmp_path):
    req = tmp_path / "req.txt"
    req.write_text('<Required Feedback>\n[{"order_id": 2, "duration": [0, 5], "properties": ["velocity"]}]\n')
    r = runner.invoke(app, ["machine", "query", _car(tmp_path), "--request", f"@{req}"])
    assert r.exit_code == 0 and "velocity" in r.stdout
    bad = json.dumps([{"order_id": 99, "duration": [0, 1], "properties": ["position"]}])
    r = runner.invoke(app, ["machine", "query", _car(tmp_path), "--request", bad])
    assert r.exit_code == 2 and "unknown_order_id" in r.output
    late = json.dumps([{"order_id": 0, "duration": [4, 9], "properties": ["position"]}])
    assert runner.invoke(app, ["machine", "query", _car(tmp_path), "--request", late]).exit_code == 2
    r = runner.invoke(app, ["machine", "query", _car(tmp_path), "--request", late, "--clip", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["items"][0]["end"] <= 5.0


def _fetch(tmp_path):
    p = tmp_path / "fetch.json"
    p.write_text(json.dumps(reference_machine("fetch")))
    return str(p)


def test_query_uses_the_level_syntax_and_the_task_bindings(tmp_path):
    req = json.dumps([{"order_id": 15, "duration": [0, 3], "properties": ["position"]}])
    base = ["machine", "query", _fetch(tmp_path), "--request", req, "--json"]
    default = runner.invoke(app, [*base, "--task", "fetch:1"])
    assert default.exit_code == 0, default.output
    # fetch's decouplers answer V by default, so the grabber leaves with the hook at 1.4 s
    assert json.loads(default.stdout)["items"][0]["detached_at"] == pytest.approx(1.4)
    same = runner.invoke(app, [*base, "--level", "fetch_level1", "--bindings", '{"13": {"detach": "V"}}'])
    assert same.stdout == default.stdout
    never = runner.invoke(app, [*base, "-t", "fetch", "--bindings", '{"*": {"detach": "J"}}'])
    assert never.exit_code == 0 and json.loads(never.stdout)["items"][0]["detached_at"] is None


def test_query_answers_for_an_invalid_machine_and_refuses_unreadable_ones(tmp_path):
    p = tmp_path / "cat.json"
    p.write_text(json.dumps(reference_machine("catapult")))   # blocks car:2 does not allow: still simulated
    req = json.dumps([{"order_id": 0, "duration": [0, 1], "properties": ["position"]}])
    r = runner.invoke(app, ["machine", "query", str(p), "-t", "car:2", "--request", req])
    assert r.exit_code == 0 and "Starting Block (order_id 0" in r.stdout
    prose = tmp_path / "prose.txt"
    prose.write_text("no machine")
    r = runner.invoke(app, ["machine", "query", str(prose), "--request", req])
    assert r.exit_code == 2 and "bad_json" in r.stderr
    r = runner.invoke(app, ["machine", "query", str(p), "-t", "boat:1", "--request", req])
    assert r.exit_code == 2 and "unknown level boat:1" in r.stderr
    r = runner.invoke(app, ["machine", "query", str(p), "--request", f"@{tmp_path}"])
    assert r.exit_code == 2 and "cannot read" in r.stderr
