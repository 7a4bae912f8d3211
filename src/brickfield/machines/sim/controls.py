"""Key bindings and the key-driven mechanisms of machines (Besiege-like defaults).

A level's ``ControlSchedule`` says which keys are held when; the bindings say which block answers
which key. Defaults follow Besiege's own block defaults, as saved in the ``Data`` of ``.bsg``
machine files (``bmt-forward``/``bmt-backward``, ``bmt-left``/``bmt-right``, ``bmt-contract``,
``bmt-unwind``, ``bmt-explode``, ``bmt-detach``); the action names per block type are the mapper
keys Besiege's legacy machine converter writes for each type.

Default keys (``DEFAULT_KEYS``; sources and the full table in ``docs/controls.md``):

* powered wheel 2/46: forward UpArrow, backward DownArrow (only when the level's wheels are not
  automatic, i.e. fetch; released: the wheel spins freely);
* spinning block 22 / powered cog 39: forward UpArrow, backward DownArrow (only when not automatic;
  these two keys are our choice);
* steering hinge 28 / steering block 13: left LeftArrow, right RightArrow;
* rubber band 9: contract L; winch 45: contract N, unwind M;
* decoupler 4: detach J (on press); grabber 27: release V (on press).

Fetch (``UpArrow [0,1)``, ``V [1,1.05)``, ``M [1,11)``, ``N [11,21)``) therefore drives for 1 s,
makes grabbers let go of whatever they caught while driving, pays winches out for 10 s and reels
them in for 10 s. ``J`` is never pressed there: a decoupler needs a binding to fire in fetch.

Bindings are overridden per block with ``{order_id: {action: key}}`` (a key of ``None`` or ``""``
unbinds); wheels and spinning blocks also take ``{"automatic": bool}``.

Mechanisms (MuJoCo side in ``sim.blocks``):

* wheels / spinning blocks: velocity servos; ``ctrl`` = forward speed, its negative, or 0. A
  released key-driven wheel spins freely (``wheel_auto_brake`` False, as BesiegeField writes its
  wheels): ``apply`` zeroes the servo's gains in the episode's private model copy; a released
  spinning block brakes (servo to 0; BesiegeField writes ``bmt-auto-brake`` True for it).
* steering: integrated-velocity servo; ``ctrl`` = +-``steering_speed`` (positive = left: for an
  upward axis the children turn towards x-), the target angle is kept on release.
* rubber band: ``ctrl`` 1 while contracting.
* winch: one-sided rope spring whose rest length is the actuator state; ``ctrl`` = -``winch_speed``
  (reel in) or +``winch_speed`` (pay out).
* decoupler: on press the simulator recompiles the model with the decoupler's children freed (the
  breakage path) and pushes the halves apart with ``decoupler_impulse``.
* grabber: pre-built inactive welds to every grabbable body; a contact on the grabber's front
  writes the current relative pose into the weld and activates it; the release key deactivates
  it, the grabber stays open while the key is held and re-grabs a released body only after it
  stopped touching it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.levels.registry import ControlSchedule
from brickfield.machines.sim.blocks import LINEAR_ROLES, Role, forward_ctrl
from brickfield.machines.sim.compile import CompiledMachine
from brickfield.machines.sim.params import DEFAULT_PARAMS, PhysicsParams

__all__ = ["ACTIONS", "DEFAULT_KEYS", "REFERENCE_BINDINGS", "BindingError", "Bindings", "GrabberRuntime",
           "MachineControls",
           "resolve_bindings"]

class BindingError(ValueError):
    """A key binding names an unknown block, a block that takes no key or an action it lacks."""


Bindings = Mapping["int | str", Mapping[str, "str | bool | None"]]
"""User overrides: ``{order_id or "*": {action: key}}`` (``{"automatic": bool}`` for wheels/spinning)."""

DEFAULT_KEYS: Mapping[Role, Mapping[str, str]] = {
    Role.POWERED_WHEEL: {"forward": "UpArrow", "backward": "DownArrow"},
    Role.SPINNING: {"forward": "UpArrow", "backward": "DownArrow"},
    Role.STEER_HINGE: {"left": "LeftArrow", "right": "RightArrow"},
    Role.STEER_BLOCK: {"left": "LeftArrow", "right": "RightArrow"},
    Role.BAND: {"contract": "L"},
    Role.WINCH: {"contract": "N", "unwind": "M"},
    Role.DECOUPLER: {"detach": "J"},
    Role.GRABBER: {"release": "V"},
}
"""Default key per action, by physical role (see the module table for sources)."""

REFERENCE_BINDINGS: Mapping[str, Mapping[int, Mapping[str, str]]] = {
    "fetch": {13: {"detach": "V"}},
    "fetch_no_grabber": {13: {"detach": "V"}},
}
"""Bindings the shipped reference machines (``tasks.REFERENCE_MACHINES``) are meant to run with:
the fetch crane's decoupler answers the fetch script's V tap, as a player would set it in
Besiege's key mapper (its default J is never pressed there)."""

