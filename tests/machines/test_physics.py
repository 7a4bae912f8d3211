"""Physics compilation: frames, bodies, joints, actuators, breakage calibration."""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np
import pytest

from brickfield.machines.levels.registry import Box, ControlSchedule
from brickfield.machines.reference import reference_machine
from brickfield.machines.sim.compile import (
    CompiledMachine,
    Role,
    besiege_to_mj_quat,
    besiege_to_mj_vec,
    compile_machine,
    mj_to_besiege_quat,
    mj_to_besiege_vec,
    role_of,
    to_mjcf,
)
from brickfield.machines.sim.params import PhysicsParams
from brickfield.machines.sim.simulate import simulate
from tests.machines._handplace import FACING_QUAT, place, rot

CAR = reference_machine("car")
CATAPULT = reference_machine("catapult")
SWAP = np.array([[1.0, 0, 0], [0, 0, 1], [0, 1, 0]])


def _mat_mj(q_wxyz: np.ndarray) -> np.ndarray:
    out = np.zeros(9)
    mujoco.mju_quat2Mat(out, np.asarray(q_wxyz, float))
    return out.reshape(3, 3)


def _random_quats(n: int, seed: int = 0) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


# --- frames -----------------------------------------------------------------------------------
def test_vector_round_trip_and_axes() -> None:
    v = np.random.default_rng(1).normal(size=(50, 3))
    assert np.array_equal(mj_to_besiege_vec(besiege_to_mj_vec(v)), v)
    # Besiege forward (z) is MuJoCo y, Besiege up (y) is MuJoCo z
    assert np.allclose(besiege_to_mj_vec((0, 0, 1)), (0, 1, 0))
    assert np.allclose(besiege_to_mj_vec((0, 1, 0)), (0, 0, 1))
    assert np.allclose(besiege_to_mj_vec((1, 0, 0)), (1, 0, 0))
    # the swap is a reflection: left-handed -> right-handed
    assert np.isclose(np.linalg.det(SWAP), -1.0)


def test_quaternion_round_trip_and_matrix_relation() -> None:
    qb = _random_quats(100)
    assert np.allclose(mj_to_besiege_quat(besiege_to_mj_quat(qb)), qb)
    for q in qb:
        r_b = rot(tuple(q))                      # Besiege [x,y,z,w] -> matrix
        r_m = _mat_mj(besiege_to_mj_quat(q))     # MuJoCo [w,x,y,z] -> matrix
        assert np.allclose(r_m, SWAP @ r_b @ SWAP, atol=1e-12)
        assert np.isclose(np.linalg.det(r_m), 1.0)  # still a proper rotation


@pytest.mark.parametrize("facing", ["z+", "z-", "x+", "x-", "y+", "y-"])
def test_facing_quaternions_point_block_z_along_facing(facing: str) -> None:
    target = {"x": 0, "y": 1, "z": 2}[facing[0]]
    want_b = np.zeros(3)
    want_b[target] = 1.0 if facing[1] == "+" else -1.0
    r_m = _mat_mj(besiege_to_mj_quat(FACING_QUAT[facing]))
    # the block's local +z (Besiege) is MuJoCo local +y; in the world it must point along `facing`
    assert np.allclose(mj_to_besiege_vec(r_m @ np.array([0.0, 1.0, 0.0])), want_b, atol=1e-12)


def test_compiled_body_poses_match_placement() -> None:
    pm = place(CATAPULT)
    cm = compile_machine(pm)
    d = mujoco.MjData(cm.model)
    mujoco.mj_forward(cm.model, d)
    for b in pm.blocks:
        body = cm.block_body[b.index]
        if body < 0 or cm.loose[b.index]:
            continue
        assert np.allclose(mj_to_besiege_vec(d.xpos[body]), b.position, atol=1e-9)
        q = mj_to_besiege_quat(d.xquat[body])
        assert np.allclose(rot(tuple(q)), rot(b.rotation), atol=1e-9)


# --- structure ----------------------------------------------------------------------------------
def test_fused_car_has_one_rigid_group_plus_wheel_axles() -> None:
    cm = compile_machine(place(CAR))
    m = cm.model
    assert m.nv == 6 + 4                       # free root + 4 wheel hinges
    assert m.nu == 4 and m.neq == 0
    assert len(set(cm.block_body.tolist())) == 6  # one body per block
    assert [len(g) for g in cm.block_geoms] == [1] * 6
    # powered wheels: flipped (x-) spin positive, unflipped negative, both at ~100 rpm
    for b, ctrl in zip(place(CAR).blocks[2:], cm.base_ctrl, strict=True):
        assert ctrl == pytest.approx(10.472 * (1 if b.flipped else -1), abs=1e-3)


def test_welded_mode_uses_free_bodies_and_breakable_welds() -> None:
    cm = compile_machine(place(CAR), PhysicsParams(connection_mode="welded"))
    assert cm.model.nv == 6 + 6 + 4            # root and log free, wheels hinge on them
    assert cm.model.neq == 1
    assert [c.kind for c in cm.connections].count("weld") == 1


