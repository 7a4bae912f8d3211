"""Compile a placed machine into a MuJoCo model (``mujoco.MjSpec``).

Frames: Besiege -> MuJoCo goes through ``brickfield.machines.sim.frames`` only (the axis swap
``(x, y, z) -> (x, z, y)``, Besiege ``[x, y, z, w]`` -> MuJoCo ``[w, -x, -z, -y]``); the
conversion functions are re-exported here.

Bodies. Every block is one body. A rigid attachment is a jointless child body (``fused`` mode,
one rigid group = one set of 6 dofs) or a free body held by a breakable weld (``welded`` mode).
Joint blocks hang from their parent's body with the joint of their type; loose blocks (boulder,
bomb) are free bodies; linear blocks add a weld (brace) or a tendon plus actuator (rubber band,
winch) between the bodies of their two parents. Breakable fused/joint connections get a force and
a torque sensor at the connection point; blocks listed in ``detached`` are compiled as free bodies,
which is how a broken connection is represented after a recompile (``simulate``).

World. The ground, the level's obstacles and its loose objects (goal objects such as the iron ore,
dynamic obstacles) come from ``world.add_world``, the one builder of level geometry. Wind is a
constant force (mass x acceleration) on loose blocks, loose objects and optionally every block,
prepared here and applied by ``CompiledMachine.apply_world_forces``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from brickfield.machines.design.types import BlockSpec, PlacedMachine
from brickfield.machines.levels.registry import Box, Level
from brickfield.machines.levels.schema import Primitive
from brickfield.machines.sim.blocks import (
    ARTICULATED,
    LINEAR_ROLES,
    Role,
    add_block_geoms,
    add_grab_welds,
    add_joint,
    add_winch,
    role_of,
)
from brickfield.machines.sim.frames import (
    besiege_to_mj_quat,
    besiege_to_mj_vec,
    mj_to_besiege_quat,
    mj_to_besiege_vec,
    quat_conj,
    quat_mul,
    rotate,
)
from brickfield.machines.sim.params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.sim.world import WorldObject, add_world, wind_acceleration

__all__ = ["CompiledMachine", "Connection", "Role", "besiege_to_mj_quat", "besiege_to_mj_vec",
           "compile_machine", "default_catalog", "mj_to_besiege_quat", "mj_to_besiege_vec", "role_of",
           "to_mjcf"]

_GEOM = mujoco.mjtGeom

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
    obstacles: tuple[Box | Primitive, ...]       # extra obstacles passed besides the level's
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
    level: Level | None = None
    objects: tuple[WorldObject, ...] = ()        # loose level objects (goal objects, dynamic obstacles)
    object_body: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    wind_body: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    wind_force: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))   # N, MuJoCo frame

    _spare: list[mujoco.MjData] = field(default_factory=list, repr=False)

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

    def apply_world_forces(self, d: mujoco.MjData) -> None:
        """Set the constant wind forces on ``d`` (``xfrc_applied`` persists across steps; call again
        on a fresh or recompiled ``MjData``)."""
        if len(self.wind_body):
            d.xfrc_applied[self.wind_body, :3] = self.wind_force

    def ctrl_for(self, held: Iterable[str]) -> np.ndarray:
        """Control vector with ``held`` keys pressed (band actuators take 1 while held)."""
        ctrl = self.base_ctrl.copy()
        for key in held:
            ids = self.key_actuators.get(key)
            if ids is not None:
                ctrl[ids] = 1.0
        return ctrl


def default_catalog() -> Mapping[str, BlockSpec]:
    """The project's block catalog (``brickfield.machines.design.catalog.BLOCKS``)."""
    from brickfield.machines.design.catalog import BLOCKS

    return BLOCKS


def _new_spec(params: PhysicsParams) -> mujoco.MjSpec:
    """An empty model with the simulation options of ``params``."""
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
    return spec


