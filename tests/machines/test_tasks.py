"""Tasks: reference machine scores, scorer formulas on synthetic traces, evaluation contract."""

from __future__ import annotations

import numpy as np
import pytest

from brickfield.machines.feedback import feedback_text
from brickfield.machines.levels import CAR_BLOCKS, CATAPULT_BLOCKS, get_level
from brickfield.machines.simulate import Episode
from brickfield.machines.tasks import (
    REFERENCE_MACHINES,
    available_tasks,
    evaluate_machine,
    get_task,
    reference_machine,
    score_car,
    score_catapult,
    throw_distance,
)


# --- reference machines (end to end: tree -> validity/placement -> physics -> score) ------------
@pytest.mark.parametrize("quirks", [True, False])
def test_reference_car_drives_over_30_m(quirks: bool) -> None:
    r = evaluate_machine(reference_machine("car"), "car", reference_quirks=quirks)
    assert r.valid and r.score >= 30.0 and r.reward == r.score
    assert r.metrics["final_position"][2] > 30.0          # forward is +z
    assert not r.episode.damage and r.disallowed_blocks == ()


@pytest.mark.parametrize("quirks", [True, False])
def test_reference_catapult_throws(quirks: bool) -> None:
    r = evaluate_machine(reference_machine("catapult"), "catapult", reference_quirks=quirks)
    assert r.valid and r.score > 5.0
    m = r.metrics
    assert m["height_gate"] and m["not_carried"] and m["distance"] > 8.0
    assert not r.episode.damage and r.disallowed_blocks == ()


@pytest.mark.parametrize("name", ["car_wheels_down", "car_no_wheels"])
def test_car_negative_controls_score_about_zero(name: str) -> None:
    r = evaluate_machine(reference_machine(name), "car")
    # only the spawn drop and some wobbling: two wheels spinning flat on the ground make the
    # chassis wander chaotically by a few metres (far below the 40+ m of the reference car)
    assert r.valid and r.score < 5.0


def test_catapult_without_boulder_scores_zero() -> None:
    r = evaluate_machine(reference_machine("catapult_no_boulder"), "catapult")
    assert r.valid and r.score == 0.0 and r.metrics["reason"] == "no boulder"


def test_reference_machines_are_shipped() -> None:
    for name in REFERENCE_MACHINES:
        tree = reference_machine(name)
        assert tree[0]["id"] == "0" and all("order_id" in b for b in tree)
    with pytest.raises(KeyError):
        reference_machine("nope")


# --- scorers on synthetic traces --------------------------------------------------------------
def _episode(boulder: np.ndarray, root: np.ndarray | None = None, dt: float = 0.2) -> Episode:
    t = np.arange(len(boulder)) * dt
    root = np.zeros_like(boulder) if root is None else root
    pos = np.stack([root, boulder], axis=1)
    vel = np.gradient(pos, dt, axis=0)
    rot = np.tile([0.0, 0.0, 0.0, 1.0], (len(t), 2, 1))
    return Episode(t, pos, rot, vel, (0, 1), ("0", "36"))


def _ballistic(v0: float = 10.0, angle: float = 45.0, h0: float = 4.0, n: int = 26) -> np.ndarray:
    t = np.arange(n) * 0.2
    vz, vy = v0 * np.cos(np.radians(angle)), v0 * np.sin(np.radians(angle))
    y = h0 + vy * t - 4.905 * t ** 2
    t_land = (vy + np.sqrt(vy ** 2 + 2 * 9.81 * h0)) / 9.81
    z = vz * np.minimum(t, t_land)
    y = np.where(t < t_land, y, 0.95)
    return np.stack([np.zeros(n), np.maximum(y, 0.95), z], axis=1)


