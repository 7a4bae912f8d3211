"""Key bindings and key-driven mechanisms: wheels, steering, winch, decoupler, grabber."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from brickfield.machines.levels.registry import ControlSchedule
from brickfield.machines.reference import reference_machine
from brickfield.machines.sim.blocks import Role
from brickfield.machines.sim.compile import compile_machine
from brickfield.machines.sim.controls import DEFAULT_KEYS, MachineControls, resolve_bindings
from brickfield.machines.sim.params import PhysicsParams
from brickfield.machines.sim.simulate import simulate
from tests.machines._handplace import place, rot
from tests.machines._trees import ROOT

CAR = reference_machine("car")

# A 6 m tower on a 7 m base; a decoupler on the tower's top right holds a ballast, and a winch runs
# from the tower top (A) to the ballast's top face (B, 2 m away).
CRANE = [
    ROOT,
    {"id": "63", "order_id": 1, "parent": 0, "bp_id": 4},
    {"id": "63", "order_id": 2, "parent": 0, "bp_id": 2},
    {"id": "63", "order_id": 3, "parent": 0, "bp_id": 3},
    {"id": "63", "order_id": 4, "parent": 1, "bp_id": 0},
    {"id": "4", "order_id": 5, "parent": 4, "bp_id": 6},
    {"id": "35", "order_id": 6, "parent": 5, "bp_id": 0},
    {"id": "45", "order_id": 7, "parent_a": 4, "bp_id_a": 0, "parent_b": 6, "bp_id_b": 3},
]
BALLAST, WINCH = 6, 7


def _rope(ep, k: int) -> float:
    """Distance between the winch's ends at sample ``k`` (end B: the ballast's top attach point)."""
    b = ep.positions[k, BALLAST] + rot(tuple(ep.rotations[k, BALLAST])) @ np.array([0.0, 0.5, 0.5])
    return float(np.linalg.norm(ep.positions[k, WINCH] - b))


def _at(ep, t: float) -> int:
    return int(np.argmin(np.abs(ep.times - t)))


# --- bindings ------------------------------------------------------------------------------------
def test_default_keys_follow_besiege_defaults() -> None:
    assert DEFAULT_KEYS[Role.POWERED_WHEEL] == {"forward": "UpArrow", "backward": "DownArrow"}
    assert DEFAULT_KEYS[Role.STEER_HINGE] == {"left": "LeftArrow", "right": "RightArrow"}
    assert DEFAULT_KEYS[Role.WINCH] == {"contract": "N", "unwind": "M"}
    assert DEFAULT_KEYS[Role.DECOUPLER] == {"detach": "J"}
    assert DEFAULT_KEYS[Role.GRABBER] == {"release": "V"}
    assert DEFAULT_KEYS[Role.BAND] == {"contract": "L"}


def test_resolve_bindings_defaults_overrides_and_errors() -> None:
    pm = place(CRANE)
    cm = compile_machine(pm)
    b = resolve_bindings(pm, cm.roles)
    assert b == {5: {"detach": "J"}, 7: {"contract": "N", "unwind": "M"}}
    b = resolve_bindings(pm, cm.roles, {5: {"detach": "V"}, 7: {"unwind": None}})
    assert b[5] == {"detach": "V"} and b[7] == {"contract": "N", "unwind": None}
    assert resolve_bindings(pm, cm.roles, {"5": {"detach": "K"}})[5] == {"detach": "K"}   # JSON keys
    with pytest.raises(ValueError, match="unknown order_id"):
        resolve_bindings(pm, cm.roles, {99: {"detach": "V"}})
    with pytest.raises(ValueError, match="takes no key"):
        resolve_bindings(pm, cm.roles, {1: {"detach": "V"}})
    with pytest.raises(ValueError, match="no action 'left'"):
        resolve_bindings(pm, cm.roles, {5: {"left": "V"}})
    car = place(CAR)
    wheels = resolve_bindings(car, compile_machine(car).roles, {2: {"automatic": False}})
    assert wheels[2]["automatic"] is False and wheels[3]["automatic"] is True


def test_ctrl_maps_keys_to_actuators() -> None:
    cm = compile_machine(place(CRANE))
    ctl = MachineControls(cm, ControlSchedule())
    (a,) = range(cm.model.nu)
    p = cm.params
    assert ctl.ctrl([])[a] == 0.0
    assert ctl.ctrl(["N"])[a] == -p.winch_speed and ctl.ctrl(["M"])[a] == p.winch_speed
    assert ctl.ctrl(["N", "M"])[a] == 0.0          # opposite keys cancel
    car = compile_machine(place(CAR))
    auto = MachineControls(car, wheels_automatic=True)
    assert np.allclose(auto.ctrl([]), car.base_ctrl) and np.allclose(auto.ctrl(["DownArrow"]), car.base_ctrl)
    manual = MachineControls(car, wheels_automatic=False)
    assert not manual.ctrl([]).any()
    assert np.allclose(manual.ctrl(["UpArrow"]), car.base_ctrl)
    assert np.allclose(manual.ctrl(["DownArrow"]), -car.base_ctrl)


# --- wheels --------------------------------------------------------------------------------------
def test_non_automatic_wheels_follow_the_arrow_keys_then_coast() -> None:
    idle = simulate(place(CAR), duration=3.0, wheels_automatic=False)
    assert abs(idle.positions[-1, 0, 2] - idle.positions[0, 0, 2]) < 0.2
    sched = ControlSchedule({"UpArrow": ((0.0, 1.0),)})
    fwd = simulate(place(CAR), duration=3.0, schedule=sched, wheels_automatic=False)
    z = fwd.positions[:, 0, 2]
    assert z[_at(fwd, 1.0)] - z[0] > 3.0                  # drove while UpArrow was held
    assert z[-1] - z[_at(fwd, 2.0)] > 3.0                 # and rolls on freely after release
    braking = PhysicsParams(wheel_auto_brake=True)        # Besiege's block default
    fwd = simulate(place(CAR), duration=3.0, schedule=sched, wheels_automatic=False, params=braking)
    z = fwd.positions[:, 0, 2]
    assert z[_at(fwd, 1.0)] - z[0] > 3.0 and abs(z[-1] - z[_at(fwd, 2.0)]) < 0.5
    back = simulate(place(CAR), duration=1.0, schedule=ControlSchedule({"DownArrow": ((0.0, 1.0),)}),
                    wheels_automatic=False)
    assert back.positions[-1, 0, 2] - back.positions[0, 0, 2] < -2.5     # ~3 m in the first second
    # the shared model is left alone (coasting edits a private copy)
    cm = compile_machine(place(CAR))
    gains = cm.model.actuator_gainprm.copy()
    simulate(cm, duration=2.0, schedule=sched, wheels_automatic=False)
    assert np.array_equal(cm.model.actuator_gainprm, gains)


def test_spinning_block_keys_when_not_automatic() -> None:
    tree = [ROOT, {"id": "22", "order_id": 1, "parent": 0, "bp_id": 4},
            {"id": "63", "order_id": 2, "parent": 1, "bp_id": 1}]
    cm = compile_machine(place(tree))
    ctl = MachineControls(cm, bindings={1: {"automatic": False}})
    assert ctl.ctrl([])[0] == 0.0 and ctl.ctrl(["UpArrow"])[0] == -ctl.ctrl(["DownArrow"])[0] != 0.0
    assert MachineControls(cm).ctrl([])[0] != 0.0     # automatic by default (spinning_automatic)


# --- steering --------------------------------------------------------------------------------------
def test_steering_turns_left_on_leftarrow_and_holds_the_angle() -> None:
    cm = compile_machine(place([ROOT, {"id": "13", "order_id": 1, "parent": 0, "bp_id": 4},
                                {"id": "15", "order_id": 2, "parent": 1, "bp_id": 1}]))
    j = cm.model.joint("j1")
    sched = ControlSchedule({"LeftArrow": ((0.0, 0.25),), "RightArrow": ((1.0, 1.5),)})
    ctl = MachineControls(cm, sched)
    m, d = cm.model, cm.make_data()
    angles = []
    for t in np.arange(0.0, 2.0, m.opt.timestep):
        d.ctrl[:] = ctl.ctrl(ctl.held(t))
        mujoco.mj_step(m, d)
        angles.append(d.qpos[j.qposadr[0]])
    a = np.array(angles)
    steps = round(0.25 / m.opt.timestep)
    speed = cm.params.steering_speed
    assert a[round(0.9 / m.opt.timestep)] == pytest.approx(0.25 * speed, abs=0.05)   # held after release
    assert a[-1] == pytest.approx(-0.25 * speed, abs=0.05)                            # right: 0.5 s back
    assert a[:steps].max() > 0.0 > a[-1]


def test_leftarrow_turns_children_towards_x_minus() -> None:
    tree = [ROOT, {"id": "13", "order_id": 1, "parent": 0, "bp_id": 4},
            {"id": "63", "order_id": 2, "parent": 1, "bp_id": 4}]   # a log lying forward on top
    pm = place(tree, lowest=3.0)
    ep = simulate(pm, duration=0.6, schedule=ControlSchedule({"LeftArrow": ((0.0, 0.3),)}),
                  params=PhysicsParams(gravity=0.0))

    def log_dir(k: int) -> np.ndarray:   # the log's axis in the root's frame
        return rot(tuple(ep.rotations[k, 0])).T @ rot(tuple(ep.rotations[k, 2])) @ np.array([0.0, 0, 1])

    assert log_dir(0)[2] > 0.99 and log_dir(-1)[0] < -0.3    # front swung from z+ towards x-


# --- winch ---------------------------------------------------------------------------------------
def test_winch_pays_out_and_reels_in_at_its_speed() -> None:
    sched = ControlSchedule({"J": ((0.5, 0.55),), "M": ((2.0, 3.0),), "N": ((4.0, 4.5),)})
    ep = simulate(place(CRANE), duration=6.0, schedule=sched, record_every=0.1)
    assert ep.valid and not ep.damage
    v = PhysicsParams().winch_speed
    assert _rope(ep, 0) == pytest.approx(2.0, abs=1e-6)
    assert _rope(ep, _at(ep, 1.9)) == pytest.approx(2.0, abs=0.05)          # hanging on 2 m
    assert _rope(ep, _at(ep, 3.9)) == pytest.approx(2.0 + 1.0 * v, abs=0.05)  # M held 1 s
    assert _rope(ep, _at(ep, 5.9)) == pytest.approx(2.0 + 0.5 * v, abs=0.05)  # N held 0.5 s


def test_winch_length_survives_a_recompile() -> None:
    # unwind while the ballast is still attached (the rope goes slack), then fire the decoupler:
    # the recompile carries the longer rope, so the ballast drops to hang 2 + v m below the top
    sched = ControlSchedule({"M": ((0.0, 1.0),), "J": ((1.5, 1.55),)})
    ep = simulate(place(CRANE), duration=4.0, schedule=sched, record_every=0.1)
    assert ep.recompiles == 1
    assert _rope(ep, _at(ep, 3.9)) == pytest.approx(2.0 + PhysicsParams().winch_speed, abs=0.05)


# --- decoupler -------------------------------------------------------------------------------------
def test_decoupler_drops_its_children_only_when_its_key_is_pressed() -> None:
    tree = CRANE[:-1]                                   # no winch: the ballast falls freely
    kept = simulate(place(tree), duration=3.0)
    dropped = simulate(place(tree), duration=3.0, schedule=ControlSchedule({"J": ((0.5, 0.55),)}))
    y0 = kept.positions[0, BALLAST, 1]
    assert abs(kept.positions[-1, BALLAST, 1] - (y0 - 0.5)) < 0.1    # only the 0.5 m spawn drop
    assert dropped.positions[-1, BALLAST, 1] < y0 - 4.0                # fell to the ground
    assert dropped.recompiles == 1 and not dropped.damage
    # the decoupler itself stays on the tower
    assert np.linalg.norm(dropped.positions[-1, 5] - dropped.positions[-1, 0]) == pytest.approx(
        np.linalg.norm(kept.positions[-1, 5] - kept.positions[-1, 0]), abs=0.1)


def test_decoupled_trailer_is_left_behind_and_rebinding_works() -> None:
    towed = [*CAR, {"id": "4", "order_id": 6, "parent": 0, "bp_id": 1},
             {"id": "35", "order_id": 7, "parent": 6, "bp_id": 0}]
    sched = ControlSchedule({"V": ((1.0, 1.05),)})
    stay = simulate(place(towed), duration=4.0, schedule=sched)             # V: not its key
    gone = simulate(place(towed), duration=4.0, schedule=sched, bindings={6: {"detach": "V"}})
    gap = [float(np.linalg.norm(e.positions[-1, 7] - e.positions[-1, 0])) for e in (stay, gone)]
    assert gap[0] < 2.5 < 10.0 < gap[1]


# --- grabber -------------------------------------------------------------------------------------
# A gantry: a 9 m tower with a boom; under the boom a decoupler holds a hook (ballast + grabber facing
# down) hung on two winches; a loose bomb (0.5 kg sphere) lies on the base below the hook.
HOOK = [
    ROOT,
    {"id": "63", "order_id": 1, "parent": 0, "bp_id": 4},
    {"id": "63", "order_id": 2, "parent": 0, "bp_id": 2},
    {"id": "63", "order_id": 3, "parent": 0, "bp_id": 3},
    {"id": "63", "order_id": 4, "parent": 1, "bp_id": 0},
    {"id": "63", "order_id": 5, "parent": 4, "bp_id": 0},
    {"id": "63", "order_id": 6, "parent": 5, "bp_id": 6},      # boom
    {"id": "4", "order_id": 7, "parent": 6, "bp_id": 11},      # decoupler under the boom
    {"id": "35", "order_id": 8, "parent": 7, "bp_id": 0},      # hook weight
    {"id": "27", "order_id": 9, "parent": 8, "bp_id": 0},      # grabber facing down
    {"id": "45", "order_id": 10, "parent_a": 7, "bp_id_a": 1, "parent_b": 8, "bp_id_b": 1},
    {"id": "45", "order_id": 11, "parent_a": 7, "bp_id_a": 2, "parent_b": 8, "bp_id_b": 2},
    {"id": "23", "order_id": 12, "parent": 3, "bp_id": 8},     # the bomb
    {"id": "35", "order_id": 13, "parent": 2, "bp_id": 9},     # counterweight
]
NO_GRABBER = [*HOOK[:9], {"id": "15", "order_id": 9, "parent": 8, "bp_id": 0}, *HOOK[10:]]
BOMB = 12
LIFT = {"J": ((0.2, 0.25),), "M": ((1.0, 3.5),), "N": ((4.5, 6.5),)}


def _bomb_height(tree: list[dict], keys: dict, duration: float = 8.0) -> np.ndarray:
    ep = simulate(place(tree), duration=duration, schedule=ControlSchedule(keys), record_every=0.1)
    assert ep.valid and not ep.damage
    return ep.positions[:, BOMB, 1]


def test_grabber_picks_up_what_it_is_lowered_onto() -> None:
    grabbed = _bomb_height(HOOK, LIFT)
    plain = _bomb_height(NO_GRABBER, LIFT)
    rest = grabbed[10]                                  # settled on the base after the spawn drop
    assert grabbed[10:].max() > rest + 1.5                   # lifted by the hook
    assert plain[10:].max() < rest + 0.3                     # a plain block lowered onto it cannot
    assert grabbed[-1] > rest + 1.0                     # and still held at the end


def test_grabber_releases_on_its_key() -> None:
    dropped = _bomb_height(HOOK, {**LIFT, "V": ((7.0, 7.05),)}, duration=9.0)
    assert dropped[10:].max() > dropped[10] + 1.5 and dropped[-1] < dropped[10] + 0.3


def test_grab_welds_are_built_inactive_for_every_grabbable_body() -> None:
    cm = compile_machine(place(HOOK))
    assert [cm.model.equality(e).name for e in range(cm.model.neq)] == ["grab9_0"]   # the bomb
    assert cm.model.eq_obj2id[0] == cm.block_body[BOMB] and not cm.model.eq_active0[0]
    static = compile_machine(place(HOOK), PhysicsParams(grab_static=True))
    assert static.model.neq == 2 and static.model.eq_obj2id[0] == 0                   # plus the world
    assert compile_machine(place(CAR)).model.neq == 0


def test_grabbing_leaves_a_shared_compiled_model_alone() -> None:
    cm = compile_machine(place(HOOK))
    before = cm.model.eq_data.copy()
    first = simulate(cm, duration=8.0, schedule=ControlSchedule(LIFT), record_every=0.1)
    assert np.array_equal(cm.model.eq_data, before) and not cm.model.eq_active0.any()
    again = simulate(cm, duration=8.0, schedule=ControlSchedule(LIFT), record_every=0.1)
    assert np.array_equal(first.positions, again.positions)        # deterministic, no leftovers


def test_grab_survives_a_recompile() -> None:
    # fire a second decoupler (dropping the counterweight) while the bomb hangs on the hook
    tree = [*HOOK[:13], {"id": "4", "order_id": 13, "parent": 2, "bp_id": 9},
            {"id": "35", "order_id": 14, "parent": 13, "bp_id": 0}]
    ep = simulate(place(tree), duration=8.0, schedule=ControlSchedule({**LIFT, "K": ((7.0, 7.05),)}),
                  bindings={13: {"detach": "K"}}, record_every=0.1)
    assert ep.recompiles == 2
    y = ep.positions[:, BOMB, 1]
    assert y[-1] > y[10] + 1.0


def test_grab_checks_look_at_contacts_only_near_a_grabbable_body(monkeypatch: pytest.MonkeyPatch) -> None:
    # contacts are scanned only while the bomb could be within reach of the hook, and nothing once
    # the hook holds it; the grab happens as with a scan every grab_check_every steps
    from brickfield.machines.sim import controls

    scans: list[float] = []
    scan = controls.GrabberRuntime._scan

    def counted(self: controls.GrabberRuntime, m: mujoco.MjModel, d: mujoco.MjData) -> None:
        scans.append(float(d.time))
        scan(self, m, d)

    monkeypatch.setattr(controls.GrabberRuntime, "_scan", counted)
    heights, counts = [], []
    for params in (PhysicsParams(), PhysicsParams(grab_reach_accel=1e12)):    # gated, always near
        scans.clear()
        ep = simulate(place(HOOK), duration=8.0, schedule=ControlSchedule(LIFT), params=params,
                      record_every=0.1)
        heights.append(ep.positions[:, BOMB, 1])
        counts.append(len(scans))
        assert scans and max(scans) < 3.0                 # the hook reaches the bomb at ~2.5 s
    assert counts[0] < 40 < 200 < counts[1]               # near the bomb only vs every 2 steps
    assert np.allclose(heights[0], heights[1], atol=0.05)
