"""Run a machine under a key schedule and record a trace in Besiege coordinates.

``simulate`` steps MuJoCo in chunks (``mj_step(m, d, nstep=k)``) between the only moments Python
has to act: samples (every ``record_every`` s), key switches, connection-load checks (every
``PhysicsParams.break_check_every`` steps, skipped entirely when nothing can break) and grab checks
(only while a grabber could catch something: ``controls.GrabberRuntime.check`` says when to look
next). A connection over its threshold is broken (weld: ``eq_active = 0``; fused/joint connection:
the model is recompiled with that block freed and the state carried over by name) and reported as
a ``DamageEvent``. NaN, runaway velocities, MuJoCo's bad-acceleration warning, blocks flying off to
infinity, a MuJoCo error (``physics_error``) or the wall-clock limit (``wall_limit``, checked between
chunks of steps sized to take about ``WALL_CHECK_S``, so a machine whose steps are slow is stopped
within a step, or one breakage recompile, of ``max_wall_s``) end the episode early with
``invalid_reason``; a machine over ``MAX_BLOCKS`` is not simulated (``too_many_blocks``). Nothing
raises.

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

from brickfield.machines.design.tree import MAX_BLOCKS
from brickfield.machines.design.types import PlacedBlock, PlacedMachine
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

__all__ = ["REASON_PHYSICS_ERROR", "REASON_TOO_MANY_BLOCKS", "REASON_WALL_LIMIT", "WALL_CHECK_S",
           "ControlSchedule", "DamageEvent", "Episode", "simulate"]


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


REASON_WALL_LIMIT = "wall_limit"
"""``Episode.invalid_reason`` starts with ``wall_limit:`` when ``max_wall_s`` ran out."""
REASON_TOO_MANY_BLOCKS = "too_many_blocks"
"""... with ``too_many_blocks:`` for a machine over ``max_blocks`` (never compiled)."""
REASON_PHYSICS_ERROR = "physics_error"
"""... with ``physics_error:`` when MuJoCo gave up (e.g. its arena ran out on a pile of contacts)."""
WALL_CHECK_S = 0.05
"""Aimed wall-clock time between two checks of ``max_wall_s``: the steps between checks are sized
from the measured step time (one at a time for a machine that steps slowly)."""
_MAX_CHUNK = 64


class _WallClock:
    """The ``max_wall_s`` budget, checked between chunks of steps (``chunk`` adapts to step cost)."""

    def __init__(self, t_start: float, max_wall_s: float) -> None:
        self.deadline = t_start + max_wall_s
        self.chunk = 1
        self._t = time.perf_counter()
        self._step = 0

    def expired(self, step: int) -> bool:
        """True once the budget is spent; also resizes ``chunk`` from the steps since the last call."""
        now = time.perf_counter()
        if step > self._step:
            per_step = (now - self._t) / (step - self._step)
            self.chunk = _MAX_CHUNK if per_step * _MAX_CHUNK <= WALL_CHECK_S \
                else max(1, int(WALL_CHECK_S / per_step))
            self._t, self._step = now, step
        return now > self.deadline


def simulate(machine: PlacedMachine | CompiledMachine, duration: float = 5.0,
             schedule: ControlSchedule | None = None, params: PhysicsParams | None = None,
             record_every: float = 0.2, max_wall_s: float = 60.0, seed: int = 0,
             obstacles: tuple[Box | Primitive, ...] = (), *, bindings: Bindings | None = None,
             wheels_automatic: bool = True, level: Level | None = None,
             stop_on_win: bool = True, max_blocks: int = MAX_BLOCKS) -> Episode:
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
    where it is detected (module docstring).

    Never raises for a bad machine: ``invalid_reason`` says why an episode stopped early, prefixed
    with a code where one applies (``wall_limit``: ``max_wall_s`` is checked inside the step loop;
    ``too_many_blocks``: over ``max_blocks``, not simulated; ``physics_error``: MuJoCo gave up)."""
    with _mujoco_warnings_to_logging():
        return _simulate(machine, duration, schedule, params, record_every, max_wall_s, obstacles,
                         bindings, wheels_automatic, level, stop_on_win, max_blocks)


def _failed(blocks: tuple[PlacedBlock, ...], reason: str, t_start: float) -> Episode:
    """An episode with no samples that ended before it began."""
    n = len(blocks)
    return Episode(np.zeros(0), np.zeros((0, n, 3)), np.zeros((0, n, 4)), np.zeros((0, n, 3)),
                   tuple(b.order_id for b in blocks), tuple(b.type_id for b in blocks),
                   invalid_reason=reason, wall_s=time.perf_counter() - t_start)


