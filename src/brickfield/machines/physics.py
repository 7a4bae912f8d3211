"""Compile a placed machine into a MuJoCo model (``mujoco.MjSpec``).

Frames. Besiege is left-handed with x right, y up, z forward; MuJoCo is right-handed with z up.
The ONE conversion used everywhere is the axis swap ``S = (x, y, z) -> (x, z, y)``: MuJoCo x is
Besiege x (right), MuJoCo y is Besiege z (forward), MuJoCo z is Besiege y (up). ``S`` is a
reflection, which is exactly what turns the left-handed frame into a right-handed one. A rotation
matrix maps as ``R_m = S R_b S``; for a quaternion with axis ``v`` and angle ``t`` that is the
rotation about ``S v`` by ``-t``, i.e. Besiege ``[x, y, z, w]`` -> MuJoCo ``[w, -x, -z, -y]``
(``besiege_to_mj_quat``; the inverse is ``mj_to_besiege_quat``). Block-local offsets map with the
same ``S``, so a body's frame in MuJoCo is exactly its block frame (origin = connection point).

Bodies. Every block is one body. A rigid attachment is a jointless child body (``fused`` mode,
one rigid group = one set of 6 dofs) or a free body held by a breakable weld (``welded`` mode).
Joint blocks hang from their parent's body with the joint of their type; loose blocks (boulder,
bomb) are free bodies; linear blocks add a weld (brace) or a tendon plus actuator (rubber band,
winch) between the bodies of their two parents. Blocks listed in ``detached`` are compiled as free
bodies: that is how a broken connection is represented after a recompile.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import mujoco
import numpy as np

from brickfield.machines.levels import Box
from brickfield.machines.physics_params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.types import BlockKind, BlockSpec, Collider, PlacedMachine

# ---------------------------------------------------------------------------------------------
# Coordinate conversion: the only place where Besiege and MuJoCo frames meet.
# ---------------------------------------------------------------------------------------------
_SWAP = [0, 2, 1]


def besiege_to_mj_vec(v: np.ndarray | Iterable[float]) -> np.ndarray:
    """Besiege (x right, y up, z forward) -> MuJoCo (x, y=forward, z=up); works on (..., 3)."""
    return np.asarray(v, dtype=float)[..., _SWAP]


def mj_to_besiege_vec(v: np.ndarray | Iterable[float]) -> np.ndarray:
    """Inverse of ``besiege_to_mj_vec`` (the swap is its own inverse)."""
    return np.asarray(v, dtype=float)[..., _SWAP]


def besiege_to_mj_quat(q: np.ndarray | Iterable[float]) -> np.ndarray:
    """Besiege quaternion [x, y, z, w] -> MuJoCo quaternion [w, x, y, z]; works on (..., 4)."""
    q = np.asarray(q, dtype=float)
    return np.stack([q[..., 3], -q[..., 0], -q[..., 2], -q[..., 1]], axis=-1)


def mj_to_besiege_quat(q: np.ndarray | Iterable[float]) -> np.ndarray:
    """MuJoCo quaternion [w, x, y, z] -> Besiege [x, y, z, w]; works on (..., 4)."""
    q = np.asarray(q, dtype=float)
    return np.stack([-q[..., 1], -q[..., 3], -q[..., 2], q[..., 0]], axis=-1)


def _quat_conj(q: np.ndarray) -> np.ndarray:
    return np.array([q[0], -q[1], -q[2], -q[3]])


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(4)
    mujoco.mju_mulQuat(out, np.asarray(a, float), np.asarray(b, float))
    return out


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.zeros(3)
    mujoco.mju_rotVecQuat(out, np.asarray(v, float), np.asarray(q, float))
    return out


# ---------------------------------------------------------------------------------------------
# Block roles
# ---------------------------------------------------------------------------------------------
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
    WINCH = "winch"


_ROLE_BY_TYPE: dict[str, Role] = {
    "0": Role.ROOT, "30": Role.CONTAINER, "5": Role.HINGE, "28": Role.STEER_HINGE,
    "13": Role.STEER_BLOCK, "19": Role.SWIVEL, "44": Role.BALL, "76": Role.BALL,
    "50": Role.CASTER, "86": Role.CASTER, "16": Role.SUSPENSION, "2": Role.POWERED_WHEEL,
    "46": Role.POWERED_WHEEL, "40": Role.FREE_WHEEL, "60": Role.FREE_WHEEL, "22": Role.SPINNING,
    "39": Role.SPINNING, "36": Role.LOOSE, "23": Role.LOOSE, "7": Role.BRACE, "9": Role.BAND,
    "45": Role.WINCH,
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


# ---------------------------------------------------------------------------------------------
# Compiled machine
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Connection:
    """A breakable connection: block ``block`` held to ``parent`` (list indices)."""

    block: int
    parent: int
    kind: str                    # "tree" (fused/joint: force/torque sensors) | "weld" (equality)
    body: int                    # MuJoCo body of the block side
    eq: int                      # equality id for welds, -1 otherwise
    force_limit: float
    torque_limit: float
    force_sensor: int = -1       # tree connections: sensor ids (site at the connection point)
    torque_sensor: int = -1


@dataclass
class CompiledMachine:
    """A MuJoCo model plus the mapping back to the machine's blocks."""

    model: mujoco.MjModel
    spec: mujoco.MjSpec
    placed: PlacedMachine
    params: PhysicsParams
    obstacles: tuple[Box, ...]
    catalog: Mapping[str, BlockSpec]
    detached: frozenset[int]
    roles: tuple[Role, ...]
    block_body: np.ndarray                       # (N,) body id, -1 for linear blocks
    block_geoms: tuple[tuple[int, ...], ...]     # geom ids per block
    loose: np.ndarray                            # (N,) bool: position recorded at the COM
    linear_sites: dict[int, tuple[int, int]]     # linear block -> (site A, site B)
    base_ctrl: np.ndarray                        # (nu,) controls applied from t=0
    key_actuators: dict[str, np.ndarray]         # key -> actuator ids driven while held
    connections: tuple[Connection, ...]
    compile_s: float

    _spare: list[mujoco.MjData] = field(default_factory=list, repr=False)

    @property
    def n_blocks(self) -> int:
        return len(self.placed.blocks)

    def make_data(self) -> mujoco.MjData:
        """A fresh ``MjData`` (reset, recycled from ``release_data`` when possible: allocating one
        costs ~0.4 ms, a sizeable share of a 5 s episode). Thread-safe: list pop/append are atomic."""
        try:
            d = self._spare.pop()
        except IndexError:
            return mujoco.MjData(self.model)
        mujoco.mj_resetData(self.model, d)
        return d

    def release_data(self, d: mujoco.MjData) -> None:
        """Give ``d`` back for reuse by ``make_data``."""
        if len(self._spare) < 4:
            self._spare.append(d)

    def ctrl_for(self, held: Iterable[str]) -> np.ndarray:
        """Control vector with ``held`` keys pressed (band actuators take 1 while held)."""
        ctrl = self.base_ctrl.copy()
        for key in held:
            ids = self.key_actuators.get(key)
            if ids is not None:
                ctrl[ids] = 1.0
        return ctrl