def test_hinge_range_is_plus_minus_90_degrees_in_radians() -> None:
    cm = compile_machine(place(CATAPULT))
    m = cm.model
    hinges = [j for j in range(m.njnt) if m.joint(j).name == "j9"]
    assert len(hinges) == 1
    assert np.allclose(m.jnt_range[hinges[0]], [-np.pi / 2, np.pi / 2])
    assert role_of("5") is Role.HINGE and role_of("2") is Role.POWERED_WHEEL and role_of("9") is Role.BAND


def test_band_is_a_pulling_tendon_on_key_l() -> None:
    cm = compile_machine(place(CATAPULT))
    m = cm.model
    assert m.ntendon == 1
    (act,) = cm.key_actuators["L"]
    assert m.actuator_trntype[act] == mujoco.mjtTrn.mjTRN_TENDON
    assert m.actuator_forcerange[act, 1] == 0.0 < -m.actuator_forcerange[act, 0]   # pulls only
    assert cm.ctrl_for(["L"])[act] == 1.0 and cm.ctrl_for([])[act] == 0.0


def test_obstacles_and_ground_are_static_geoms() -> None:
    wall = Box((0.0, 1.0, 10.0), (4.0, 2.0, 1.0), friction=0.0, name="w")
    cm = compile_machine(place(CAR), obstacles=(wall,))
    g = cm.model.geom("w")
    assert np.allclose(g.size, [2.0, 0.5, 1.0])   # MuJoCo half sizes, axes swapped
    assert np.allclose(g.pos, [0.0, 10.0, 1.0])
    assert g.friction[0] == 0.0 and g.priority[0] == 1


def test_to_mjcf_round_trips_through_mujoco() -> None:
    cm = compile_machine(place(CATAPULT))
    xml = to_mjcf(cm)
    assert xml.lstrip().startswith("<mujoco")
    m2 = mujoco.MjModel.from_xml_string(xml)
    assert (m2.nbody, m2.nv, m2.nu, m2.ntendon) == (cm.model.nbody, cm.model.nv, cm.model.nu,
                                                    cm.model.ntendon)


def test_valid_machines_start_without_contacts_between_blocks() -> None:
    for tree in (CAR, CATAPULT):
        cm = compile_machine(place(tree, lowest=2.0))  # lifted: no ground contact either
        d = mujoco.MjData(cm.model)
        mujoco.mj_forward(cm.model, d)
        assert d.ncon == 0


def test_boulder_rests_in_container_without_key() -> None:
    ep = simulate(place(CATAPULT), duration=2.0)
    b = ep.type_ids.index("36")
    c = ep.type_ids.index("30")
    rel = ep.positions[-1, b] - ep.positions[-1, c]    # container origin = its mount point
    # still inside the 2.4 x 3 container (x, z), resting on its floor 1 m above the mount
    assert abs(rel[0]) < 1.2 and abs(rel[2]) < 1.5
    assert rel[1] == pytest.approx(1.0 + 0.95, abs=0.1)
    assert not ep.damage


# --- breakage -------------------------------------------------------------------------------------
def test_tiny_threshold_breaks_connections_and_frees_blocks() -> None:
    params = PhysicsParams(break_force=1.0, break_torque=1.0)
    ep = simulate(place(CAR), duration=1.0, params=params)
    assert ep.valid
    broken = {e.block for e in ep.damage}
    assert broken == {1, 2, 3, 4, 5}          # every connection of the car broke
    assert ep.recompiles >= 1
    e = ep.damage[0]
    assert e.force > 1.0 or e.torque > 1.0
    assert e.order_id == e.block and e.kind == "tree" and e.time > 0


def test_tiny_threshold_breaks_welds_in_welded_mode() -> None:
    params = PhysicsParams(connection_mode="welded", break_force=1.0, break_torque=1.0)
    ep = simulate(place(CAR), duration=1.0, params=params)
    assert any(e.kind == "weld" and e.block == 1 for e in ep.damage)


def test_default_thresholds_calibration() -> None:
    """The claims behind the default thresholds (sim.params.break_force)."""
    # normal operation of the reference machines: nothing breaks
    assert not simulate(place(CAR)).damage
    held = ControlSchedule({"L": ((0.0, 5.0),)})
    assert not simulate(place(CATAPULT), schedule=held).damage
    # the 5 m spawn drop of machines with linear blocks (BesiegeField phantom quirk): survives
    assert not simulate(place(CATAPULT, lowest=5.5), schedule=held).damage
    # ten times stiffer bands snap the arm off at the hinge stop
    stiff = PhysicsParams(band_stiffness=1000.0, band_max_force=8000.0)
    ep = simulate(place(CATAPULT), schedule=held, params=stiff)
    assert any(e.type_id in ("5", "63") for e in ep.damage)


