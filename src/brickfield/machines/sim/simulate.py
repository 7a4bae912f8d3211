"""Run a machine under a key schedule and record a trace in Besiege coordinates.

``simulate`` steps MuJoCo in chunks (``mj_step(m, d, nstep=k)``) between the only moments Python
has to act: samples (every ``record_every`` s), key switches, connection-load checks (every
``PhysicsParams.break_check_every`` steps, skipped entirely when nothing can break) and grab checks
(only while a grabber could catch something: ``controls.GrabberRuntime.check`` says when to look
next). A connection over its threshold is broken (weld: ``eq_active = 0``; fused/joint connection:
the model is recompiled with that block freed and the state carried over by name) and reported as
a ``DamageEvent``. NaN, runaway velocities, MuJoCo's bad-acceleration warning, blocks flying off to
infinity or the wall-clock limit end the episode early with ``invalid_reason``; nothing raises.

With a ``level``, its loose objects (iron ore, characters) are recorded with the blocks
(``Episode.objects``), its wind pushes them (``CompiledMachine.apply_world_forces``), and its logic
triggers are tested at every sample (``triggers.TriggerMonitor``, swept so nothing crosses a
trigger unseen between samples). A win (a ``game_win`` event, or progress reaching 100) ends the
episode at that sample, like the game, which stops simulating and logging when a level is won
(BesiegeField then computes the score from the states logged up to that point).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mujoco
import numpy as np

from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.levels.registry import Box, ControlSchedule, Level
from brickfield.machines.levels.schema import Primitive
from brickfield.machines.levels.triggers import Entity, TriggerEvent, TriggerMonitor
from brickfield.machines.sim.blocks import Role
from brickfield.machines.sim.compile import (
    CompiledMachine,
    Connection,
    compile_machine,
    mj_to_besiege_quat,
    mj_to_besiege_vec,
)
from brickfield.machines.sim.controls import Bindings, MachineControls
from brickfield.machines.sim.episode import DamageEvent, Episode
from brickfield.machines.sim.params import DEFAULT_PARAMS, PhysicsParams

__all__ = ["ControlSchedule", "DamageEvent", "Episode", "simulate"]


_log = logging.getLogger("brickfield.machines.sim.simulate")
_warn_lock = threading.Lock()
_warn_users = 0
_warn_prev: Any = None


@contextmanager
def _mujoco_warnings_to_logging() -> Iterator[None]:
    """Route MuJoCo's C warnings ("Nan, Inf or huge value in QACC...") to ``logging`` while
    simulating, instead of stdout and a MUJOCO_LOG.TXT in the working directory. A handler the
    user installed is left alone; nested/concurrent simulations share one installation."""
    global _warn_users, _warn_prev
    with _warn_lock:
        if _warn_users == 0:
            _warn_prev = mujoco.get_mju_user_warning()
            if _warn_prev is None:
                mujoco.set_mju_user_warning(lambda msg: _log.debug("mujoco: %s", msg))
        _warn_users += 1
    try:
        yield
    finally:
        with _warn_lock:
            _warn_users -= 1
            if _warn_users == 0 and _warn_prev is None:
                mujoco.set_mju_user_warning(None)


# ---------------------------------------------------------------------------------------------
class _Monitor:
    """Vectorised connection-load check for one compiled model.

    Tree connections carry a force and a torque sensor (site at the connection point) with a
    history of ``break_check_every`` samples, so one read per check sees the load of every step
    since the last check. Welds (``welded`` mode) are read from ``efc_force`` at check time."""

    def __init__(self, cm: CompiledMachine) -> None:
        m = cm.model
        tree = [c for c in cm.connections if c.kind == "tree"]
        self.tree = tree
        idx: list[np.ndarray] = []
        limits: list[float] = []
        self.n = 1
        for sensors, attr in (([c.force_sensor for c in tree], "force_limit"),
                              ([c.torque_sensor for c in tree], "torque_limit")):
            for c, sid in zip(tree, sensors, strict=True):
                n = int(m.sensor_history[sid, 0]) if m.nhistory else 0
                if n == 0:  # no history buffer: read the current value
                    adr, n = int(m.sensor_adr[sid]), 1
                    idx.append(-1 - (adr + np.arange(3)))  # negative: from sensordata
                else:
                    base = int(m.sensor_historyadr[sid]) + 2 + n
                    idx.append(base + np.arange(3 * n))
                self.n = n
                limits.append(getattr(c, attr) ** 2)
        self.from_history = bool(idx) and idx[0][0] >= 0
        self.idx = np.concatenate(idx) if idx else np.zeros(0, int)
        if not self.from_history:
            self.idx = -1 - self.idx
        self.limit2 = np.array(limits)
        # no component above this means no load above its limit (|v| <= sqrt(3) max |component|)
        self.quick = float(np.sqrt(self.limit2.min() / 3.0)) if len(limits) else np.inf
        self._buf = np.empty(len(self.idx))
        self.weld = {c.eq: c for c in cm.connections if c.kind == "weld"}
        self.active = bool(tree or self.weld)

    def check(self, m: mujoco.MjModel, d: mujoco.MjData) -> list[tuple[Connection, float, float]]:
        """Connections whose peak load since the last check exceeded their limit, with the peak
        (force, torque) magnitudes."""
        out: list[tuple[Connection, float, float]] = []
        if len(self.idx):
            src = d.history if self.from_history else d.sensordata
            buf = np.take(src, self.idx, out=self._buf)
            if buf.max() <= self.quick and -buf.min() <= self.quick:   # the usual case: far below
                return self._welds(d, out) if self.weld else out
            v = buf.reshape(len(self.limit2), self.n, 3)
            peak2 = np.einsum("ijk,ijk->ij", v, v).max(axis=1)
            over = peak2 > self.limit2
            if over.any():
                k = len(self.tree)
                for j in np.flatnonzero(over[:k] | over[k:]):
                    out.append((self.tree[j], float(np.sqrt(peak2[j])), float(np.sqrt(peak2[k + j]))))
        return self._welds(d, out) if self.weld else out

    def _welds(self, d: mujoco.MjData, out: list[tuple[Connection, float, float]]
               ) -> list[tuple[Connection, float, float]]:
        """Add the welds (``welded`` mode) whose current force or torque exceeds their limit."""
        if d.ne:
            ids = d.efc_id[:d.ne:6]
            forces = d.efc_force[:d.ne].reshape(-1, 6)
            f2 = np.einsum("ij,ij->i", forces[:, :3], forces[:, :3])
            t2 = np.einsum("ij,ij->i", forces[:, 3:], forces[:, 3:])
            for k, eq in enumerate(ids):
                c = self.weld.get(int(eq))
                if c is not None and (f2[k] > c.force_limit ** 2 or t2[k] > c.torque_limit ** 2):
                    out.append((c, float(np.sqrt(f2[k])), float(np.sqrt(t2[k]))))
        return out


def _transfer_state(m0: mujoco.MjModel, d0: mujoco.MjData, m1: mujoco.MjModel,
                    d1: mujoco.MjData) -> None:
    """Copy the state of ``d0`` into ``d1`` by element names (joints, actuators, equalities).

    Joints present in both are copied verbatim; a free joint new in ``m1`` (a freed block) takes
    the body's current world pose and velocity from ``d0``."""
    d1.time = d0.time
    for j in range(m1.njnt):
        name = m1.joint(j).name
        qa1, va1 = m1.jnt_qposadr[j], m1.jnt_dofadr[j]
        nq, nv = {0: (7, 6), 1: (4, 3), 2: (1, 1), 3: (1, 1)}[int(m1.jnt_type[j])]
        try:
            j0 = m0.joint(name).id
        except KeyError:
            j0 = -1
        if j0 >= 0 and m0.jnt_type[j0] == m1.jnt_type[j]:
            qa0, va0 = m0.jnt_qposadr[j0], m0.jnt_dofadr[j0]
            d1.qpos[qa1:qa1 + nq] = d0.qpos[qa0:qa0 + nq]
            d1.qvel[va1:va1 + nv] = d0.qvel[va0:va0 + nv]
        elif m1.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            b0 = m0.body(m1.body(m1.jnt_bodyid[j]).name).id
            d1.qpos[qa1:qa1 + 3] = d0.xpos[b0]
            d1.qpos[qa1 + 3:qa1 + 7] = d0.xquat[b0]
            vel = np.zeros(6)
            mujoco.mj_objectVelocity(m0, d0, mujoco.mjtObj.mjOBJ_BODY, b0, vel, 0)
            d1.qvel[va1:va1 + 3] = vel[3:]
            d1.qvel[va1 + 3:va1 + 6] = d0.xmat[b0].reshape(3, 3).T @ vel[:3]
    for a in range(m1.nu):
        with contextlib.suppress(KeyError):
            a0 = m0.actuator(m1.actuator(a).name).id
            d1.ctrl[a] = d0.ctrl[a0]
            if m1.actuator_actnum[a] and m0.actuator_actnum[a0]:   # winch length, steering target
                d1.act[m1.actuator_actadr[a]] = d0.act[m0.actuator_actadr[a0]]
    for e in range(m1.neq):
        with contextlib.suppress(KeyError):
            e0 = m0.equality(m1.equality(e).name).id
            d1.eq_active[e] = d0.eq_active[e0]
            m1.eq_data[e] = m0.eq_data[e0]   # grab welds carry the pose they were made at
    mujoco.mj_forward(m1, d1)