class _Build:
    """The stages of ``compile_machine``, sharing the model spec and the bookkeeping they fill in."""

    def __init__(self, spec: mujoco.MjSpec, placed: PlacedMachine, params: PhysicsParams,
                 catalog: Mapping[str, BlockSpec], detached: frozenset[int]) -> None:
        self.spec, self.placed, self.params, self.detached = spec, placed, params, detached
        self.blocks = placed.blocks
        n = len(self.blocks)
        self.specs = [catalog[b.type_id] for b in self.blocks]
        self.roles = tuple(role_of(b.type_id, s) for b, s in zip(self.blocks, self.specs, strict=True))
        self.pos_w = besiege_to_mj_vec([b.position for b in self.blocks])
        self.quat_w = besiege_to_mj_quat([b.rotation for b in self.blocks])
        self.bodies: list[mujoco.MjsBody | None] = [None] * n
        self.group = list(range(n))          # rigid group representative (for brace welds)
        self.base_ctrl: list[float] = []
        self.welds: list[tuple[int, int]] = []   # (block, parent) in welded mode
        self.tree_conn: list[tuple[int, int]] = []
        self.weld_braces: list[tuple[int, int, int]] = []
        self.band_ids: list[int] = []
        self.eq_info: list[tuple[int, int, str]] = []   # (block, other block, type for thresholds)

    def local(self, par: int, point: np.ndarray) -> np.ndarray:
        """``point`` (MuJoCo world) in the frame of block ``par``'s body."""
        return rotate(quat_conj(self.quat_w[par]), point - self.pos_w[par])

    def add_bodies(self) -> None:
        """A body per solid block: a free body for the root, loose and detached blocks (and every
        block in welded mode), else a child body of its parent, fused or joined by its joint."""
        spec, params, bodies = self.spec, self.params, self.bodies
        for i, (b, s, role) in enumerate(zip(self.blocks, self.specs, self.roles, strict=True)):
            if role in LINEAR_ROLES:
                continue
            p = b.parents[0] if b.parents else -1
            free = i == 0 or role is Role.LOOSE or i in self.detached or p < 0 or bodies[p] is None
            weld = not free and role not in ARTICULATED and params.connection_mode == "welded"
            if free or weld:
                body = spec.worldbody.add_body(name=f"b{i}", pos=list(self.pos_w[i]),
                                               quat=list(self.quat_w[i]))
                body.add_freejoint(name=f"f{i}")
                if weld:
                    self.welds.append((i, p))
            else:
                rel_quat = quat_mul(quat_conj(self.quat_w[p]), self.quat_w[i])
                body = bodies[p].add_body(name=f"b{i}", pos=list(self.local(p, self.pos_w[i])),  # type: ignore[union-attr]
                                          quat=list(rel_quat))
                self.tree_conn.append((i, p))
                if role in ARTICULATED:
                    add_joint(spec, body, i, role, s, params, b.flipped, self.base_ctrl)
                else:
                    self.group[i] = self.group[p]
            bodies[i] = body
            add_block_geoms(body, i, role, s, params)

    def add_linear_blocks(self) -> None:
        """Braces (a weld between their two ends' bodies), winches and rubber bands (tendons)."""
        spec, params, bodies = self.spec, self.params, self.bodies
        for i, (b, role) in enumerate(zip(self.blocks, self.roles, strict=True)):
            if role not in LINEAR_ROLES or len(b.parents) < 2 or b.position_b is None:
                continue
            pa, pb = b.parents[0], b.parents[1]
            if bodies[pa] is None or bodies[pb] is None:
                continue
            ends = besiege_to_mj_vec([b.position, b.position_b])
            for end, par, tag in ((ends[0], pa, "a"), (ends[1], pb, "b")):
                site = bodies[par].add_site(name=f"s{i}{tag}", pos=list(self.local(par, end)))  # type: ignore[union-attr]
                site.size = [0.05, 0, 0]
            if role is Role.BRACE:
                la, lb = self.local(pa, ends[0]), self.local(pa, ends[1])
                g = bodies[pa].add_geom(type=_GEOM.mjGEOM_CAPSULE, size=[0.1, 0, 0],  # type: ignore[union-attr]
                                        fromto=list(la) + list(lb), mass=max(self.specs[i].mass, 1e-3))
                g.contype = g.conaffinity = 0
                if self.group[pa] != self.group[pb] or params.connection_mode == "welded":
                    self.weld_braces.append((i, pa, pb))
            elif role is Role.WINCH:   # rope of variable length (sim.blocks.add_winch)
                add_winch(spec, i, float(np.linalg.norm(ends[1] - ends[0])), params)
                self.base_ctrl.append(0.0)
            else:
                self._add_band(i)

    def _add_band(self, i: int) -> None:
        params = self.params
        t = self.spec.add_tendon(name=f"t{i}")
        t.wrap_site(f"s{i}a")
        t.wrap_site(f"s{i}b")
        a = self.spec.add_actuator(name=f"a{i}", target=f"t{i}", trntype=mujoco.mjtTrn.mjTRN_TENDON)
        a.gaintype = mujoco.mjtGain.mjGAIN_AFFINE
        k, c = params.band_stiffness, params.band_damping
        a.gainprm = [k * params.band_rest_length, -k, -c] + [0.0] * 7
        a.biastype = mujoco.mjtBias.mjBIAS_NONE
        a.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        a.ctrlrange = [0.0, 1.0]
        a.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        a.forcerange = [-params.band_max_force, 0.0]   # a band only pulls
        self.band_ids.append(len(self.base_ctrl))
        self.base_ctrl.append(0.0)

    def add_load_sensors(self) -> None:
        """Load sensors on every breakable tree connection: a site at the child's origin (= the
        connection point) with a force and a torque sensor, i.e. the interaction wrench between the
        block and its parent computed by MuJoCo each step. A history of ``break_check_every``
        samples lets the simulator see every step's load while reading it only once per check."""
        if not self.params.breakable:
            return
        nsample = max(int(self.params.break_check_every), 1)
        for i, _p in self.tree_conn:
            site = self.bodies[i].add_site(name=f"c{i}", pos=[0, 0, 0])  # type: ignore[union-attr]
            site.size = [0.02, 0, 0]
            for kind, stype in (("F", mujoco.mjtSensor.mjSENS_FORCE), ("T", mujoco.mjtSensor.mjSENS_TORQUE)):
                self.spec.add_sensor(name=f"{kind}{i}", type=stype, objtype=mujoco.mjtObj.mjOBJ_SITE,
                                     objname=f"c{i}", nsample=nsample)

    def add_welds(self) -> None:
        """Equality welds of welded-mode connections and of braces between rigid groups."""
        spec, solref = self.spec, list(self.params.weld_solref)
        for i, p in self.welds:
            spec.add_equality(name=f"w{i}", type=mujoco.mjtEq.mjEQ_WELD, name1=f"b{i}", name2=f"b{p}",
                              objtype=mujoco.mjtObj.mjOBJ_BODY, solref=solref)
            spec.add_exclude(bodyname1=f"b{i}", bodyname2=f"b{p}")
            self.eq_info.append((i, p, self.blocks[i].type_id))
        for i, pa, pb in self.weld_braces:
            # no explicit relpose: MuJoCo welds the two bodies in their placed (qpos0) relative pose
            spec.add_equality(name=f"w{i}", type=mujoco.mjtEq.mjEQ_WELD, name1=f"b{pa}", name2=f"b{pb}",
                              objtype=mujoco.mjtObj.mjOBJ_BODY, solref=solref)
            self.eq_info.append((i, pa, self.blocks[i].type_id))

    def add_grabbers(self) -> None:
        """Inactive welds from each grabber to every body it may grab (controls.GrabberRuntime toggles)."""
        roles = self.roles
        grabbers = [i for i, r in enumerate(roles) if r is Role.GRABBER and self.bodies[i] is not None]
        if not grabbers:
            return
        own = {f"b{i}" for i, r in enumerate(roles) if r is not Role.LOOSE}
        targets = [bd.name for bd in self.spec.worldbody.bodies
                   if bd.name not in own and any(j.type == mujoco.mjtJoint.mjJNT_FREE for j in bd.joints)]
        static = ["world"] if self.params.grab_static else []
        add_grab_welds(self.spec, grabbers, static + targets, self.params)

    def index(self, model: mujoco.MjModel) -> dict[str, Any]:
        """Ids in the compiled model: block bodies and geoms, linear-block sites, key actuators and
        the breakable connections with their sensors and thresholds."""
        n, roles, params = len(self.blocks), self.roles, self.params
        block_body = np.full(n, -1, dtype=int)
        for i in range(n):
            if self.bodies[i] is not None:
                block_body[i] = model.body(f"b{i}").id
        geom_body = model.geom_bodyid
        geoms = tuple(tuple(int(g) for g in np.flatnonzero(geom_body == block_body[i])) if block_body[i] >= 0
                      else () for i in range(n))
        site_names = {model.site(k).name for k in range(model.nsite)}
        linear_sites = {i: (model.site(f"s{i}a").id, model.site(f"s{i}b").id)
                        for i, r in enumerate(roles) if r in LINEAR_ROLES and f"s{i}a" in site_names}
        key_actuators: dict[str, np.ndarray] = {}
        if self.band_ids:
            key_actuators[params.band_key] = np.array(self.band_ids, dtype=int)
        conns: list[Connection] = []
        if params.breakable:
            for i, p in self.tree_conn:
                fl, tl = params.threshold(self.blocks[i].type_id)
                conns.append(Connection(i, p, "tree", int(block_body[i]), -1, fl, tl,
                                        model.sensor(f"F{i}").id, model.sensor(f"T{i}").id))
            for i, p, type_id in self.eq_info:
                fl, tl = params.threshold(type_id)
                conns.append(Connection(i, p, "weld", int(block_body[i]) if block_body[i] >= 0 else -1,
                                        model.equality(f"w{i}").id, fl, tl))
        return {"block_body": block_body, "block_geoms": geoms, "linear_sites": linear_sites,
                "key_actuators": key_actuators, "connections": tuple(conns)}