ACTIONS: Mapping[Role, tuple[str, ...]] = {
    r: (*keys, "automatic") if r in (Role.POWERED_WHEEL, Role.SPINNING) else tuple(keys)
    for r, keys in DEFAULT_KEYS.items()}
"""Actions a binding may name, by role."""


def resolve_bindings(placed: PlacedMachine, roles: Sequence[Role], overrides: Bindings | None = None,
                     params: PhysicsParams = DEFAULT_PARAMS, wheels_automatic: bool = True
                     ) -> dict[int, dict[str, str | bool | None]]:
    """Bindings of every key-driven block, by block list index: defaults, then ``overrides``.

    The key ``"*"`` applies its actions to every block that has them (a level-wide key mapping such
    as "decouplers on V"; blocks without the action are left alone); order_id keys override it.
    Raises ``BindingError`` (a ``ValueError``) for an override naming an unknown order_id, a block that
    takes no key,
    or an action the block does not have."""
    out: dict[int, dict[str, str | bool | None]] = {}
    for i, role in enumerate(roles):
        if role in DEFAULT_KEYS:
            keys: dict[str, str | bool | None] = dict(DEFAULT_KEYS[role])
            if role is Role.BAND:
                keys["contract"] = params.band_key
            if role is Role.POWERED_WHEEL:
                keys["automatic"] = wheels_automatic
            elif role is Role.SPINNING:
                keys["automatic"] = params.spinning_automatic
            out[i] = keys
    by_order = {b.order_id: b.index for b in placed.blocks}
    overrides = dict(overrides or {})
    for action, key in (overrides.pop("*", None) or {}).items():  # type: ignore[call-overload]
        for i, keys in out.items():
            if action in ACTIONS[roles[i]] and action != "automatic":
                keys[action] = key or None
    for key_oid, actions in overrides.items():
        oid = int(key_oid) if isinstance(key_oid, str) and key_oid.isdigit() else key_oid  # JSON keys
        if oid not in by_order:
            raise BindingError(f"binding for unknown order_id {oid}")
        i = by_order[oid]
        if i not in out:
            raise BindingError(f"block {oid} (type {placed.blocks[i].type_id}) takes no key")
        allowed = ACTIONS[roles[i]]
        for action, key in actions.items():
            if action not in allowed:
                raise BindingError(f"block {oid} (type {placed.blocks[i].type_id}) has no action "
                                 f"{action!r}; it has {list(allowed)}")
            if action == "automatic" and not isinstance(key, bool):
                raise BindingError(f"block {oid}: 'automatic' takes true/false, not {key!r}")
            out[i][action] = key if action == "automatic" else (key or None)
    return out