class _Recorder:
    """Collects raw MuJoCo arrays per sample (a few gathers) and converts them all at the end."""

    def __init__(self) -> None:
        self.raw: list[tuple[np.ndarray, ...]] = []
        self.layouts: list[tuple[np.ndarray, ...]] = []
        self._layout: tuple[np.ndarray, ...] = ()
        self.obj_raw: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._obj = np.zeros(0, dtype=int)

    def use(self, cm: CompiledMachine) -> None:
        """Gather indices for a (re)compiled model."""
        m = cm.model
        body = np.where(cm.block_body >= 0, cm.block_body, 0)
        lin = np.array(sorted(cm.linear_sites), dtype=int)
        site = np.array([cm.linear_sites[i][0] for i in lin], dtype=int)
        sbody = m.site_bodyid[site] if len(site) else np.zeros(0, int)
        # per block: the body whose frame/velocity describes it (site body for linear blocks)
        vbody = body.copy()
        vbody[lin] = sbody
        self._layout = (body, vbody, m.body_rootid[vbody], lin, site, cm.loose.copy())
        self._obj = cm.object_body

    def record(self, d: mujoco.MjData) -> None:
        body, vbody, root, _lin, site, _loose = self._layout
        self.raw.append((d.xpos[body], d.xipos[body], d.xquat[body], d.cvel[vbody], d.subtree_com[root],
                         d.site_xpos[site]))
        self.layouts.append(self._layout)
        if len(self._obj):  # loose objects are free bodies: cvel's linear part is their COM velocity
            ob = self._obj
            self.obj_raw.append((d.xipos[ob], d.xquat[ob], d.cvel[ob, 3:]))

    def object_arrays(self, n_obj: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions, rotations [x,y,z,w], velocities) of loose objects, (T, M, 3/4/3), Besiege."""
        if not self.obj_raw:
            t = len(self.raw)
            return np.zeros((t, n_obj, 3)), np.zeros((t, n_obj, 4)), np.zeros((t, n_obj, 3))
        p, q, v = (np.stack(a) for a in zip(*self.obj_raw, strict=True))
        return mj_to_besiege_vec(p), mj_to_besiege_quat(q), mj_to_besiege_vec(v)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions, rotations [x,y,z,w], velocities), (T, N, 3/4/3), Besiege frame."""
        out_p, out_q, out_v = [], [], []
        k = 0
        while k < len(self.raw):  # one vectorised pass per run of samples sharing a model
            lay = self.layouts[k]
            j = k
            while j < len(self.raw) and self.layouts[j] is lay:
                j += 1
            xpos, xipos, xquat, cvel, com, sxpos = (np.stack(a) for a in zip(*self.raw[k:j], strict=True))
            _b, _vb, _r, lin, _s, loose = lay
            pos = np.where(loose[None, :, None], xipos, xpos)
            if len(lin):
                pos[:, lin] = sxpos
                xquat[:, lin] = (1.0, 0.0, 0.0, 0.0)
            # point velocity from the com-based spatial velocity: v_p = v_c + w x (p - c)
            out_v.append(cvel[..., 3:] + np.cross(cvel[..., :3], pos - com))
            out_p.append(pos)
            out_q.append(xquat)
            k = j
        p, q, v = np.concatenate(out_p), np.concatenate(out_q), np.concatenate(out_v)
        return mj_to_besiege_vec(p), mj_to_besiege_quat(q), mj_to_besiege_vec(v)


