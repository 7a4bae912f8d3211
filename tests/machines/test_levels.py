"""Levels in simulation: every level builds, compiles and runs; world geometry, loose objects, wind,
triggers (with early win stop) and seeded variants."""

from __future__ import annotations

import math
from dataclasses import replace

import mujoco
import numpy as np
import pytest

from brickfield.machines.design.validity import check_machine
from brickfield.machines.evaluate import evaluate_machine
from brickfield.machines.levels.registry import LEVELS, Level, get_level, list_levels
from brickfield.machines.levels.schema import GoalObject, Primitive, Trigger, Wind
from brickfield.machines.levels.triggers import Entity, TriggerMonitor, box_distance, target_matches
from brickfield.machines.reference import reference_machine
from brickfield.machines.scoring import level_scorer
from brickfield.machines.sim.compile import compile_machine
from brickfield.machines.sim.params import DEFAULT_PARAMS
from brickfield.machines.sim.simulate import simulate

ALL = list(list_levels())


def _placed(name: str):  # type: ignore[no-untyped-def]
    pm = check_machine(reference_machine(name)).machine
    assert pm is not None
    return pm


# --- every level -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_every_level_simulates_a_reference_machine(name: str) -> None:
    lvl = LEVELS[name]
    machine = "catapult" if lvl.task == "catapult" else "car"
    r = evaluate_machine(reference_machine(machine), lvl.task, lvl.number)
    ep = r.episode
    assert r.valid and ep is not None and ep.valid, ep.invalid_reason if ep else r.errors
    assert math.isfinite(r.score) and r.score >= 0.0 and r.reward == r.score
    assert ep.sim_time == pytest.approx(lvl.duration) or ep.won
    assert ep.object_names == tuple(o.name for o in lvl.obstacles if o.dynamic) + tuple(
        g.name for g in lvl.goal_objects)
    assert ep.object_positions.shape == (len(ep.times), len(ep.object_names), 3)
    assert np.isfinite(ep.positions).all() and np.isfinite(ep.object_positions).all()


def test_levels_mapping_and_errors() -> None:
    assert list(LEVELS) == ALL and len(LEVELS) == 26 and "fetch_level1" in LEVELS
    assert {lvl.task for lvl in LEVELS.values()} == {"car", "catapult", "delivery", "fetch"}
    assert get_level("car", 5).duration == 20.0 and get_level("fetch", 1).duration == 22.0
    assert get_level("fetch", 1).wheels_automatic is False
    with pytest.raises(KeyError, match="car_level9"):
        get_level("car", 9)
    with pytest.raises(KeyError):
        LEVELS["nope"]
    assert get_level("catapult", 7).wind is not None
    assert level_scorer("delivery", 1).level.goal_objects[0].name == "iron_ore"


def test_car_and_catapult_level1_use_the_level_files_geometry() -> None:
    car = get_level("car", 1)
    walls = [o for o in car.obstacles if o.size[2] == 1000.0]
    # the files put box pivots at the bottom: the 10 m walls stand on the ground (0-10 m)
    assert all(w.center[1] == pytest.approx(5.0) and w.friction == 0.0 for w in walls)
    assert evaluate_machine(reference_machine("car"), "car", 1).score >= 30.0
    assert evaluate_machine(reference_machine("catapult"), "catapult", 1).score > 0.0


def test_every_primitive_shape_becomes_geoms() -> None:
    pm = _placed("car")
    for name, expect in (("car_level4", "cone_0"), ("catapult_level8", "ring_0_0"),
                         ("car_level2", "quarter_pipe_0_0"), ("car_level5", "ramp_0")):
        lvl = LEVELS[name]
        m = compile_machine(lvl.place(pm), level=lvl).model
        g = m.geom(expect)
        assert m.geom_type[g.id] == mujoco.mjtGeom.mjGEOM_MESH and m.geom_bodyid[g.id] == 0
    ring = next(o for o in get_level("catapult", 8).obstacles if o.name == "ring_0")
    m = compile_machine(pm, level=get_level("catapult", 8)).model
    assert sum(m.geom(k).name.startswith("ring_0_") for k in range(m.ngeom)) == len(ring.convex_pieces())
    # ellipsoids (variant stones), elliptic cylinders and boxes
    prims = (Primitive("e", "sphere", (20.0, 1.0, 20.0), (1.0, 2.0, 3.0)),
             Primitive("c", "cylinder", (-20.0, 1.0, 20.0), (1.0, 2.0, 3.0)),
             Primitive("b", "box", (0.0, 1.0, 40.0), (1.0, 2.0, 3.0)))
    m = compile_machine(pm, obstacles=prims).model
    assert m.geom_type[m.geom("e").id] == mujoco.mjtGeom.mjGEOM_ELLIPSOID
    assert m.geom_type[m.geom("c").id] == mujoco.mjtGeom.mjGEOM_MESH
    assert list(m.geom_size[m.geom("b").id]) == pytest.approx([0.5, 1.5, 1.0])   # MuJoCo axes