def compile_machine(placed: PlacedMachine, params: PhysicsParams = DEFAULT_PARAMS,
                    obstacles: Iterable[Box | Primitive] = (),
                    catalog: Mapping[str, BlockSpec] | None = None, detached: Iterable[int] = (), *,
                    level: Level | None = None) -> CompiledMachine:
    """Build the MuJoCo model of ``placed`` (ground, obstacles, bodies, joints, actuators).

    With ``level``, its obstacles, goal objects and wind are added (``obstacles`` come on top).
    The machine is taken as placed: move it to the level's spawn first (``Level.place``)."""
    t0 = time.perf_counter()
    catalog = default_catalog() if catalog is None else catalog
    obstacles = tuple(obstacles)
    spec = _new_spec(params)
    world_obstacles = (*level.obstacles, *obstacles) if level is not None else obstacles
    objects = add_world(spec, world_obstacles, level.goal_objects if level is not None else (), params)
    build = _Build(spec, placed, params, catalog, frozenset(detached))
    build.add_bodies()
    build.add_linear_blocks()
    build.add_load_sensors()
    build.add_welds()
    build.add_grabbers()
    model = spec.compile()
    ids = build.index(model)
    roles = build.roles
    object_body = np.array([model.body(o.body).id for o in objects], dtype=int)
    wind_body, wind_force = _wind(model, level, params, object_body, ids["block_body"], roles)
    return CompiledMachine(
        model=model, spec=spec, placed=placed, params=params, obstacles=obstacles, catalog=catalog,
        detached=build.detached, roles=roles, loose=np.array([r is Role.LOOSE for r in roles], dtype=bool),
        base_ctrl=np.array(build.base_ctrl, dtype=float), compile_s=time.perf_counter() - t0, level=level,
        objects=objects, object_body=object_body, wind_body=wind_body, wind_force=wind_force, **ids)


def _wind(model: mujoco.MjModel, level: Level | None, params: PhysicsParams, object_body: np.ndarray,
          block_body: np.ndarray, roles: tuple[Role, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Bodies the level's wind blows on and the force on each (mass x acceleration, MuJoCo frame):
    loose objects and loose blocks always, every block body with ``params.wind_on_blocks``."""
    acc = wind_acceleration(level.wind if level is not None else None, params)
    if acc is None:
        return np.zeros(0, dtype=int), np.zeros((0, 3))
    blown = [int(b) for b, r in zip(block_body, roles, strict=True)
             if b >= 0 and (params.wind_on_blocks or r is Role.LOOSE)]
    ids = np.array(sorted({*blown, *(int(b) for b in object_body)}), dtype=int)
    return ids, model.body_mass[ids][:, None] * besiege_to_mj_vec(acc)[None, :]


def to_mjcf(compiled: CompiledMachine) -> str:
    """MJCF XML of a compiled machine (``MjSpec.to_xml``)."""
    return compiled.spec.to_xml()