class _Triggers:
    """The level's ``TriggerMonitor`` plus where its entities (blocks with a body, then loose
    objects) live in the current model; the entity list never changes, bodies may (recompiles)."""

    def __init__(self, cm: CompiledMachine, level: Level | None) -> None:
        ents: list[Entity] = []
        for i, (b, role) in enumerate(zip(cm.placed.blocks, cm.roles, strict=True)):
            if cm.block_body[i] < 0:   # linear blocks have no body and no volume
                continue
            spec = cm.catalog[b.type_id]
            if role is Role.LOOSE and spec.collider_size:
                radius = float(spec.collider_size[0])
            else:
                radius = 0.5 * min((s for s in spec.size if s > 0), default=1.0)
            ents.append(Entity(f"block {b.order_id}", radius, i, b.type_id))
        ents += [Entity(o.name, o.radius, obj=o.name) for o in cm.objects]
        self.monitor = TriggerMonitor(level.triggers if level is not None else (), ents)
        self._cm: CompiledMachine | None = None
        self._bodies = np.zeros(0, dtype=int)

    @property
    def won(self) -> bool:
        return self.monitor.win

    @property
    def win_time(self) -> float | None:
        return self.monitor.win_time

    @property
    def progress(self) -> float:
        return self.monitor.progress

    @property
    def events(self) -> list[TriggerEvent]:
        return self.monitor.events

    def check(self, cm: CompiledMachine, d: mujoco.MjData, t: float) -> None:
        """Test the triggers with the current state (cheap no-op for a level without triggers)."""
        if not self.monitor.active:
            return
        if cm is not self._cm:
            where = {o.name: int(b) for o, b in zip(cm.objects, cm.object_body, strict=True)}
            self._bodies = np.array([cm.block_body[e.block] if e.block >= 0 else where[e.obj or ""]
                                     for e in self.monitor.entities], dtype=int)
            self._cm = cm
        self.monitor.check(d.xipos[self._bodies][:, [0, 2, 1]], t)   # MuJoCo -> Besiege axes