def _rel_pose(m: mujoco.MjModel, d: mujoco.MjData, b1: int, b2: int) -> tuple[np.ndarray, np.ndarray]:
    """Pose of body ``b2`` in the frame of body ``b1`` (position, quaternion w-first)."""
    qi = np.zeros(4)
    mujoco.mju_negQuat(qi, d.xquat[b1])
    pos = np.zeros(3)
    mujoco.mju_rotVecQuat(pos, d.xpos[b2] - d.xpos[b1], qi)
    quat = np.zeros(4)
    mujoco.mju_mulQuat(quat, qi, d.xquat[b2])
    return pos, quat


@dataclass
class GrabberRuntime:
    """Grab-on-contact / release state of a machine's grabbers over one episode.

    State that must survive a recompile is kept by name (bodies) or block index (grabbers); the
    active welds themselves travel in ``eq_active``/``eq_data`` (``simulate._transfer_state``).

    ``check`` scans MuJoCo's contacts only while a grabbable body could be touching a grabber that
    can grab or is waiting for a released body to move away; otherwise it works out how long every
    such body needs, at most, to get within reach (bounding spheres, speeds, an acceleration
    bound) and returns that many steps, so the simulator steps on without looking
    (``PhysicsParams.grab_check_every``, ``grab_check_max``)."""

    params: PhysicsParams
    open_: set[int] = field(default_factory=set)             # release key held: no grabbing
    ignore: dict[int, set[str]] = field(default_factory=dict)  # released bodies still touching
    slots: dict[int, dict[int, int]] = field(default_factory=dict)   # grabber -> body -> eq
    _owner: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    _body: dict[int, int] = field(default_factory=dict)
    _eqs: dict[int, np.ndarray] = field(default_factory=dict)         # grabber -> its weld ids
    _static: frozenset[int] = frozenset()                             # grabbers that grab the world
    _pairs: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # grabber -> (its body,
    #                                              a target body) pairs, as indices into _bodies
    _bodies: np.ndarray = field(default_factory=lambda: np.zeros(0, int))   # bodies in any pair
    _radius: list[float] = field(default_factory=list)                      # their bounding radii
    _root: np.ndarray = field(default_factory=lambda: np.zeros(0, int))     # their tree roots

    def use(self, cm: CompiledMachine) -> None:
        """Index the grab welds, grabber geoms and grabber/target bounding spheres of a
        (re)compiled model."""
        m = cm.model
        self.slots = {}
        for e in range(m.neq):
            name = m.equality(e).name
            if name.startswith("grab"):
                g = int(name[4:].split("_")[0])
                self.slots.setdefault(g, {})[int(m.eq_obj2id[e])] = e
        self._owner = np.full(m.ngeom, -1, dtype=int)
        self._body = {}
        for g in self.slots:
            self._owner[list(cm.block_geoms[g])] = g
            self._body[g] = int(cm.block_body[g])
        self._eqs = {g: np.array(sorted(s.values()), dtype=int) for g, s in self.slots.items()}
        self._static = frozenset(g for g, s in self.slots.items() if 0 in s)
        # bounding sphere of every body about its origin: farthest geom extent (rbound + margin)
        reach = np.linalg.norm(m.geom_pos, axis=1) + m.geom_rbound + m.geom_margin
        radius = np.zeros(m.nbody)
        np.maximum.at(radius, m.geom_bodyid, reach)
        bodies: dict[int, int] = {}
        self._pairs = {}
        for g, slot in self.slots.items():   # the world (body 0) is left out: see check
            self._pairs[g] = [(bodies.setdefault(self._body[g], len(bodies)),
                               bodies.setdefault(b, len(bodies))) for b in sorted(slot) if b]
        self._bodies = np.array(list(bodies), dtype=int)
        self._radius = radius[self._bodies].tolist()
        self._root = m.body_rootid[self._bodies]

    @property
    def active(self) -> bool:
        return bool(self.slots)

    def holding(self, g: int, d: mujoco.MjData) -> bool:
        eqs = self._eqs.get(g)
        return eqs is not None and bool(d.eq_active[eqs].any())

    def release(self, g: int, m: mujoco.MjModel, d: mujoco.MjData) -> None:
        """Let go of whatever grabber ``g`` holds; it stays open until ``close(g)``."""
        self.open_.add(g)
        for body, e in self.slots.get(g, {}).items():
            if d.eq_active[e]:
                d.eq_active[e] = 0
                self.ignore.setdefault(g, set()).add(m.body(body).name)

    def close(self, g: int) -> None:
        self.open_.discard(g)

    def check(self, m: mujoco.MjModel, d: mujoco.MjData) -> int | None:
        """Grab what touches a grabber's front (one body per grabber); return the number of steps
        until the next check is needed, or None while no grabber can grab (all holding or open)
        and none waits for a released body to leave (a key press or recompile changes that)."""
        live = [g for g in self.slots
                if self.ignore.get(g) or (g not in self.open_ and not self.holding(g, d))]
        if not live:
            return None
        fine = max(int(self.params.grab_check_every), 1)
        if self._static.intersection(live):
            self._scan(m, d)
            return fine
        # bounding spheres about the body origins (rotation cannot move them), closing speed
        # bounded by both origins' speeds; a few bodies, so plain floats beat numpy here
        b = self._bodies
        xs = d.xpos[b].tolist()
        cv = d.cvel[b].tolist()
        com = d.subtree_com[self._root].tolist()
        speed = []
        for (x0, x1, x2), (w0, w1, w2, l0, l1, l2), (c0, c1, c2) in zip(xs, cv, com, strict=True):
            r0, r1, r2 = x0 - c0, x1 - c1, x2 - c2       # cvel is about the tree's centre of mass
            v0, v1, v2 = l0 + w1 * r2 - w2 * r1, l1 + w2 * r0 - w0 * r2, l2 + w0 * r1 - w1 * r0
            speed.append(math.sqrt(v0 * v0 + v1 * v1 + v2 * v2))
        dt = float(m.opt.timestep)
        tau_fine = fine * dt
        acc = max(float(self.params.grab_reach_accel), 1e-9)
        steps = max(int(self.params.grab_check_max), fine)
        rad = self._radius
        for g in live:
            for i, j in self._pairs[g]:
                (a0, a1, a2), (b0, b1, b2) = xs[i], xs[j]
                gap = math.sqrt((a0 - b0) ** 2 + (a1 - b1) ** 2 + (a2 - b2) ** 2) - rad[i] - rad[j]
                close = speed[i] + speed[j]
                # how far the pair may close in tau: twice its closing speed, plus acc
                if gap <= 2.0 * close * tau_fine + 0.5 * acc * tau_fine * tau_fine:
                    self._scan(m, d)
                    return fine
                tau = (math.sqrt(4.0 * close * close + 2.0 * acc * gap) - 2.0 * close) / acc
                steps = min(steps, max(int(tau / dt), fine))
        for g in live:              # every body is out of reach: none touches, re-arm them all
            self.ignore.pop(g, None)
        return steps

    def _scan(self, m: mujoco.MjModel, d: mujoco.MjData) -> None:
        """Look at the current contacts: grab on the front, track released bodies still touching."""
        n = d.ncon
        geoms = d.contact.geom[:n]
        own = self._owner[geoms] if n else np.zeros((0, 2), int)
        touching: dict[int, set[int]] = {}
        front: dict[int, tuple[int, int]] = {}
        for k in np.flatnonzero((own >= 0).any(axis=1)):
            side = 0 if own[k, 0] >= 0 else 1
            g = int(own[k, side])
            body = int(m.geom_bodyid[geoms[k, 1 - side]])
            e = self.slots[g].get(body)
            if e is None:
                continue
            touching.setdefault(g, set()).add(body)
            gb = self._body[g]
            local = d.xmat[gb].reshape(3, 3).T @ (d.contact.pos[k] - d.xpos[gb])
            if local[1] >= self.params.grab_front and g not in front:  # MuJoCo y = Besiege z
                front[g] = (body, e)
        for g, names in self.ignore.items():   # re-arm once a released body no longer touches
            near = {m.body(b).name for b in touching.get(g, ())}
            names.intersection_update(near)
        for g, (body, e) in front.items():
            if g in self.open_ or self.holding(g, d) or m.body(body).name in self.ignore.get(g, ()):
                continue
            pos, quat = _rel_pose(m, d, self._body[g], body)
            m.eq_data[e, 0:3] = 0.0
            m.eq_data[e, 3:6] = pos
            m.eq_data[e, 6:10] = quat
            d.eq_active[e] = 1