def test_catapult_score_formula_on_a_ballistic_throw() -> None:
    traj = _ballistic()
    ep = _episode(traj)
    d, land, flight = throw_distance(traj, ep.times)
    # the landing sample is where the smoothed vertical speed comes back above -0.05
    assert flight[: land + 1].all() and d == pytest.approx(traj[flight, 2].max())
    r = score_catapult(ep)
    h_max = traj[:, 1].max()
    assert r.score == pytest.approx(d * (1 + h_max - traj[0, 1]))
    assert r.metrics["parabola"][0] < 0         # a downward parabola


def test_catapult_height_gate_and_anti_carry() -> None:
    low = _ballistic(v0=3.0, angle=20.0, h0=1.5)
    assert low[:, 1].max() < 3.0
    assert score_catapult(_episode(low)).score == 0.0
    traj = _ballistic()
    carried = score_catapult(_episode(traj, root=traj - [0.0, 1.0, 0.5]))   # root rides along
    assert carried.score == 0.0 and not carried.metrics["not_carried"]


def test_catapult_picks_the_boulder_that_moved_most() -> None:
    traj = _ballistic()
    still = np.tile(traj[0], (len(traj), 1))
    ep = _episode(traj)
    pos = np.stack([ep.positions[:, 0], still, traj], axis=1)
    ep3 = Episode(ep.times, pos, np.tile([0.0, 0, 0, 1], (len(traj), 3, 1)), np.zeros_like(pos),
                  (0, 1, 2), ("0", "36", "36"))
    assert score_catapult(ep3).metrics["boulder_block"] == 2


def test_car_score_is_straight_line_displacement() -> None:
    n = 6
    root = np.stack([np.linspace(0, 3, n), np.full(n, 1.0), np.linspace(0, 4, n)], axis=1)
    r = score_car(_episode(root, root=root))
    assert r.score == pytest.approx(5.0)


def test_invalid_episode_scores_zero() -> None:
    ep = _episode(_ballistic())
    ep.invalid_reason = "runaway energy"
    assert score_catapult(ep).score == 0.0 and score_car(ep).score == 0.0


# --- evaluation contract ------------------------------------------------------------------------
def test_unreadable_design_is_invalid_not_an_exception() -> None:
    r = evaluate_machine("this is not a machine", "car")
    assert not r.valid and r.reward == 0.0 and r.episode is None and r.errors
    assert "INVALID machine" in feedback_text(r)


def test_spatially_invalid_design_is_simulated_but_rewarded_zero() -> None:
    tree = [*reference_machine("car"), {"id": "63", "order_id": 6, "parent": 0, "bp_id": 1},
            {"id": "63", "order_id": 7, "parent": 0, "bp_id": 1}]   # two logs on one point
    r = evaluate_machine(tree, "car")
    assert not r.valid and r.reward == 0.0 and r.episode is not None and r.errors


def test_disallowed_blocks_are_reported() -> None:
    tree = [*reference_machine("car"), {"id": "5", "order_id": 6, "parent": 0, "bp_id": 4}]
    r = evaluate_machine(tree, "car")
    assert r.disallowed_blocks == ("5",)


def test_levels_and_tasks() -> None:
    car, cat = get_level("car", 1), get_level("catapult", 1)
    assert car.duration == 5.0 and len(car.obstacles) == 3 and car.schedule.keys == {}
    assert {b.center[0] for b in car.obstacles if b.size[2] == 1000.0} == {-12.0, 12.0}
    assert cat.schedule.held("L", 0.0) and cat.schedule.held("L", 4.99)
    assert car.allowed_blocks == CAR_BLOCKS and "30" in CATAPULT_BLOCKS and "30" not in CAR_BLOCKS
    assert get_task("car").name == "car_level1" and "catapult_level1" in available_tasks()
    with pytest.raises(KeyError):
        get_task("car", 9)


def test_result_to_dict_is_json_ready() -> None:
    import json

    r = evaluate_machine(reference_machine("car"), "car")
    d = json.loads(json.dumps(r.to_dict(include_trace=True)))
    assert d["valid"] and d["score"] == pytest.approx(r.score) and len(d["trace"]["times"]) == 26
    assert set(d["timing"]) >= {"compile_s", "sim_s", "sim_seconds"}
