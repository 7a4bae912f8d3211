"""Simulation loop: traces, determinism, schedules, breakage recompiles, failure handling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brickfield.machines.levels.registry import ControlSchedule
from brickfield.machines.reference import reference_machine
from brickfield.machines.sim.compile import compile_machine
from brickfield.machines.sim.params import PhysicsParams
from brickfield.machines.sim.simulate import (
    REASON_PHYSICS_ERROR,
    REASON_TOO_MANY_BLOCKS,
    REASON_WALL_LIMIT,
    Episode,
    simulate,
)
from tests.machines._handplace import place

CAR = place(reference_machine("car"))
CATAPULT = place(reference_machine("catapult"))
HOLD_L = ControlSchedule({"L": ((0.0, 5.0),)})


def _same(a: Episode, b: Episode) -> bool:
    return (np.array_equal(a.times, b.times) and np.array_equal(a.positions, b.positions)
            and np.array_equal(a.rotations, b.rotations) and np.array_equal(a.velocities, b.velocities)
            and [e.to_dict() for e in a.damage] == [e.to_dict() for e in b.damage])


def test_trace_shapes_and_initial_state() -> None:
    ep = simulate(CAR, duration=5.0, record_every=0.2)
    n = len(CAR.blocks)
    assert ep.valid and ep.steps == 1000 and ep.sim_time == pytest.approx(5.0)
    assert ep.times.shape == (26,) and np.allclose(ep.times, np.arange(26) * 0.2)
    assert ep.positions.shape == (26, n, 3) and ep.velocities.shape == (26, n, 3)
    assert ep.rotations.shape == (26, n, 4)
    for b in CAR.blocks:
        assert np.allclose(ep.positions[0, b.index], b.position, atol=1e-9)
        assert np.allclose(np.abs(ep.rotations[0, b.index] @ np.array(b.rotation)), 1.0)
    assert np.allclose(np.linalg.norm(ep.rotations, axis=2), 1.0)
    assert ep.order_ids == tuple(range(n)) and ep.type_ids[0] == "0"


def test_car_drives_forward_in_besiege_frame() -> None:
    ep = simulate(CAR)
    root_v = ep.velocities[-1, 0]
    assert root_v[2] > 9.0 and abs(root_v[0]) < 0.5 and abs(root_v[1]) < 0.5   # +z, ~10 m/s
    # the recorded velocity agrees with finite differences of the recorded positions
    fd = (ep.positions[-1, 0] - ep.positions[-2, 0]) / 0.2
    assert np.allclose(fd, root_v, atol=0.3)


def test_deterministic_including_recycled_data_and_breakage() -> None:
    cm = compile_machine(CATAPULT)
    assert _same(simulate(cm, schedule=HOLD_L), simulate(cm, schedule=HOLD_L))
    assert _same(simulate(CATAPULT, schedule=HOLD_L), simulate(cm, schedule=HOLD_L))
    brittle = PhysicsParams(break_force=300.0, break_torque=300.0)
    a, b = simulate(CATAPULT, schedule=HOLD_L, params=brittle), simulate(CATAPULT, schedule=HOLD_L,
                                                                          params=brittle)
    assert a.damage and a.recompiles >= 1 and _same(a, b)


def test_schedule_release_stops_the_band() -> None:
    short = ControlSchedule({"L": ((0.0, 0.05),)})   # released before the arm gets going
    ep_short = simulate(CATAPULT, duration=2.0, schedule=short)
    ep_long = simulate(CATAPULT, duration=2.0, schedule=HOLD_L)
    b = CATAPULT.blocks[-1].index - 1  # the boulder precedes the band
    assert ep_long.positions[:, b, 1].max() > ep_short.positions[:, b, 1].max() + 0.5


def test_control_schedule_helpers() -> None:
    s = ControlSchedule({"L": ((0.0, 1.0), (2.0, 3.0))})
    assert s.held("L", 0.0) and not s.held("L", 1.0) and s.held("L", 2.5) and not s.held("X", 0.5)
    assert s.switch_times() == [0.0, 1.0, 2.0, 3.0]
    back = ControlSchedule.from_dict(s.to_dict())
    assert back == s and hash(back) == hash(s)


def test_breakage_keeps_the_rest_of_the_trajectory_continuous() -> None:
    ep = simulate(CAR, params=PhysicsParams(break_force=1.0, break_torque=1.0))
    assert ep.recompiles >= 1 and ep.valid
    jumps = np.linalg.norm(np.diff(ep.positions, axis=0), axis=2)
    assert jumps.max() < 0.2 * 15.0   # no teleport when the model is rebuilt


def test_episode_json_round_trip() -> None:
    ep = simulate(CAR, duration=1.0, params=PhysicsParams(break_force=1.0, break_torque=1.0))
    d = json.loads(json.dumps(ep.to_dict()))
    back = Episode.from_dict(d)
    assert np.allclose(back.positions, ep.positions, atol=1e-4)
    assert [e.order_id for e in back.damage] == [e.order_id for e in ep.damage]
    assert back.invalid_reason is None and back.steps == ep.steps


@pytest.mark.parametrize("params", [
    PhysicsParams(timestep=0.05, integrator="euler", band_stiffness=1e7, band_max_force=1e9, breakable=False),
    PhysicsParams(gravity=-1e9),
    PhysicsParams(band_stiffness=1e12, band_max_force=1e15, wheel_torque=1e12, wheel_kv=1e9,
                  wheel_speed=1e6, breakable=False),
])
def test_blow_ups_end_with_a_reason_not_an_exception(params: PhysicsParams) -> None:
    ep = simulate(CATAPULT, schedule=HOLD_L, params=params)
    assert ep.invalid_reason is not None
    assert np.isfinite(ep.positions).all()      # samples recorded before the blow-up are clean
    assert ep.sim_time < 5.0


def test_wall_clock_limit() -> None:
    ep = simulate(CAR, duration=50.0, max_wall_s=0.0)
    assert ep.invalid_reason is not None and ep.invalid_reason.startswith("wall_limit: wall-clock limit")
    assert ep.sim_time < 50.0


def test_zero_duration_returns_the_initial_sample() -> None:
    ep = simulate(CAR, duration=0.0)
    assert ep.valid and ep.times.tolist() == [0.0] and ep.steps == 0


def _pile(n: int):
    """A file-valid ``n``-block machine: wooden blocks stacked on the root's attach points (they
    overlap, so it is spatially invalid: the kind of machine that took minutes per episode)."""
    from brickfield.machines.design.catalog import BLOCKS
    from brickfield.machines.design.parse import parse_tree
    from brickfield.machines.design.placement import place as auto_place
    from brickfield.machines.design.tree import TreeLimits

    points = len(BLOCKS["0"].attach_points)
    data = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1}]
    data += [{"id": "15", "order_id": i, "parent": 0, "bp_id": i % points} for i in range(1, n)]
    return auto_place(parse_tree(data, limits=TreeLimits(max_blocks=n)), max_blocks=n)


def test_wall_limit_is_checked_inside_the_step_loop() -> None:
    ep = simulate(_pile(1000), duration=5.0, max_wall_s=0.5, max_blocks=1000)
    assert ep.invalid_reason is not None and ep.invalid_reason.startswith(f"{REASON_WALL_LIMIT}:")
    assert ep.sim_time < 5.0 and len(ep.times) >= 1


def test_block_limit_applies_to_simulation() -> None:
    ep = simulate(_pile(600), duration=1.0)
    assert ep.invalid_reason is not None and ep.invalid_reason.startswith(f"{REASON_TOO_MANY_BLOCKS}:")
    assert ep.steps == 0 and ep.positions.shape == (0, 600, 3)


def test_mujoco_fatal_error_is_an_invalid_episode(monkeypatch: pytest.MonkeyPatch) -> None:
    import mujoco

    def fail(*_args: object, **_kwargs: object) -> None:
        raise mujoco.FatalError("mj_stackAlloc: out of memory, stack overflow at mj_island\nmore")

    monkeypatch.setattr(mujoco, "mj_step", fail)
    ep = simulate(CAR, duration=1.0)
    assert ep.invalid_reason == f"{REASON_PHYSICS_ERROR}: MuJoCo stopped: mj_stackAlloc: out of memory, " \
                                "stack overflow at mj_island"
    assert ep.times.tolist() == [0.0] and ep.positions.shape == (1, len(CAR.blocks), 3)