class MachineControls:
    """Everything keys do to one compiled machine during an episode.

    ``ctrl(held)`` gives the actuator controls, ``press(t, m, d)`` handles key edges (grabber
    releases; returns the decouplers that fire), ``check(m, d)`` runs grab-on-contact, and
    ``use(cm)`` re-indexes after a recompile."""

    def __init__(self, cm: CompiledMachine, schedule: ControlSchedule | None = None,
                 bindings: Bindings | None = None, wheels_automatic: bool = True) -> None:
        self.schedule = schedule or ControlSchedule()
        self.params = cm.params
        self.bindings = resolve_bindings(cm.placed, cm.roles, bindings, cm.params, wheels_automatic)
        self.fired: set[int] = set()
        self._held: frozenset[str] = frozenset()
        self.grabbers = GrabberRuntime(cm.params)
        self.use(cm)

    def use(self, cm: CompiledMachine) -> None:
        """Map keys to actuators of ``cm`` (after compiling or recompiling)."""
        self.cm = cm
        m, p = cm.model, cm.params
        self.base = np.zeros(m.nu)
        self.by_key: dict[str, list[tuple[int, float]]] = {}
        self.coast: dict[int, float] = {}        # free-spinning when released: actuator -> kv

        def bind(key: str | bool | None, act: int, value: float) -> None:
            if isinstance(key, str) and key:
                self.by_key.setdefault(key, []).append((act, value))

        for a in range(m.nu):
            name = m.actuator(a).name
            if not name.startswith("a") or not name[1:].isdigit():
                continue
            i = int(name[1:])
            role, keys = cm.roles[i], self.bindings.get(i, {})
            if role in (Role.POWERED_WHEEL, Role.SPINNING):
                fwd = forward_ctrl(role, cm.placed.blocks[i].flipped, p)
                if keys.get("automatic"):
                    self.base[a] = fwd
                else:
                    bind(keys.get("forward"), a, fwd)
                    bind(keys.get("backward"), a, -fwd)
                    if role is Role.POWERED_WHEEL and not p.wheel_auto_brake:
                        self.coast[a] = float(m.actuator_gainprm[a, 0])
            elif role in (Role.STEER_HINGE, Role.STEER_BLOCK):
                bind(keys.get("left"), a, p.steering_speed)
                bind(keys.get("right"), a, -p.steering_speed)
            elif role is Role.BAND:
                bind(keys.get("contract"), a, 1.0)
            elif role is Role.WINCH:
                bind(keys.get("contract"), a, -p.winch_speed)
                bind(keys.get("unwind"), a, p.winch_speed)
        self.grabbers.use(cm)

    @property
    def mutates_model(self) -> bool:
        """Whether ``apply``/``check`` write into the model (grab poses, coasting wheels): the
        simulator then steps a private copy of it."""
        return self.grabbers.active or bool(self.coast)

    # --- keys ------------------------------------------------------------------------------------
    def apply(self, m: mujoco.MjModel, d: mujoco.MjData, t: float) -> None:
        """Set the controls for time ``t``; released coasting wheels get zero servo gains."""
        held = self.held(t)
        d.ctrl[:] = self.ctrl(held)
        if self.coast:
            driven = {a for key in held for a, _ in self.by_key.get(key, ())}
            for a, kv in self.coast.items():
                on = kv if a in driven else 0.0
                m.actuator_gainprm[a, 0] = on
                m.actuator_biasprm[a, 2] = -on

    def held(self, t: float) -> frozenset[str]:
        """Keys held at time ``t``."""
        return frozenset(k for k in self.schedule.keys if self.schedule.held(k, t))

    def ctrl(self, held: Iterable[str]) -> np.ndarray:
        """Actuator controls with ``held`` keys pressed (opposite keys cancel)."""
        u = self.base.copy()
        for key in held:
            for a, v in self.by_key.get(key, ()):
                u[a] += v
        return u

    def _blocks_on(self, role: Role, action: str, keys: Iterable[str]) -> list[int]:
        keys = set(keys)
        return [i for i, b in self.bindings.items()
                if self.cm.roles[i] is role and b.get(action) in keys]

    def press(self, t: float, m: mujoco.MjModel, d: mujoco.MjData) -> list[int]:
        """Update key state at ``t``: grabbers open/close; returns decouplers firing now."""
        held = self.held(t)
        pressed, released = held - self._held, self._held - held
        self._held = held
        for g in self._blocks_on(Role.GRABBER, "release", pressed):
            self.grabbers.release(g, m, d)
        for g in self._blocks_on(Role.GRABBER, "release", released):
            if g not in self._blocks_on(Role.GRABBER, "release", held):
                self.grabbers.close(g)
        fire = [i for i in self._blocks_on(Role.DECOUPLER, "detach", pressed) if i not in self.fired]
        self.fired.update(fire)
        return fire

    def children(self, decouplers: Iterable[int]) -> list[int]:
        """Blocks attached to the front of ``decouplers`` (freed when they fire)."""
        dec = set(decouplers)
        roles = self.cm.roles
        return [b.index for b in self.cm.placed.blocks
                if b.parents and b.parents[0] in dec and roles[b.index] not in LINEAR_ROLES
                and b.index not in self.cm.detached]

    def push_apart(self, m: mujoco.MjModel, d: mujoco.MjData, decouplers: Iterable[int]) -> None:
        """Equal and opposite impulses (``decoupler_impulse``) along each fired decoupler's axis
        on its freed children and on the body tree it stays with."""
        cm = self.cm
        for dec in decouplers:
            body = int(cm.block_body[dec])
            axis = d.xmat[body].reshape(3, 3)[:, 1]          # block +z (Besiege) = MuJoCo local y
            kids = [int(cm.block_body[c]) for c in self.children_of(dec)]
            for kb in kids:
                _kick(m, d, kb, axis * self.params.decoupler_impulse)
            if kids:
                _kick(m, d, int(m.body_rootid[body]), -axis * self.params.decoupler_impulse * len(kids))
        mujoco.mj_forward(m, d)

    def children_of(self, dec: int) -> list[int]:
        roles = self.cm.roles
        return [b.index for b in self.cm.placed.blocks
                if b.parents and b.parents[0] == dec and roles[b.index] not in LINEAR_ROLES]

    def check(self, m: mujoco.MjModel, d: mujoco.MjData) -> int | None:
        """Periodic work between key switches (grab on contact); returns the steps until it is
        next needed, None until a key press or recompile (``GrabberRuntime.check``)."""
        return self.grabbers.check(m, d)


def _kick(m: mujoco.MjModel, d: mujoco.MjData, body: int, impulse: np.ndarray) -> None:
    """Add ``impulse / subtree mass`` to the linear velocity of a free-floating body tree."""
    j = int(m.body_jntadr[body])
    if body <= 0 or j < 0 or m.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE:
        return
    mass = float(m.body_subtreemass[body])
    if mass > 0:
        adr = int(m.jnt_dofadr[j])
        d.qvel[adr:adr + 3] += impulse / mass
