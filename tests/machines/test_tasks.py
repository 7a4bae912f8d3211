"""Tasks: reference machine scores, scorer formulas on synthetic traces, evaluation contract."""

from __future__ import annotations

import numpy as np
import pytest

from brickfield.machines.evaluate import evaluate_machine
from brickfield.machines.feedback.text import feedback_text
from brickfield.machines.levels.registry import CAR_BLOCKS, CATAPULT_BLOCKS, get_level
from brickfield.machines.levels.triggers import TriggerEvent
from brickfield.machines.reference import REFERENCE_MACHINES, reference_machine
from brickfield.machines.scoring import (
    available_tasks,
    level_scorer,
    score_car,
    score_catapult,
    score_deliver,
    score_target_throw,
    throw_distance,
)
from brickfield.machines.sim.simulate import Episode


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
    # the spawn drop (0.5 m) and, for the wheels-down car, its spin: two wheels spinning flat on
    # their faces get no traction but turn the whole machine about its centre (~3 rad/s), which
    # swings the root block, 1.4 m off-centre, around (0.8 m at the end of this episode)
    assert r.valid and r.score < 2.0


def test_wheels_down_car_stays_where_it_landed() -> None:
    # no traction: the flat wheels' rim friction cancels, so the machine's centre (midway between
    # its two wheels) stays put while it spins (it drifted 2-3 m when each wheel touched the
    # ground at a single rim point: PhysicsParams.wheel_solimp)
    ep = evaluate_machine(reference_machine("car_wheels_down"), "car").episode
    mid = ep.positions[:, 2:4].mean(axis=1)                         # the two powered wheels
    assert np.linalg.norm((mid - mid[0])[:, [0, 2]], axis=1).max() < 0.5
    assert np.abs(ep.rotations[:, 0, 3]).min() < 0.5                # and it spins (w of [x, y, z, w])


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


def _with(ep: Episode, **kw: object) -> Episode:
    for k, v in kw.items():
        setattr(ep, k, v)
    return ep


def _line(a: tuple[float, float, float], b: tuple[float, float, float], n: int = 26) -> np.ndarray:
    return np.linspace(a, b, n)


def test_target_throw_score_win_progress_and_proximity() -> None:
    lvl = get_level("catapult", 10)        # ring hole trigger at (0, 15, 50), progress 50 each
    short = _episode(_line((0.0, 9.0, 0.0), (0.0, 9.0, 20.0)))
    r = score_target_throw(short, lvl)
    start, closest = r.metrics["start_gap"], r.metrics["closest_gap"]
    assert not r.metrics["win"] and 0.0 < closest < start
    assert r.score == pytest.approx(0.5 * (1.0 - closest / start))                # no progress yet
    hit = TriggerEvent(1.0, "trigger_0", "block 1", 1, ("progress:50:0",), 50.0, False)
    half = score_target_throw(_with(_episode(_line((0.0, 9.0, 0.0), (0.0, 15.0, 60.0))),
                                    trigger_events=[hit], progress=50.0), lvl)
    assert half.score == pytest.approx(0.75) and half.metrics["closest_gap"] == 0.0   # (1 + 0.5) / 2
    won = score_target_throw(_with(_episode(_line((0.0, 9.0, 0.0), (0.0, 15.0, 60.0))), won=True,
                                   progress=100.0), lvl)
    assert won.score == 1.0 and won.metrics["win"]
    # the reference's number: final boulder-trigger distance, the largest pair (trigger centres)
    centres = [np.asarray(t.center) for t in lvl.triggers]
    assert won.metrics["final_distance"] == pytest.approx(max(np.linalg.norm(np.array([0, 15, 60]) - c)
                                                              for c in centres))
    pos = short.positions[:, :1]
    no_boulder = Episode(short.times, pos, short.rotations[:, :1], pos, (0,), ("0",))
    assert score_target_throw(no_boulder, lvl).score == 0.0
    assert score_target_throw(_with(_episode(_line((0, 9, 0), (0, 15, 60))), invalid_reason="NaN"),
                              lvl).score == 0.0