def test_goal_objects_and_dynamic_obstacles_are_free_bodies() -> None:
    lvl = get_level("delivery", 5)
    cm = compile_machine(lvl.place(_placed("car")), level=lvl)
    m = cm.model
    names = [o.name for o in cm.objects]
    assert names == ["npc_b_0", "iron_ore"] and [o.kind for o in cm.objects] == ["dynamic", "goal"]
    ore = m.body("o_iron_ore")
    assert m.body_mass[ore.id] == pytest.approx(2.0) and m.jnt_type[m.body_jntadr[ore.id]] == 0
    assert m.geom_size[m.geom("g_iron_ore").id][0] == pytest.approx(1.5)
    assert m.body_mass[m.body("o_npc_b_0").id] == pytest.approx(1.0)
    ep = simulate(cm, 1.0)
    ore_y = ep.objects["iron_ore"][:, 1]
    assert ore_y[0] == pytest.approx(3.0) and ore_y[-1] == pytest.approx(1.5, abs=0.05)  # settles


def test_fetch_machine_spawns_on_the_platform() -> None:
    lvl, pm = get_level("fetch", 1), _placed("car")
    moved = lvl.place(pm)
    assert np.allclose(np.subtract(moved.blocks[0].position, pm.blocks[0].position), (0.0, 15.0, 0.0))
    assert get_level("car", 1).place(pm) is pm
    ep = simulate(compile_machine(moved, level=lvl), 1.0, wheels_automatic=False)
    assert ep.positions[-1, 0, 1] > 14.6   # stands on the platform (top at 14.6 m), not below


# --- triggers ----------------------------------------------------------------------------------------
def _trigger(target: str = "anything", events: tuple[str, ...] = ("game_win:Progress",),
             center: tuple[float, float, float] = (0.0, 5.0, 10.0), name: str = "t") -> Trigger:
    return Trigger(name, center, (4.0, 2.0, 1.0), (0.0, 0.0, 0.0, 1.0), "enter", target, events)


def test_monitor_sweeps_through_a_thin_trigger_and_interpolates_the_time() -> None:
    mon = TriggerMonitor([_trigger()], [Entity("ball", 0.1, obj="ball")])
    assert mon.check(np.array([[0.0, 5.0, 0.0]]), 0.0) == []
    ev = mon.check(np.array([[0.0, 5.0, 20.0]]), 0.2)   # crossed z = 9.5..10.5 between checks
    assert len(ev) == 1 and ev[0].time == pytest.approx(0.2 * (9.4 / 20.0)) and ev[0].win
    assert mon.win and mon.win_time == ev[0].time
    assert mon.check(np.array([[0.0, 5.0, 10.0]]), 0.4) == []   # each pair fires once


def test_monitor_misses_a_path_beside_the_trigger_and_respects_targets() -> None:
    mon = TriggerMonitor([_trigger()], [Entity("ball", 0.5, obj="ball")])
    mon.check(np.array([[3.0, 5.0, 0.0]]), 0.0)
    assert mon.check(np.array([[3.0, 5.0, 20.0]]), 0.2) == [] and not mon.win   # 0.5 m beside
    blocks = [Entity("block 0", 0.5, 0, "0"), Entity("block 1", 0.5, 1, "36"), Entity("ore", 1.5, obj="ore")]
    assert [target_matches("any_block", e) for e in blocks] == [True, True, False]
    assert [target_matches("block:36", e) for e in blocks] == [False, True, False]
    assert [target_matches("object:ore", e) for e in blocks] == [False, False, True]
    assert not TriggerMonitor([_trigger("object:nothing")], blocks).active


def test_progress_accumulates_to_a_win() -> None:
    trig = [_trigger(events=("progress:50:0",), name="a"),
            _trigger(events=("progress:50:0",), name="b", center=(0.0, 5.0, 30.0))]
    mon = TriggerMonitor(trig, [Entity("ball", 0.1, obj="ball")])
    mon.check(np.array([[0.0, 5.0, 0.0]]), 0.0)
    first = mon.check(np.array([[0.0, 5.0, 20.0]]), 0.2)
    assert first[0].progress == 50.0 and not mon.win
    second = mon.check(np.array([[0.0, 5.0, 40.0]]), 0.4)
    assert second[0].progress == 100.0 and mon.win and second[0].win
    assert box_distance(np.array([[0.0, 5.0, 13.0], [0.0, 5.0, 10.0]]), trig[0]) == pytest.approx([2.5, 0.0])