def _simulate(machine: PlacedMachine | CompiledMachine, duration: float,
              schedule: ControlSchedule | None, params: PhysicsParams | None, record_every: float,
              max_wall_s: float, obstacles: tuple[Box | Primitive, ...], bindings: Bindings | None,
              wheels_automatic: bool, level: Level | None, stop_on_win: bool, max_blocks: int) -> Episode:
    t_start = time.perf_counter()
    blocks = machine.placed.blocks if isinstance(machine, CompiledMachine) else machine.blocks
    if len(blocks) > max_blocks:
        return _failed(blocks, f"{REASON_TOO_MANY_BLOCKS}: {len(blocks)} blocks, over the limit of "
                       f"{max_blocks}", t_start)
    if isinstance(machine, CompiledMachine):
        cm = machine
    else:
        try:
            placed = level.place(machine) if level is not None else machine
            cm = compile_machine(placed, params or DEFAULT_PARAMS, obstacles, level=level)
        except Exception as exc:  # unknown block type, a model MuJoCo rejects...: invalid, not a crash
            return _failed(blocks, f"physics compile error: {exc}", t_start)
    run = _Run(cm, schedule or ControlSchedule(), bindings, wheels_automatic, duration, record_every)
    try:
        run.start(level)
        run.loop(_WallClock(t_start, max_wall_s), max_wall_s, stop_on_win)
    except mujoco.FatalError as exc:   # raised by mju_error, e.g. "mj_stackAlloc: out of memory"
        run.invalid = f"{REASON_PHYSICS_ERROR}: MuJoCo stopped: {str(exc).splitlines()[0][:200]}"
        run.broken = True
    return run.episode(t_start)


