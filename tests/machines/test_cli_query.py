"""`brickfield machine query`: answers from the trace, typed errors with exit 2."""

import json

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