def test_ore_entering_a_goal_trigger_wins_and_stops_the_episode() -> None:
    base = get_level("delivery", 1)
    # a slab under the ore: it falls from y = 3 (bottom at 1.5 m) and enters it on the way down
    goal = Trigger("goal", (0.0, 0.5, 15.0), (4.0, 1.0, 4.0), (0.0, 0.0, 0.0, 1.0), "enter",
                   "object:iron_ore", ("game_win:Progress",))
    lvl = replace(base, triggers=(goal,))
    r = evaluate_machine(reference_machine("car_no_wheels"), level_scorer("delivery", 1).__class__(
        lvl, level_scorer("delivery", 1).scorer))
    ep = r.episode
    assert ep.won and 0.1 < ep.win_time < 0.4 and ep.trigger_events[0].entity == "iron_ore"
    assert ep.sim_time == pytest.approx(0.4) and len(ep.times) == 3   # stopped at the next sample
    assert r.score == 1.0 and r.metrics["win"]
    kept = simulate(lvl.place(_placed("car_no_wheels")), 1.0, level=lvl, stop_on_win=False)
    assert kept.won and kept.sim_time == pytest.approx(1.0)


def test_boulder_through_a_ring_trigger_scores_a_win_on_target_levels() -> None:
    lvl = get_level("catapult", 9)
    # put the ring trigger where the reference catapult's boulder flies
    free = evaluate_machine(reference_machine("catapult"), "catapult", 1).episode
    b = free.type_ids.index("36")
    k = int(np.argmax(free.positions[:, b, 1]))
    apex = tuple(float(v) for v in free.positions[k, b])
    moved = replace(lvl, triggers=tuple(replace(t, center=apex) if t.name == "trigger_0" else t
                                        for t in lvl.triggers))
    spec = level_scorer("catapult", 9)
    r = evaluate_machine(reference_machine("catapult"), type(spec)(moved, spec.scorer))
    assert r.episode.won and r.score == 1.0 and r.metrics["boulder_entries"] >= 1
    binary = evaluate_machine(reference_machine("catapult"), level_scorer("catapult", 9, binary=True))
    assert binary.score == 0.0 and 0.0 < binary.metrics["dense_score"] < 0.5


# --- wind --------------------------------------------------------------------------------------------
def test_wind_changes_the_boulder_trajectory() -> None:
    windy = get_level("catapult", 7)
    calm = replace(windy, wind=None)
    pm = _placed("catapult")
    ep_w = simulate(compile_machine(pm, level=windy), 3.0, windy.schedule)
    ep_c = simulate(compile_machine(pm, level=calm), 3.0, calm.schedule)
    b = ep_w.type_ids.index("36")
    # blown down: lower through the first second of its flight (~1 m after 1 s at 2 m/s^2, less
    # while the container still carries it)
    assert (ep_w.positions[1:6, b, 1] - ep_c.positions[1:6, b, 1]).sum() < -0.3
    side = replace(windy, wind=Wind((1.0, 0.0, 0.0), 4.0))
    ep_s = simulate(compile_machine(pm, level=side), 3.0, side.schedule)
    assert ep_s.positions[-1, b, 0] > ep_c.positions[-1, b, 0] + 1.0             # blown to x+
    cm = compile_machine(pm, level=windy, params=replace(DEFAULT_PARAMS, wind_on_blocks=True))
    assert len(cm.wind_body) == int((cm.block_body >= 0).sum())   # every block with a body
    strong = compile_machine(pm, level=replace(windy, wind=Wind((0.0, -1.0, 0.0), 3.0)))
    assert strong.wind_force[0] == pytest.approx([0.0, 0.0, -15.0])             # 5 kg x 3 m/s^2


# --- variants ---------------------------------------------------------------------------------------
def test_variants_are_deterministic_and_differ_by_seed() -> None:
    a, b, c = get_level("car", 1, variant=7), get_level("car", 1, variant=7), get_level("car", 1, variant=8)
    assert a == b and a != c and a.variant == 7 and a.label == "car_level1/variant7"
    assert len(a.obstacles) > len(get_level("car", 1).obstacles) and a.wind is not None
    r1 = evaluate_machine(reference_machine("car"), "car", 1, variant=4)
    r2 = evaluate_machine(reference_machine("car"), "car", 1, variant=4)
    assert r1.score == r2.score and np.array_equal(r1.episode.positions, r2.episode.positions)


def test_custom_level_with_goal_object_and_box_obstacles() -> None:
    lvl = Level("delivery", 99, 1.0, get_level("delivery", 1).schedule, (), frozenset({"0"}), "p",
                "Target_deliver", goal_objects=(GoalObject("ball", "sphere", (0.0, 2.0, 10.0),
                                                           (2.0, 2.0, 2.0), (0.0, 0.0, 0.0, 1.0), 1.0),))
    ep = simulate(compile_machine(_placed("car_no_wheels"), level=lvl), 0.6)
    assert ep.object_names == ("ball",) and ep.objects["ball"][-1, 1] == pytest.approx(1.0, abs=0.05)