class _Run:
    """One episode in progress: the current model (replaced by recompiles), controls, monitors and
    what has been recorded. ``start`` takes the first sample, ``loop`` steps to the end."""

    def __init__(self, cm: CompiledMachine, schedule: ControlSchedule, bindings: Bindings | None,
                 wheels_automatic: bool, duration: float, record_every: float) -> None:
        self.cm, self.first, self.params, self.m = cm, cm, cm.params, cm.model
        self.d = cm.make_data()
        cm.apply_world_forces(self.d)
        self.ctl = MachineControls(cm, schedule, bindings, wheels_automatic)
        if self.ctl.mutates_model:   # grab poses, coasting wheels: keep the shared model intact
            self.m = copy.copy(self.m)
        self.schedule, self.duration = schedule, duration
        self.dt = self.m.opt.timestep
        self.n_total = max(round(duration / self.dt), 0)
        self.rec = max(round(record_every / self.dt), 1)
        self.recompiles = 0
        self.recorder = _Recorder()
        self.times: list[float] = []
        self.trig: _Triggers | None = None
        self.damage: list[DamageEvent] = []
        self.invalid: str | None = None
        self.broken = False   # MuJoCo raised: the data is not recycled
        self.step = 0

    def apply_ctrl(self, t: float) -> None:
        if self.m.nu:
            self.ctl.apply(self.m, self.d, t)

    def start(self, level: Level | None) -> None:
        """Keys held at t = 0 (a decoupler may fire), the monitors, and the first sample."""
        ctl = self.ctl
        mujoco.mj_forward(self.m, self.d)
        fire = ctl.press(0.0, self.m, self.d)
        if fire and ctl.children(fire):   # a decoupler key held from t = 0
            self.cm, self.m, self.d = _decouple(ctl, self.cm, self.m, self.d, fire)
            self.recompiles += 1
        self.monitor = _Monitor(self.cm)
        self.never = never = self.n_total + 1
        self.brk = max(int(self.params.break_check_every), 1)
        self.next_break = self.brk if self.monitor.active else never
        # grabs: the first look after ``grab_check_every`` steps, then when ``ctl.check`` asks
        self.next_grab = max(int(self.params.grab_check_every), 1) if ctl.grabbers.active else never
        self.switches = sorted({round(t / self.dt) for t in self.schedule.switch_times()
                                if 0 < t < self.duration} - {0})
        self.switches.append(never)
        self.apply_ctrl(0.0)
        mujoco.mj_forward(self.m, self.d)
        self.recorder.use(self.cm)
        self.recorder.record(self.d)
        self.times.append(0.0)
        self.trig = _Triggers(self.cm, level or self.cm.level)
        self.trig.check(self.cm, self.d, 0.0)

    def loop(self, clock: _WallClock, max_wall_s: float, stop_on_win: bool) -> None:
        """Step to the end, acting at key switches, grab and break checks and samples."""
        assert self.trig is not None
        rec, dt, sw = self.rec, self.dt, 0
        next_rec = min(rec, self.n_total)
        while self.step < self.n_total:
            nxt = min(next_rec, self.next_break, self.next_grab, self.switches[sw], self.step + clock.chunk)
            mujoco.mj_step(self.m, self.d, nstep=nxt - self.step)
            step = self.step = nxt
            if step == self.switches[sw]:
                sw += 1
                self._switch(step)
            if step == self.next_grab:
                k = self.ctl.check(self.m, self.d)
                self.next_grab = self.never if k is None else step + k
            if step == self.next_break:
                self.next_break += self.brk
                self._breaks(step)
            if clock.expired(step):
                self.invalid = self.invalid or (f"{REASON_WALL_LIMIT}: wall-clock limit ({max_wall_s:g} s) "
                                                f"exceeded after {step * dt:g} s of {self.duration:g} s")
                break
            if step == next_rec or self.invalid:
                sample = step % rec == 0
                next_rec = min((step // rec + 1) * rec, self.n_total)
                self.invalid = self.invalid or _health(self.m, self.d, self.params, step * dt)
                if self.invalid:
                    break
                self.trig.check(self.cm, self.d, step * dt)
                if sample or (self.trig.won and stop_on_win):
                    self.recorder.record(self.d)
                    self.times.append(step * dt)
                if self.trig.won and stop_on_win:
                    break

    def _switch(self, step: int) -> None:
        """A key changes at ``step``: press/release (decouplers fire), then the new controls."""
        fire = self.ctl.press(step * self.dt, self.m, self.d)
        if fire and self.ctl.children(fire):
            self.cm, self.m, self.d = _decouple(self.ctl, self.cm, self.m, self.d, fire)
            self.monitor = _Monitor(self.cm)
            self.recorder.use(self.cm)
            self.recompiles += 1
        self.apply_ctrl(step * self.dt)
        if self.ctl.grabbers.active:
            self.next_grab = step     # a release/close or a recompile: look now

    def _breaks(self, step: int) -> None:
        """Break the connections over their limits (welds off, tree connections by recompiling)."""
        broken = self.monitor.check(self.m, self.d)
        if not broken:
            return
        cm, tree_hits = self.cm, []
        for conn, f, tq in broken:
            b = cm.placed.blocks[conn.block]
            self.damage.append(DamageEvent(step * self.dt, conn.block, b.order_id, b.type_id, conn.parent,
                                           f, tq, conn.kind))
            if conn.kind == "weld":
                self.d.eq_active[conn.eq] = 0
            else:
                tree_hits.append(conn.block)
        if tree_hits and self.recompiles < self.params.max_breaks:
            self.cm, self.m, self.d = _recompile(cm, self.m, self.d, tree_hits)
            self.ctl.use(self.cm)
            self.apply_ctrl(step * self.dt)
            self.monitor = _Monitor(self.cm)
            self.recorder.use(self.cm)
            self.recompiles += 1
            if self.ctl.grabbers.active:
                self.next_grab = min(self.next_grab, step + max(int(self.params.grab_check_every), 1))
        elif tree_hits:
            self.invalid = "too many breakages"

    def episode(self, t_start: float) -> Episode:
        """The trace recorded so far as an ``Episode``."""
        cm, trig = self.cm, self.trig
        blocks = cm.placed.blocks
        n = len(blocks)
        if self.recorder.raw:
            pos, rot, vel = self.recorder.arrays()
        else:   # MuJoCo failed before the first sample
            pos, rot, vel = np.zeros((0, n, 3)), np.zeros((0, n, 4)), np.zeros((0, n, 3))
        opos, orot, ovel = self.recorder.object_arrays(len(cm.objects))
        if cm is self.first and not self.broken:
            self.first.release_data(self.d)
        return Episode(np.array(self.times), pos, rot, vel, tuple(b.order_id for b in blocks),
                       tuple(b.type_id for b in blocks), self.damage, self.invalid,
                       sim_time=self.step * self.dt, steps=self.step,
                       wall_s=time.perf_counter() - t_start, compile_s=cm.compile_s,
                       recompiles=self.recompiles, object_names=tuple(o.name for o in cm.objects),
                       object_positions=opos, object_rotations=orot, object_velocities=ovel,
                       trigger_events=list(trig.events) if trig else [], won=trig.won if trig else False,
                       win_time=trig.win_time if trig else None, progress=trig.progress if trig else 0.0)


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
