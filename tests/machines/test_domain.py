import json

from brickfield.core import Task, get_domain
from brickfield.machines.reference import reference_machine


def test_machine_domain_evaluates_reference_car_and_negative_control():
    dom = get_domain("machines")
    car = dom.evaluate(dom.parse(json.dumps(reference_machine("car"))), Task("machines", "car"))
    assert car.valid and car.reward >= 30.0
    d = car.to_dict()
    assert d["file_valid"] is True and d["spatial_valid"] is True and d["damage"] == []
    assert d["metrics"]["score"] == car.reward
    assert f"Score: {car.reward:.2f}" in (car.feedback or "")
    flat = dom.evaluate(json.dumps(reference_machine("car_wheels_down")), Task("machines", "car"))
    assert flat.reward < 2.0   # the spawn drop and its spin on the spot (see test_tasks)


def test_machine_domain_invalid_text_gets_zero_reward_with_reason():
    dom = get_domain("machines")
    ev = dom.evaluate("I would build a car with four wheels.", Task("machines", "car"))
    assert ev.valid is False and ev.reward == 0.0
    assert ev.errors and ev.to_dict()["file_valid"] is False


def test_demo_writes_artefacts(tmp_path):
    from rich.console import Console

    from brickfield.machines.demo import DEMO_RUNS, run

    console = Console(record=True, width=200)
    run(console, tmp_path)
    text = console.export_text()
    for name, _task, _level in DEMO_RUNS:
        assert name in text
        assert (tmp_path / f"{name}.bsg").read_text().startswith("<?xml")
        assert (tmp_path / f"{name}.feedback.txt").exists()