def default_catalog() -> Mapping[str, BlockSpec]:
    """The project's block catalog (``brickfield.machines.catalog``)."""
    from brickfield.machines import catalog as cat

    for name in ("CATALOG", "BLOCKS", "BLOCK_SPECS"):
        table = getattr(cat, name, None)
        if isinstance(table, Mapping):
            return table
    getter = getattr(cat, "get_catalog", None) or getattr(cat, "load_catalog", None)
    if getter is None:
        raise ImportError("brickfield.machines.catalog exposes no catalog mapping")
    return getter()


# ---------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------
_Q_Z_TO_Y = np.array([np.sqrt(0.5), -np.sqrt(0.5), 0.0, 0.0])  # MuJoCo z -> MuJoCo y (Besiege z)
_Q_Z_TO_X = np.array([np.sqrt(0.5), 0.0, np.sqrt(0.5), 0.0])   # MuJoCo z -> MuJoCo x (Besiege x)
_GEOM = mujoco.mjtGeom


def _add_geom(body: mujoco.MjsBody, gtype: mujoco.mjtGeom, size: Iterable[float], pos: np.ndarray,
              mass: float, friction: float, params: PhysicsParams, quat: np.ndarray | None = None,
              collide: bool = True, name: str = "") -> None:
    g = body.add_geom(type=gtype, size=list(size), pos=list(pos), mass=float(mass),
                      friction=[friction, params.torsional_friction, params.rolling_friction])
    if name:
        g.name = name
    if quat is not None:
        g.quat = list(quat)
    if not collide:
        g.contype = 0
        g.conaffinity = 0