def _ore_episode(ore: np.ndarray, **kw: object) -> Episode:
    ep = _episode(np.zeros_like(ore))
    return _with(ep, object_names=("iron_ore",), object_positions=ore[:, None, :],
                 object_velocities=np.zeros_like(ore)[:, None, :], **kw)


def test_deliver_score_is_gap_progress_or_win() -> None:
    lvl = get_level("delivery", 1)          # goal trigger z 63-69 (ore radius 1.5)
    ore = _line((0.0, 1.5, 15.0), (0.0, 1.5, 38.25))
    r = score_deliver(_ore_episode(ore), lvl)
    assert r.metrics["start_gap"] == pytest.approx(46.5) and r.metrics["final_gap"] == pytest.approx(23.25)
    assert r.score == pytest.approx(0.5) and r.metrics["displacement"] == pytest.approx(23.25)
    back = score_deliver(_ore_episode(_line((0.0, 1.5, 15.0), (0.0, 1.5, 5.0))), lvl)
    assert back.score == 0.0                                                     # clipped at 0
    won = score_deliver(_ore_episode(_line((0.0, 1.5, 15.0), (0.0, 1.5, 62.0)), won=True), lvl)
    assert won.score == 1.0
    assert score_deliver(_episode(ore), lvl).metrics["reason"] == "no goal object"
    binary = level_scorer("delivery", 1, binary=True).score(_ore_episode(ore))
    assert binary.score == 0.0 and binary.metrics["dense_score"] == pytest.approx(0.5)


def test_fetch_score_is_the_height_gain_towards_the_well_mouth() -> None:
    lvl = get_level("fetch", 1)             # trigger over the well mouth, from y = 13 m up
    ore = _line((0.0, 2.1, 16.0), (0.0, 6.8, 16.0), 111)
    r = score_deliver(_ore_episode(ore), lvl)
    # gap = 13 - (y + 1.5): 9.4 at the start, 4.7 at the end -> half way
    assert r.metrics["start_gap"] == pytest.approx(9.4) and r.score == pytest.approx(0.5)
    assert r.metrics["height_gain"] == pytest.approx(4.7)


def test_car_score_reports_the_win_on_car_level5() -> None:
    root = _line((0.0, 1.0, 0.0), (0.0, 1.0, 30.0))
    r = score_car(_with(_episode(root, root=root), won=True, win_time=4.0), get_level("car", 5))
    assert r.score == pytest.approx(30.0) and r.metrics["win"] and r.metrics["win_time"] == 4.0


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
    assert level_scorer("car").name == "car_level1" and "catapult_level1" in available_tasks()
    assert len(available_tasks()) == 26 and "fetch_level1" in available_tasks()
    with pytest.raises(KeyError):
        level_scorer("car", 9)


def test_result_to_dict_is_json_ready() -> None:
    import json

    r = evaluate_machine(reference_machine("car"), "car")
    d = json.loads(json.dumps(r.to_dict(include_trace=True)))
    assert d["valid"] and d["score"] == pytest.approx(r.score) and len(d["trace"]["times"]) == 26
    assert set(d["timing"]) >= {"compile_s", "sim_s", "sim_seconds"}


def test_task_level_allowed_and_disallowed_block_types():
    from brickfield.machines.design.catalog import BLOCKS
    from brickfield.machines.tasks import allowed_block_types, machine_task, task_level

    spec = machine_task("catapult:8@3")
    lvl = task_level(spec)
    assert (lvl.task, lvl.number, lvl.variant) == ("catapult", 8, 3)
    assert allowed_block_types(spec) == lvl.allowed_blocks
    assert allowed_block_types(machine_task("car:1", allow_any_block=True)) is None
    outside = sorted(set(BLOCKS) - lvl.allowed_blocks)[:2]
    inside = sorted(lvl.allowed_blocks)[0]
    assert lvl.disallowed([outside[1], inside, outside[0], outside[1]]) == tuple(sorted(outside))
    assert lvl.disallowed([inside]) == ()