def _health(m: mujoco.MjModel, d: mujoco.MjData, params: PhysicsParams, t_expect: float) -> str | None:
    """Why the state is unusable, or None (comparisons are written so that NaN fails them)."""
    if abs(d.time - t_expect) > 1e-6 or d.warning[mujoco.mjtWarning.mjWARN_BADQACC].number:
        return "simulation unstable (bad acceleration, state was reset)"
    if m.nv and not np.abs(d.qvel).max() <= params.max_speed:
        if not np.isfinite(d.qvel).all():
            return "simulation unstable (NaN)"
        return f"runaway energy (speed > {params.max_speed:g})"
    if m.nbody > 1 and not np.abs(d.xpos).max() <= params.max_extent:
        return f"body left the world (> {params.max_extent:g} m)"
    return None


def simulate(machine: PlacedMachine | CompiledMachine, duration: float = 5.0,
             schedule: ControlSchedule | None = None, params: PhysicsParams | None = None,
             record_every: float = 0.2, max_wall_s: float = 60.0, seed: int = 0,
             obstacles: tuple[Box | Primitive, ...] = (), *, bindings: Bindings | None = None,
             wheels_automatic: bool = True, level: Level | None = None,
             stop_on_win: bool = True) -> Episode:
    """Simulate ``machine`` for ``duration`` s under ``schedule`` and return its trace.

    ``params``/``obstacles`` are used when compiling a ``PlacedMachine``; a ``CompiledMachine``
    brings its own. Keys act through ``controls`` (Besiege-like default bindings, overridden per
    block by ``bindings`` = ``{order_id: {action: key}}``): powered wheels run from t=0 unless
    ``wheels_automatic`` is False (then they follow UpArrow/DownArrow), spinning blocks run from
    t=0, and keys drive steering, rubber bands, winches, decouplers and grabbers. ``seed`` is
    accepted for the contract: the simulation itself is deterministic and uses no randomness.

    ``level`` adds the level's world when compiling a ``PlacedMachine`` (which is first moved to
    the level's spawn, ``Level.place``); its triggers are tested either way (a ``CompiledMachine``
    compiled with ``level=`` carries it). With ``stop_on_win`` a win ends the episode at the sample
    where it is detected (module docstring)."""
    with _mujoco_warnings_to_logging():
        return _simulate(machine, duration, schedule, params, record_every, max_wall_s, seed, obstacles,
                         bindings, wheels_automatic, level, stop_on_win)