def _add_block_geoms(body: mujoco.MjsBody, idx: int, role: Role, spec: BlockSpec,
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
        _add_geom(body, _GEOM.mjGEOM_CYLINDER, [csize[0] - gap, 0.5 * csize[1] - gap, 0], centre, mass,
                  fr, params, _Q_Z_TO_Y, name=name)
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


# ---------------------------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------------------------
def _add_joint(spec: mujoco.MjSpec, body: mujoco.MjsBody, idx: int, role: Role, bspec: BlockSpec,
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
        # Forward drive: a positive spin about the wheel's facing axis pushes the machine towards
        # -z for wheels facing x+, so unflipped wheels turn negative and flipped (x-) ones positive
        # (derivation and check in tests/machines/test_physics.py).
        speed = params.wheel_speed if wheel else params.spinning_speed
        on = wheel or params.spinning_automatic
        base_ctrl.append((speed if flipped else -speed) if on else 0.0)
    elif role in (Role.STEER_HINGE, Role.STEER_BLOCK):
        a = spec.add_actuator(name=f"a{idx}", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        a.set_to_position(kp=params.steering_kp)
        a.forcelimited = lim
        a.forcerange = [-params.steering_torque, params.steering_torque]
        base_ctrl.append(0.0)


def compile_machine(placed: PlacedMachine, params: PhysicsParams = DEFAULT_PARAMS,
                    obstacles: Iterable[Box] = (), catalog: Mapping[str, BlockSpec] | None = None,
                    detached: Iterable[int] = ()) -> CompiledMachine:
    """Build the MuJoCo model of ``placed`` (ground, obstacles, bodies, joints, actuators)."""
    t0 = time.perf_counter()
    catalog = default_catalog() if catalog is None else catalog
    detached = frozenset(detached)
    obstacles = tuple(obstacles)
    blocks = placed.blocks
    n = len(blocks)
    specs = [catalog[b.type_id] for b in blocks]
    roles = tuple(role_of(b.type_id, s) for b, s in zip(blocks, specs, strict=True))

    spec = mujoco.MjSpec()
    spec.modelname = "machine"
    spec.compiler.degree = False     # joint ranges below are in radians
    opt = spec.option
    opt.timestep = params.timestep
    opt.gravity = [0.0, 0.0, -params.gravity]
    opt.integrator = {"implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
                      "euler": mujoco.mjtIntegrator.mjINT_EULER,
                      "rk4": mujoco.mjtIntegrator.mjINT_RK4}[params.integrator]
    opt.iterations = params.solver_iterations
    # parent/child bodies must collide (a swinging arm hits its base); blocks never start in
    # contact thanks to the collider gap, and fused blocks share one rigid group (never collide)
    opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_FILTERPARENT
    spec.worldbody.add_geom(name="ground", type=_GEOM.mjGEOM_PLANE, size=[0, 0, 1],
                            friction=[params.ground_friction, params.torsional_friction,
                                      params.rolling_friction])
    for k, box in enumerate(obstacles):
        g = spec.worldbody.add_geom(name=box.name or f"obstacle{k}", type=_GEOM.mjGEOM_BOX,
                                    size=list(besiege_to_mj_vec(box.size) / 2),
                                    pos=list(besiege_to_mj_vec(box.center)),
                                    quat=list(besiege_to_mj_quat(box.rotation)))
        fr = params.obstacle_friction if box.friction is None else box.friction
        g.friction = [fr, params.torsional_friction, params.rolling_friction]
        g.priority = 1  # the obstacle's friction wins over the block's (MuJoCo default is max)

    pos_w = besiege_to_mj_vec([b.position for b in blocks])
    quat_w = besiege_to_mj_quat([b.rotation for b in blocks])
    bodies: list[mujoco.MjsBody | None] = [None] * n
    group = list(range(n))          # rigid group representative (for brace welds)
    base_ctrl: list[float] = []
    welds: list[tuple[int, int]] = []   # (block, parent) in welded mode
    tree_conn: list[tuple[int, int]] = []
    for i, (b, s, role) in enumerate(zip(blocks, specs, roles, strict=True)):
        if role in LINEAR_ROLES:
            continue
        p = b.parents[0] if b.parents else -1
        free = i == 0 or role is Role.LOOSE or i in detached or p < 0 or bodies[p] is None
        weld = not free and role not in ARTICULATED and params.connection_mode == "welded"
        if free or weld:
            body = spec.worldbody.add_body(name=f"b{i}", pos=list(pos_w[i]), quat=list(quat_w[i]))
            body.add_freejoint(name=f"f{i}")
            if weld:
                welds.append((i, p))
        else:
            parent_body = bodies[p]
            qp = quat_w[p]
            rel_pos = _rotate(_quat_conj(qp), pos_w[i] - pos_w[p])
            rel_quat = _quat_mul(_quat_conj(qp), quat_w[i])
            body = parent_body.add_body(name=f"b{i}", pos=list(rel_pos), quat=list(rel_quat))
            tree_conn.append((i, p))
            if role in ARTICULATED:
                _add_joint(spec, body, i, role, s, params, b.flipped, base_ctrl)
            else:
                group[i] = group[p]
        bodies[i] = body
        _add_block_geoms(body, i, role, s, params)

    # linear blocks
    weld_braces: list[tuple[int, int, int]] = []
    band_ids: list[int] = []
    for i, (b, role) in enumerate(zip(blocks, roles, strict=True)):
        if role not in LINEAR_ROLES or len(b.parents) < 2 or b.position_b is None:
            continue
        pa, pb = b.parents[0], b.parents[1]
        if bodies[pa] is None or bodies[pb] is None:
            continue
        ends = besiege_to_mj_vec([b.position, b.position_b])
        for end, par, tag in ((ends[0], pa, "a"), (ends[1], pb, "b")):
            local = _rotate(_quat_conj(quat_w[par]), end - pos_w[par])
            site = bodies[par].add_site(name=f"s{i}{tag}", pos=list(local))
            site.size = [0.05, 0, 0]
        if role is Role.BRACE:
            la = _rotate(_quat_conj(quat_w[pa]), ends[0] - pos_w[pa])
            lb = _rotate(_quat_conj(quat_w[pa]), ends[1] - pos_w[pa])
            g = bodies[pa].add_geom(type=_GEOM.mjGEOM_CAPSULE, size=[0.1, 0, 0],
                                    fromto=list(la) + list(lb), mass=max(specs[i].mass, 1e-3))
            g.contype = g.conaffinity = 0
            if group[pa] != group[pb] or params.connection_mode == "welded":
                weld_braces.append((i, pa, pb))
        else:
            t = spec.add_tendon(name=f"t{i}")
            t.wrap_site(f"s{i}a")
            t.wrap_site(f"s{i}b")
            a = spec.add_actuator(name=f"a{i}", target=f"t{i}", trntype=mujoco.mjtTrn.mjTRN_TENDON)
            a.gaintype = mujoco.mjtGain.mjGAIN_AFFINE
            k, c = params.band_stiffness, params.band_damping
            a.gainprm = [k * params.band_rest_length, -k, -c] + [0.0] * 7
            a.biastype = mujoco.mjtBias.mjBIAS_NONE
            a.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
            a.ctrlrange = [0.0, 1.0]
            a.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            a.forcerange = [-params.band_max_force, 0.0]   # a band only pulls
            band_ids.append(len(base_ctrl))
            base_ctrl.append(0.0)

    # Load sensors on every breakable tree connection: a site at the child's origin (= the
    # connection point) with a force and a torque sensor, i.e. the interaction wrench between the
    # block and its parent computed by MuJoCo each step. A history of ``break_check_every`` samples
    # lets the simulator see every step's load while reading it only once per check.
    nsample = max(int(params.break_check_every), 1)
    if params.breakable:
        for i, _p in tree_conn:
            site = bodies[i].add_site(name=f"c{i}", pos=[0, 0, 0])
            site.size = [0.02, 0, 0]
            for kind, stype in (("F", mujoco.mjtSensor.mjSENS_FORCE), ("T", mujoco.mjtSensor.mjSENS_TORQUE)):
                spec.add_sensor(name=f"{kind}{i}", type=stype, objtype=mujoco.mjtObj.mjOBJ_SITE,
                                objname=f"c{i}", nsample=nsample)

    eq_info: list[tuple[int, int, str]] = []   # (block, other block, type for thresholds)
    for i, p in welds:
        spec.add_equality(name=f"w{i}", type=mujoco.mjtEq.mjEQ_WELD, name1=f"b{i}", name2=f"b{p}",
                          objtype=mujoco.mjtObj.mjOBJ_BODY, solref=list(params.weld_solref))
        spec.add_exclude(bodyname1=f"b{i}", bodyname2=f"b{p}")
        eq_info.append((i, p, blocks[i].type_id))
    for i, pa, pb in weld_braces:
        # anchored at end B in body A's frame so the weld holds the placed pose
        spec.add_equality(name=f"w{i}", type=mujoco.mjtEq.mjEQ_WELD, name1=f"b{pa}", name2=f"b{pb}",
                          objtype=mujoco.mjtObj.mjOBJ_BODY, solref=list(params.weld_solref))
        eq_info.append((i, pa, blocks[i].type_id))

    model = spec.compile()
    block_body = np.full(n, -1, dtype=int)
    geoms: list[tuple[int, ...]] = []
    for i in range(n):
        if bodies[i] is not None:
            block_body[i] = model.body(f"b{i}").id
    geom_body = model.geom_bodyid
    for i in range(n):
        geoms.append(tuple(int(g) for g in np.flatnonzero(geom_body == block_body[i]))
                     if block_body[i] >= 0 else ())
    site_names = {model.site(k).name for k in range(model.nsite)}
    linear_sites = {i: (model.site(f"s{i}a").id, model.site(f"s{i}b").id)
                    for i, r in enumerate(roles) if r in LINEAR_ROLES and f"s{i}a" in site_names}
    key_actuators: dict[str, np.ndarray] = {}
    if band_ids:
        key_actuators[params.band_key] = np.array(band_ids, dtype=int)
    conns: list[Connection] = []
    if params.breakable:
        for i, p in tree_conn:
            fl, tl = params.threshold(blocks[i].type_id)
            conns.append(Connection(i, p, "tree", int(block_body[i]), -1, fl, tl,
                                    model.sensor(f"F{i}").id, model.sensor(f"T{i}").id))
        for i, p, type_id in eq_info:
            fl, tl = params.threshold(type_id)
            conns.append(Connection(i, p, "weld", int(block_body[i]) if block_body[i] >= 0 else -1,
                                    model.equality(f"w{i}").id, fl, tl))
    return CompiledMachine(
        model=model, spec=spec, placed=placed, params=params, obstacles=obstacles, catalog=catalog,
        detached=detached, roles=roles, block_body=block_body, block_geoms=tuple(geoms),
        loose=np.array([r is Role.LOOSE for r in roles], dtype=bool), linear_sites=linear_sites,
        base_ctrl=np.array(base_ctrl, dtype=float), key_actuators=key_actuators,
        connections=tuple(conns), compile_s=time.perf_counter() - t0)


def to_mjcf(compiled: CompiledMachine) -> str:
    """MJCF XML of a compiled machine (``MjSpec.to_xml``)."""
    return compiled.spec.to_xml()
