import json

import pytest

from brickfield.core import TaskSpecError, get_domain
from brickfield.machines.reference import reference_machine
from brickfield.machines.tasks import machine_task, machine_tasks, parse_level_name

DOM = get_domain("machines")


def _ev(name: str, task: str, **params):
    return DOM.evaluate_text(json.dumps(reference_machine(name)), DOM.task(task, **params))


def test_reference_car_and_negative_control():
    car = _ev("car", "car:1")
    assert car.status == "ok" and car.valid and car.reward >= 30.0 and car.success
    assert car.components == {"valid": 1.0, "score": car.reward}
    assert car.details["file_valid"] is True and car.details["spatial_valid"] is True
    assert car.details["damage"] == [] and car.metrics["score"] == car.reward
    assert car.handle is not None and car.handle.episode is not None
    flat = _ev("car_wheels_down", "car:1")
    assert flat.reward < 2.0 and not flat.success


def test_invalid_text_gets_zero_reward_with_reason():
    ev = DOM.evaluate_text("I would build a car with four wheels.", DOM.task("car:1"))
    assert ev.status == "unparseable" and ev.reward == 0.0 and ev.issues[0]["code"] == "bad_json"


def test_disallowed_blocks_are_invalid_unless_allowed():
    ev = _ev("fetch", "car:1")
    assert ev.status == "invalid" and ev.reward == 0.0
    assert [i["code"] for i in ev.issues] == ["block_not_allowed"]
    assert not ev.details["simulated"]  # invalid machines are not simulated by default
    loose = _ev("fetch", "car:1", allow_any_block=True)
    assert loose.status == "ok" and loose.details["simulated"]
    shown = _ev("fetch", "car:1", simulate_invalid=True)
    assert shown.status == "invalid" and shown.details["simulated"] and shown.reward == 0.0


def test_fetch_scores_one_with_the_task_default_binding():
    ev = _ev("fetch", "fetch:1")
    assert ev.status == "ok" and ev.reward == 1.0 and ev.success
    unbound = _ev("fetch", "fetch:1", bindings={"13": {"detach": "J"}})
    assert unbound.reward == 0.0
    bad = _ev("fetch", "fetch:1", bindings={"999": {"detach": "V"}})
    assert bad.status == "invalid" and bad.issues[-1]["code"] == "bad_binding"


def test_file_invalid_tree_is_invalid_not_unparseable():
    tree = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}, {"id": "2", "order_id": 1, "parent": 5,
                                                                    "bp_id": 0}]
    ev = DOM.evaluate_text(json.dumps(tree), DOM.task("car:1"))
    assert ev.status == "invalid" and ev.reward == 0.0 and ev.design_text is not None
    assert ev.details["file_valid"] is False


@pytest.mark.parametrize("name, expected", [("car:2", ("car", 2, None)), ("car_level2", ("car", 2, None)),
                                            ("CAR", ("car", 1, None)), ("catapult:8@3", ("catapult", 8, 3))])
def test_level_syntax(name, expected):
    assert parse_level_name(name) == expected


@pytest.mark.parametrize("bad", ["car:99", "boat:1", "car:-1", "car:1:2", ""])
def test_bad_level_names_are_typed_errors(bad):
    with pytest.raises(TaskSpecError):
        machine_task(bad)


def test_task_params_variant_and_catalog():
    spec = machine_task("catapult:8", variant=3, seed=2)
    assert spec.id == "machines/catapult:8@3" and spec.param("variant") == 3 and spec.param("seed") == 2
    assert machine_task("catapult:8@3", seed=2) == spec
    assert spec.limits.sim_seconds is not None and spec.reward.success.metric == "win"
    names = [s.name for s in machine_tasks("default")]
    assert len(names) == 26 and names[0] == "car:1" and "fetch:1" in names
    assert len(machine_tasks("catapult")) == 11


def test_feedback_levels_and_stored_evaluations():
    task = DOM.task("car:1")
    ev = DOM.evaluate_text(json.dumps(reference_machine("car")), task)
    assert DOM.feedback(ev, "score").text.startswith("status ok")
    full = DOM.feedback(ev, "full", task)
    assert "Score: 43" in full.text and full.data["score"] == ev.metrics["score"]
    stored = type(ev).from_dict(ev.to_dict())
    assert DOM.feedback(stored, "full", task).text == full.text  # re-simulated from design_text
    with pytest.raises(ValueError):
        DOM.feedback(stored, "full")  # no handle and no task


def test_episode_stopped_by_wall_limit_is_invalid():
    spec = machine_task("car:1", wall_seconds=1e-6)
    ev = DOM.evaluate_text(json.dumps(reference_machine("car")), spec)
    assert ev.status == "invalid" and ev.reward == 0.0 and ev.issues[-1]["code"] == "wall_limit"


def test_demo_writes_artefacts(tmp_path):
    from rich.console import Console

    from brickfield.machines.demo import DEMO_RUNS, run

    console = Console(record=True, width=200)
    run(console, tmp_path)
    text = console.export_text()
    for name, *_ in DEMO_RUNS:
        assert name in text
        assert (tmp_path / f"{name}.bsg").read_text().startswith("<?xml")
        assert (tmp_path / f"{name}.feedback.txt").exists()