def _simulate(machine: PlacedMachine | CompiledMachine, duration: float = 5.0,
             schedule: ControlSchedule | None = None, params: PhysicsParams | None = None,
             record_every: float = 0.2, max_wall_s: float = 60.0, seed: int = 0,
             obstacles: tuple[Box | Primitive, ...] = (), bindings: Bindings | None = None,
             wheels_automatic: bool = True, level: Level | None = None,
             stop_on_win: bool = True) -> Episode:
    del seed
    t_start = time.perf_counter()
    schedule = schedule or ControlSchedule()
    if isinstance(machine, CompiledMachine):
        cm = machine
    else:
        try:
            placed = level.place(machine) if level is not None else machine
            cm = compile_machine(placed, params or DEFAULT_PARAMS, obstacles, level=level)
        except Exception as exc:  # unknown block type, a model MuJoCo rejects...: invalid, not a crash
            bl = machine.blocks
            n = len(bl)
            return Episode(np.zeros(0), np.zeros((0, n, 3)), np.zeros((0, n, 4)), np.zeros((0, n, 3)),
                           tuple(b.order_id for b in bl), tuple(b.type_id for b in bl),
                           invalid_reason=f"physics compile error: {exc}",
                           wall_s=time.perf_counter() - t_start)
    params = cm.params
    m = cm.model
    first = cm
    d = cm.make_data()
    cm.apply_world_forces(d)
    ctl = MachineControls(cm, schedule, bindings, wheels_automatic)
    if ctl.mutates_model:   # grab poses, coasting wheels: keep the shared model intact
        m = copy.copy(m)
    dt = m.opt.timestep
    n_total = max(round(duration / dt), 0)
    rec = max(round(record_every / dt), 1)
    recompiles = 0
    mujoco.mj_forward(m, d)
    fire = ctl.press(0.0, m, d)
    if fire and ctl.children(fire):   # a decoupler key held from t = 0
        cm, m, d = _decouple(ctl, cm, m, d, fire)
        recompiles += 1
    monitor = _Monitor(cm)
    never = n_total + 1
    brk = max(int(params.break_check_every), 1)
    next_break = brk if monitor.active else never
    # grabs: the first look after ``grab_check_every`` steps, then when ``ctl.check`` asks
    next_grab = max(int(params.grab_check_every), 1) if ctl.grabbers.active else never
    switches = sorted({round(t / dt) for t in schedule.switch_times() if 0 < t < duration} - {0})
    switches.append(never)

    def apply_ctrl(t: float) -> None:
        if m.nu:
            ctl.apply(m, d, t)

    apply_ctrl(0.0)
    mujoco.mj_forward(m, d)
    recorder = _Recorder()
    recorder.use(cm)
    recorder.record(d)
    times = [0.0]
    trig = _Triggers(cm, level or cm.level)
    trig.check(cm, d, 0.0)
    damage: list[DamageEvent] = []
    invalid: str | None = None
    step = 0
    sw = 0
    next_rec = min(rec, n_total)
    while step < n_total:
        nxt = min(next_rec, next_break, next_grab, switches[sw])
        mujoco.mj_step(m, d, nstep=nxt - step)
        step = nxt
        if step == switches[sw]:
            sw += 1
            fire = ctl.press(step * dt, m, d)
            if fire and ctl.children(fire):
                cm, m, d = _decouple(ctl, cm, m, d, fire)
                monitor = _Monitor(cm)
                recorder.use(cm)
                recompiles += 1
            apply_ctrl(step * dt)
            if ctl.grabbers.active:
                next_grab = step     # a release/close or a recompile: look now
        if step == next_grab:
            k = ctl.check(m, d)
            next_grab = never if k is None else step + k
        if step == next_break:
            next_break += brk
            broken = monitor.check(m, d)
            if broken:
                tree_hits = []
                for conn, f, tq in broken:
                    b = cm.placed.blocks[conn.block]
                    damage.append(DamageEvent(step * dt, conn.block, b.order_id, b.type_id, conn.parent,
                                              f, tq, conn.kind))
                    if conn.kind == "weld":
                        d.eq_active[conn.eq] = 0
                    else:
                        tree_hits.append(conn.block)
                if tree_hits and recompiles < params.max_breaks:
                    cm, m, d = _recompile(cm, m, d, tree_hits)
                    ctl.use(cm)
                    apply_ctrl(step * dt)
                    monitor = _Monitor(cm)
                    recorder.use(cm)
                    recompiles += 1
                    if ctl.grabbers.active:
                        next_grab = min(next_grab, step + max(int(params.grab_check_every), 1))
                elif tree_hits:
                    invalid = "too many breakages"
        if step == next_rec or invalid:
            sample = step % rec == 0
            next_rec = min((step // rec + 1) * rec, n_total)
            invalid = invalid or _health(m, d, params, step * dt)
            if invalid is None and time.perf_counter() - t_start > max_wall_s:
                invalid = f"wall-clock limit ({max_wall_s:g} s) exceeded"
            if invalid:
                break
            trig.check(cm, d, step * dt)
            if sample or (trig.won and stop_on_win):
                recorder.record(d)
                times.append(step * dt)
            if trig.won and stop_on_win:
                break
    pos, rot, vel = recorder.arrays()
    opos, orot, ovel = recorder.object_arrays(len(cm.objects))
    if cm is first:
        first.release_data(d)
    blocks = cm.placed.blocks
    return Episode(np.array(times), pos, rot, vel, tuple(b.order_id for b in blocks),
                   tuple(b.type_id for b in blocks), damage, invalid, sim_time=step * dt, steps=step,
                   wall_s=time.perf_counter() - t_start, compile_s=cm.compile_s, recompiles=recompiles,
                   object_names=tuple(o.name for o in cm.objects), object_positions=opos,
                   object_rotations=orot, object_velocities=ovel, trigger_events=list(trig.events),
                   won=trig.won, win_time=trig.win_time, progress=trig.progress)


def _decouple(ctl: MachineControls, cm: CompiledMachine, m: mujoco.MjModel, d: mujoco.MjData,
              fire: list[int]) -> tuple[CompiledMachine, mujoco.MjModel, mujoco.MjData]:
    """Fire decouplers: recompile with their children freed (the breakage path), push apart."""
    cm, m, d = _recompile(cm, m, d, ctl.children(fire))
    ctl.use(cm)
    ctl.push_apart(m, d, fire)
    return cm, m, d


def _recompile(cm: CompiledMachine, m: mujoco.MjModel, d: mujoco.MjData,
               freed: list[int]) -> tuple[CompiledMachine, mujoco.MjModel, mujoco.MjData]:
    """Recompile with ``freed`` blocks detached from their parents and carry the state over."""
    new = compile_machine(cm.placed, cm.params, cm.obstacles, cm.catalog, cm.detached | set(freed),
                          level=cm.level)
    d1 = mujoco.MjData(new.model)
    _transfer_state(m, d, new.model, d1)
    new.apply_world_forces(d1)
    return new, new.model, d1
