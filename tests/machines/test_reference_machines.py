"""Reference machines per task family score as documented (``tasks.REFERENCE_MACHINES``)."""

from __future__ import annotations

import pytest

from brickfield.machines.evaluate import evaluate_machine
from brickfield.machines.reference import REFERENCE_MACHINES, reference_machine
from brickfield.machines.scoring import level_scorer
from brickfield.machines.sim.controls import REFERENCE_BINDINGS

# (machine, task, level, lowest expected score, highest expected score); measured values in comments
EXPECTED = [
    ("car", "car", 1, 30.0, 50.0),                      # 43.1 m
    ("car_wheels_down", "car", 1, 0.0, 2.0),            # 0.8 m: spawn drop, spin on the spot
    ("car_no_wheels", "car", 1, 0.0, 5.0),
    ("catapult", "catapult", 1, 5.0, 40.0),             # 20.0
    ("catapult_no_boulder", "catapult", 1, 0.0, 0.0),
    ("delivery", "delivery", 1, 0.55, 1.0),             # 0.668: the ore carried 31 m in 5 s
    ("delivery_no_wheels", "delivery", 1, 0.0, 0.02),
    ("fetch", "fetch", 1, 1.0, 1.0),                    # win: the ore reeled out of the well
    ("fetch_no_grabber", "fetch", 1, 0.0, 0.02),
]


@pytest.mark.parametrize(("name", "task", "level", "lo", "hi"), EXPECTED)
def test_reference_machine_scores(name: str, task: str, level: int, lo: float, hi: float) -> None:
    r = evaluate_machine(reference_machine(name), task, level, bindings=REFERENCE_BINDINGS.get(name))
    assert r.valid and not r.disallowed_blocks, (r.errors, r.disallowed_blocks)
    assert lo <= r.score <= hi, (name, r.score, r.metrics)


def test_every_reference_machine_is_listed_and_tested() -> None:
    assert {e[0] for e in EXPECTED} == set(REFERENCE_MACHINES)
    for name in REFERENCE_BINDINGS:
        assert name in REFERENCE_MACHINES


def test_delivery_machine_beats_pushing_with_the_plain_car() -> None:
    grab = evaluate_machine(reference_machine("delivery"), "delivery", 1)
    push = evaluate_machine(reference_machine("car"), "delivery", 1)
    assert grab.score > push.score + 0.15
    assert grab.metrics["displacement"] > 25.0            # carried, not just nudged


def test_delivery_machine_wins_delivery_5() -> None:
    r = evaluate_machine(reference_machine("delivery"), "delivery", 5)
    assert r.metrics["win"] and r.score == 1.0


def test_fetch_machine_needs_its_decoupler_binding() -> None:
    # with Besiege's default decoupler key J, which the fetch script never presses, the hook stays
    # on the boom and the ore stays in the well
    default = evaluate_machine(reference_machine("fetch"), "fetch", 1)
    assert default.valid and default.score == 0.0 and not default.metrics["win"]
    bound = evaluate_machine(reference_machine("fetch"), level_scorer("fetch", 1, binary=True),
                             bindings=REFERENCE_BINDINGS["fetch"])
    assert bound.score == 1.0 and bound.metrics["max_height"] > 10.0
    assert not bound.episode.damage
