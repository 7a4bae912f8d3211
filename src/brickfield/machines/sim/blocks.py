"""How each block type becomes MuJoCo geometry and joints (used by ``sim.compile.compile_machine``).

Roles refine the catalog's ``BlockKind`` per type id (hinge axis, steering, suspension, wheel
motor...). Geometry is built in the block's own frame (MuJoCo axes via ``frames``), with colliders
shrunk by ``PhysicsParams.collider_gap`` so that attached blocks never start in contact.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import mujoco
import numpy as np

from brickfield.machines.design.types import BlockKind, BlockSpec, Collider
from brickfield.machines.sim.frames import besiege_to_mj_vec
from brickfield.machines.sim.params import PhysicsParams


class Role(StrEnum):
    """How a block type is modelled (finer than ``BlockKind``)."""

    ROOT = "root"
    RIGID = "rigid"
    CONTAINER = "container"
    HINGE = "hinge"              # passive, +-90 deg about local x
    STEER_HINGE = "steer_hinge"  # position-servoed, +-90 deg about local y
    STEER_BLOCK = "steer_block"  # position-servoed about local z
    SWIVEL = "swivel"            # free rotation about local z
    BALL = "ball"                # ball joint at the block centre (ball joint, axle linkage)
    CASTER = "caster"            # small / roller wheel: ball joint, sphere collider
    SUSPENSION = "suspension"    # spring-damper slider along local z
    POWERED_WHEEL = "powered_wheel"
    FREE_WHEEL = "free_wheel"
    SPINNING = "spinning"        # velocity motor about local z
    LOOSE = "loose"
    BRACE = "brace"
    BAND = "band"                # contracting tendon while its key is held
    WINCH = "winch"              # rope of variable length (reels in / pays out on its keys)
    DECOUPLER = "decoupler"      # rigid until its key fires it: its children come off
    GRABBER = "grabber"          # rigid; welds to what touches its front, releases on its key


_ROLE_BY_TYPE: dict[str, Role] = {
    "0": Role.ROOT, "30": Role.CONTAINER, "5": Role.HINGE, "28": Role.STEER_HINGE,
    "13": Role.STEER_BLOCK, "19": Role.SWIVEL, "44": Role.BALL, "76": Role.BALL,
    "50": Role.CASTER, "86": Role.CASTER, "16": Role.SUSPENSION, "2": Role.POWERED_WHEEL,
    "46": Role.POWERED_WHEEL, "40": Role.FREE_WHEEL, "60": Role.FREE_WHEEL, "22": Role.SPINNING,
    "39": Role.SPINNING, "36": Role.LOOSE, "23": Role.LOOSE, "7": Role.BRACE, "9": Role.BAND,
    "45": Role.WINCH, "4": Role.DECOUPLER, "27": Role.GRABBER,
    "18": Role.RIGID, "18_1": Role.RIGID,   # pistons: not actuated (no task uses them)
}
_ROLE_BY_KIND = {BlockKind.ROOT: Role.ROOT, BlockKind.RIGID: Role.RIGID, BlockKind.JOINT: Role.HINGE,
                 BlockKind.POWERED: Role.SPINNING, BlockKind.WHEEL: Role.FREE_WHEEL,
                 BlockKind.LINEAR: Role.BRACE, BlockKind.LOOSE: Role.LOOSE}
ARTICULATED = frozenset({Role.HINGE, Role.STEER_HINGE, Role.STEER_BLOCK, Role.SWIVEL, Role.BALL,
                         Role.CASTER, Role.SUSPENSION, Role.POWERED_WHEEL, Role.FREE_WHEEL,
                         Role.SPINNING})
LINEAR_ROLES = frozenset({Role.BRACE, Role.BAND, Role.WINCH})


def role_of(type_id: str, spec: BlockSpec | None = None) -> Role:
    """The physical role of a block type (type table first, then the catalog's kind)."""
    if type_id in _ROLE_BY_TYPE:
        return _ROLE_BY_TYPE[type_id]
    return _ROLE_BY_KIND.get(spec.kind, Role.RIGID) if spec is not None else Role.RIGID


_Q_Z_TO_Y = np.array([np.sqrt(0.5), -np.sqrt(0.5), 0.0, 0.0])  # MuJoCo z -> MuJoCo y (Besiege z)
_Q_Z_TO_X = np.array([np.sqrt(0.5), 0.0, np.sqrt(0.5), 0.0])   # MuJoCo z -> MuJoCo x (Besiege x)
_GEOM = mujoco.mjtGeom
_TYRE_SOLMIX = 1000.0
"""``solmix`` of wheel colliders: MuJoCo mixes two geoms' ``solimp`` in proportion to their
``solmix`` (default 1), so a tyre's softness governs its contacts (weight 0.999)."""


def _add_geom(body: mujoco.MjsBody, gtype: mujoco.mjtGeom, size: Iterable[float], pos: np.ndarray,
              mass: float, friction: float, params: PhysicsParams, quat: np.ndarray | None = None,
              collide: bool = True, name: str = "") -> mujoco.MjsGeom:
    g = body.add_geom(type=gtype, size=list(size), pos=list(pos), mass=float(mass),
                      friction=[friction, params.torsional_friction, params.rolling_friction])
    if name:
        g.name = name
    if quat is not None:
        g.quat = list(quat)
    if not collide:
        g.contype = 0
        g.conaffinity = 0
    return g


def add_block_geoms(body: mujoco.MjsBody, idx: int, role: Role, spec: BlockSpec,
                     params: PhysicsParams) -> None:
    """Colliders of one block in its body frame (MuJoCo axes of the block frame)."""
    gap = params.collider_gap
    centre = besiege_to_mj_vec(spec.center)
    mass = max(spec.mass, 1e-3)
    fr = params.wheel_friction if role in (Role.POWERED_WHEEL, Role.FREE_WHEEL, Role.CASTER) \
        else params.block_friction
    name = f"g{idx}"
    if role is Role.CONTAINER:
        _add_container(body, idx, spec, mass, params)
        return
    if role in (Role.HINGE, Role.STEER_HINGE):
        # a cylinder around the joint axis: it never sweeps into the parent when the joint turns
        r = 0.5 * min(spec.size[1], spec.size[2]) - gap
        half = 0.5 * spec.size[0] - gap
        q = _Q_Z_TO_X if role is Role.HINGE else None  # steer hinge axis = Besiege y = MuJoCo z
        _add_geom(body, _GEOM.mjGEOM_CYLINDER, [r, half, 0], centre, mass, fr, params, q, name=name)
        return
    if role is Role.CASTER:
        r = 0.5 * min(spec.size) - gap
        _add_geom(body, _GEOM.mjGEOM_SPHERE, [max(r, 0.05), 0, 0], centre, mass, fr, params, name=name)
        return
    if role is Role.SUSPENSION:
        # only the moving outer half collides, so compressing never hits the parent
        sx, sy, sz = spec.size
        half = [0.5 * sx - gap, 0.25 * sz - gap, 0.5 * sy - gap]  # MuJoCo axes: x, z_b, y_b
        _add_geom(body, _GEOM.mjGEOM_BOX, half, besiege_to_mj_vec((0, 0, 0.75 * sz)), mass, fr, params,
                  name=name)
        return
    if role is Role.LOOSE:
        r = (spec.collider_size[0] if spec.collider_size else 0.5 * min(spec.size)) - gap
        body.add_geom(name=name, type=_GEOM.mjGEOM_SPHERE, size=[max(r, 0.05), 0, 0],
                          pos=list(centre), mass=mass, condim=6,
                          friction=[fr, params.torsional_friction, params.loose_rolling_friction])
        return
    csize = tuple(spec.collider_size) if spec.collider_size else tuple(spec.size)
    if spec.collider is Collider.CYLINDER and len(csize) >= 2:
        g = _add_geom(body, _GEOM.mjGEOM_CYLINDER, [csize[0] - gap, 0.5 * csize[1] - gap, 0], centre,
                      mass, fr, params, _Q_Z_TO_Y, name=name)
        if role in (Role.POWERED_WHEEL, Role.FREE_WHEEL):   # compliant tyre (wheel_solimp)
            g.solimp = list(params.wheel_solimp)
            g.solmix = _TYRE_SOLMIX
    elif spec.collider is Collider.SPHERE:
        _add_geom(body, _GEOM.mjGEOM_SPHERE, [csize[0] - gap, 0, 0], centre, mass, fr, params, name=name)
    else:
        ext = csize if len(csize) == 3 else tuple(spec.size)
        half = besiege_to_mj_vec([max(0.5 * e - gap, 0.01) for e in ext])
        _add_geom(body, _GEOM.mjGEOM_BOX, half, centre, mass, fr, params,
                  collide=spec.collider is not Collider.NONE, name=name)


def _add_container(body: mujoco.MjsBody, idx: int, spec: BlockSpec, mass: float,
                   params: PhysicsParams) -> None:
    """Container (30): a 1x1x1 mount, a floor plate at local z = 1 and a rim 1 m high.

    The catalog outline is 2.4 x 3 x 2.8 with the attach/boulder point at (0, 0, 1): the boulder
    (d = 1.9) rests on the floor and the rim holds it while the arm swings."""
    gap = params.collider_gap
    w, h = spec.size[0], spec.size[1]
    t, rim = 0.1, 1.0
    parts = [  # (centre, full size) in Besiege block coordinates
        ((0, 0, 0.5), (1.0, 1.0, 1.0)),
        ((0, 0, 1.0 - t / 2), (w, h, t)),
        ((-(w - t) / 2, 0, 1.0 + rim / 2), (t, h, rim)),
        (((w - t) / 2, 0, 1.0 + rim / 2), (t, h, rim)),
        ((0, -(h - t) / 2, 1.0 + rim / 2), (w, t, rim)),
        ((0, (h - t) / 2, 1.0 + rim / 2), (w, t, rim)),
    ]
    for k, (c, size) in enumerate(parts):
        half = besiege_to_mj_vec([max(0.5 * s - (gap if k == 0 else 0.0), 0.01) for s in size])
        if k == 1:  # the floor's top face sits exactly at local z = 1 (the boulder's attach point)
            c = (0, 0, 1.0 - t / 2)
        _add_geom(body, _GEOM.mjGEOM_BOX, half, besiege_to_mj_vec(c), mass / len(parts),
                  params.block_friction, params, name=f"g{idx}_{k}")


def add_joint(spec: mujoco.MjSpec, body: mujoco.MjsBody, idx: int, role: Role, bspec: BlockSpec,
               params: PhysicsParams, flipped: bool, base_ctrl: list[float]) -> None:
    """The joint (and actuator) of an articulated block, in its body frame."""
    jt = mujoco.mjtJoint
    centre = besiege_to_mj_vec(bspec.center)
    z_axis = besiege_to_mj_vec((0, 0, 1))
    name = f"j{idx}"
    rng = np.deg2rad(params.hinge_range_deg)
    lim = mujoco.mjtLimited.mjLIMITED_TRUE
    damping = [params.joint_damping, 0, 0]
    if role in (Role.HINGE, Role.STEER_HINGE):
        axis = besiege_to_mj_vec((1, 0, 0) if role is Role.HINGE else (0, 1, 0))
        body.add_joint(name=name, type=jt.mjJNT_HINGE, axis=list(axis), pos=list(centre),
                       range=[-rng, rng], limited=lim, damping=damping)
    elif role in (Role.SWIVEL, Role.STEER_BLOCK, Role.POWERED_WHEEL, Role.FREE_WHEEL, Role.SPINNING):
        body.add_joint(name=name, type=jt.mjJNT_HINGE, axis=list(z_axis), pos=[0, 0, 0],
                       damping=damping if role is not Role.POWERED_WHEEL else [0, 0, 0])
    elif role in (Role.BALL, Role.CASTER):
        body.add_joint(name=name, type=jt.mjJNT_BALL, pos=list(centre), damping=damping)
    elif role is Role.SUSPENSION:
        body.add_joint(name=name, type=jt.mjJNT_SLIDE, axis=list(z_axis), pos=[0, 0, 0],
                       range=[-params.suspension_travel, params.suspension_travel], limited=lim,
                       stiffness=[params.suspension_stiffness, 0, 0],
                       damping=[params.suspension_damping, 0, 0])
    if role in (Role.POWERED_WHEEL, Role.SPINNING):
        wheel = role is Role.POWERED_WHEEL
        large = wheel and max(bspec.size) >= 3.0
        kv = params.wheel_kv if wheel else params.spinning_kv
        torque = (params.large_wheel_torque if large else params.wheel_torque) if wheel \
            else params.spinning_torque
        a = spec.add_actuator(name=f"a{idx}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        a.set_to_velocity(kv=kv)
        a.forcelimited = lim
        a.forcerange = [-torque, torque]
        on = wheel or params.spinning_automatic
        base_ctrl.append(forward_ctrl(role, flipped, params) if on else 0.0)
    elif role in (Role.STEER_HINGE, Role.STEER_BLOCK):
        # integrated-velocity servo: ctrl = turn rate (+-steering_speed while a key is held), the
        # actuator state = target angle (kept when the key is released), force = kp (target - q)
        # - kv qdot. A steering hinge's target is clamped to its joint range; a steering block
        # turns without limit.
        a = spec.add_actuator(name=f"a{idx}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        a.dyntype = mujoco.mjtDyn.mjDYN_INTEGRATOR
        a.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        a.gainprm = [params.steering_kp] + [0.0] * 9
        a.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        a.biasprm = [0.0, -params.steering_kp, -params.steering_kv] + [0.0] * 7
        a.ctrllimited = lim
        a.ctrlrange = [-params.steering_speed, params.steering_speed]
        if role is Role.STEER_HINGE:
            a.actlimited = lim
            a.actrange = [-rng, rng]
        a.forcelimited = lim
        a.forcerange = [-params.steering_torque, params.steering_torque]
        base_ctrl.append(0.0)


def forward_ctrl(role: Role, flipped: bool, params: PhysicsParams) -> float:
    """Velocity target (rad/s) of a powered wheel or spinning block driving "forward".

    A positive spin about the wheel's facing axis pushes the machine towards -z for wheels facing
    x+, so unflipped wheels turn negative and flipped (x-) ones positive (derivation and check in
    tests/machines/test_physics.py); spinning blocks follow the same convention."""
    speed = params.wheel_speed if role is Role.POWERED_WHEEL else params.spinning_speed
    return speed if flipped else -speed


def add_winch(spec: mujoco.MjSpec, idx: int, length0: float, params: PhysicsParams) -> None:
    """Tendon ``t{idx}`` between sites ``s{idx}a``/``s{idx}b`` and its rope actuator ``a{idx}``.

    The rope is a one-sided stiff spring whose rest length is the actuator's state: it starts at
    the placed distance ``length0`` (state 0), changes at ``ctrl`` m/s (negative reels in, positive
    pays out) and is clamped to [``winch_min_length``, ``winch_max_length``]. Force
    ``k (length0 + act - length) - c lengthdot``, limited to ``[-winch_max_force, 0]``: a slack
    rope does nothing, a taut one only pulls."""
    t = spec.add_tendon(name=f"t{idx}")
    t.wrap_site(f"s{idx}a")
    t.wrap_site(f"s{idx}b")
    a = spec.add_actuator(name=f"a{idx}", target=f"t{idx}", trntype=mujoco.mjtTrn.mjTRN_TENDON)
    k, c = params.winch_stiffness, params.winch_damping
    a.dyntype = mujoco.mjtDyn.mjDYN_INTEGRATOR
    a.gaintype = mujoco.mjtGain.mjGAIN_FIXED
    a.gainprm = [k] + [0.0] * 9
    a.biastype = mujoco.mjtBias.mjBIAS_AFFINE
    a.biasprm = [k * length0, -k, -c] + [0.0] * 7
    lim = mujoco.mjtLimited.mjLIMITED_TRUE
    a.ctrllimited = lim
    a.ctrlrange = [-params.winch_speed, params.winch_speed]
    a.actlimited = lim
    lo = min(params.winch_min_length, length0)
    a.actrange = [lo - length0, max(params.winch_max_length, length0) - length0]
    a.forcelimited = lim
    a.forcerange = [-params.winch_max_force, 0.0]


def add_grab_welds(spec: mujoco.MjSpec, grabbers: Iterable[int], targets: Iterable[str],
                   params: PhysicsParams) -> None:
    """One inactive weld ``grab{g}_{k}`` from grabber block ``g``'s body to each target body.

    ``targets`` are body names (``"world"`` for static geometry). ``controls.GrabberRuntime``
    activates a weld when the grabber's front touches that body, after writing the current
    relative pose into ``eq_data`` (anchor 0, relpose = the target's pose in the grabber frame)."""
    targets = list(targets)
    for g in grabbers:
        for k, name in enumerate(targets):
            e = spec.add_equality(name=f"grab{g}_{k}", type=mujoco.mjtEq.mjEQ_WELD, name1=f"b{g}",
                                  name2=name, objtype=mujoco.mjtObj.mjOBJ_BODY,
                                  solref=list(params.grab_solref))
            e.active = False
            e.data = [0.0] * len(e.data)   # anchor 0; relpose written when the grab happens
            e.data[10] = 1.0               # torquescale