def test_heavy_car_crash_breaks_front_ballast_light_car_survives() -> None:
    wall = (Box((0.0, 5.0, 30.0), (30.0, 10.0, 1.0)),)
    assert not simulate(place(CAR), obstacles=wall).damage
    heavy = [*CAR, {"id": "35", "order_id": 6, "parent": 1, "bp_id": 8},
             {"id": "35", "order_id": 7, "parent": 1, "bp_id": 0},
             {"id": "35", "order_id": 8, "parent": 0, "bp_id": 4}]
    ep = simulate(place(heavy), obstacles=wall)
    assert [e.order_id for e in ep.damage] == [7]       # the ballast on the nose
    assert ep.damage[0].force > 12000.0


def test_ballast_tower_dropped_5_m_snaps_its_pole() -> None:
    tower = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
             {"id": "41", "order_id": 1, "parent": 0, "bp_id": 4},
             *({"id": "35", "order_id": k + 2, "parent": 1, "bp_id": bp}
               for k, bp in enumerate((0, 2, 4, 6, 8)))]
    assert not simulate(place(tower)).damage             # standing on the ground: fine
    ep = simulate(place(tower, lowest=5.5))
    assert [(e.order_id, e.type_id) for e in ep.damage] == [(1, "41")]


def test_params_are_hashable_and_replaceable() -> None:
    p = PhysicsParams()
    q = dataclasses.replace(p, timestep=0.01)
    assert hash(p) != hash(q) and q.timestep == 0.01
    assert p.threshold("41")[0] < p.threshold("15")[0] < p.threshold("22")[0]
    assert isinstance(compile_machine(place(CAR), q), CompiledMachine)


# --- block types -------------------------------------------------------------------------------
def test_every_catalog_type_compiles_and_simulates() -> None:
    from brickfield.machines.design.catalog import BLOCKS, LINEAR_TYPES

    for type_id, spec in BLOCKS.items():
        if type_id in LINEAR_TYPES or type_id == "0":
            continue
        tree = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
                {"id": type_id, "order_id": 1, "parent": 0, "bp_id": 0}]
        if spec.attach_points:   # and something hanging from it
            tree.append({"id": "15", "order_id": 2, "parent": 1, "bp_id": 0})
        ep = simulate(place(tree), duration=0.5)
        assert ep.valid, (type_id, ep.invalid_reason)


def test_brace_across_a_hinge_locks_it() -> None:
    held = ControlSchedule({"L": ((0.0, 2.0),)})
    braced = [*CATAPULT, {"id": "7", "order_id": 13, "parent_a": 0, "bp_id_a": 2, "parent_b": 10,
                          "bp_id_b": 1}]
    cm = compile_machine(place(braced))
    assert (cm.model.neq == 1 and cm.model.geom_contype[cm.model.ngeom - 1] == 0) or cm.model.neq == 1
    free = simulate(place(CATAPULT), duration=2.0, schedule=held)
    locked = simulate(cm, duration=2.0, schedule=held)
    b = CATAPULT.index(next(t for t in CATAPULT if t["id"] == "36"))
    assert free.positions[:, b, 1].max() > locked.positions[:, b, 1].max() + 1.0


def test_brace_inside_one_rigid_group_adds_no_constraint() -> None:
    braced = [*CAR, {"id": "7", "order_id": 6, "parent_a": 0, "bp_id_a": 4, "parent_b": 1, "bp_id_b": 7}]
    assert compile_machine(place(braced)).model.neq == 0


def test_wheels_on_suspensions_still_drive_and_spring_back() -> None:
    tree = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
            {"id": "63", "order_id": 1, "parent": 0, "bp_id": 0},
            *({"id": "16", "order_id": 2 + k, "parent": p, "bp_id": bp}
              for k, (p, bp) in enumerate(((0, 2), (0, 3), (1, 3), (1, 6)))),
            *({"id": "2", "order_id": 6 + k, "parent": 2 + k, "bp_id": 0} for k in range(4))]
    cm = compile_machine(place(tree))
    slides = [j for j in range(cm.model.njnt) if cm.model.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE]
    assert len(slides) == 4 and np.all(cm.model.jnt_stiffness[slides] > 0)
    ep = simulate(cm)
    assert ep.valid and ep.positions[-1, 0, 2] - ep.positions[0, 0, 2] > 20.0


def test_steering_hinge_holds_straight_and_spinning_block_spins() -> None:
    tree = [{"id": "0", "order_id": 0, "parent": -1, "bp_id": -1},
            {"id": "28", "order_id": 1, "parent": 0, "bp_id": 4},
            {"id": "22", "order_id": 2, "parent": 0, "bp_id": 0},
            {"id": "63", "order_id": 3, "parent": 2, "bp_id": 1}]
    cm = compile_machine(place(tree, lowest=3.0))
    assert cm.model.nu == 2
    d = mujoco.MjData(cm.model)
    d.ctrl[:] = cm.base_ctrl
    mujoco.mj_step(cm.model, d, nstep=100)          # 0.5 s in the air
    steer, spin = (cm.model.joint(f"j{i}") for i in (1, 2))
    assert abs(d.qpos[steer.qposadr[0]]) < 0.05
    assert abs(d.qvel[spin.dofadr[0]]) > 5.0
