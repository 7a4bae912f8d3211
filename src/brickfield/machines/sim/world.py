"""The level world in MuJoCo: the one place that turns level geometry into MuJoCo elements.

``add_world`` adds the ground plane, every obstacle and every loose level object to an ``MjSpec``;
``sim.compile.compile_machine`` (the simulated model) and ``io.mjcf`` (level/scene files) both call
it, so what is exported is what is simulated.

* Static obstacles are world-body geoms: ``box`` -> box, ``sphere`` -> sphere (ellipsoid when the
  three sizes differ), ``cylinder`` -> cylinder (a convex mesh when its cross-section is elliptic),
  ``cone``/``wedge``/``mesh`` (quarter-pipe, quarter-cylinder, ring) -> one convex mesh geom per
  piece of ``Primitive.convex_pieces()``; MuJoCo collides each piece as its convex hull.
  Obstacles take priority in friction (their ``bmt-friction``, e.g. the zero-friction car walls,
  wins over the block's).
* Dynamic obstacles (``dynamic: true``, the characters of delivery 5-7) and goal objects (the iron
  ore) are free bodies with their stored mass, named ``o_<name>`` (free joint ``fo_<name>``, so a
  recompile carries their state over by name).

Frames go through ``frames`` only: a Besiege-local vertex ``p`` of a primitive at centre ``c`` with
rotation ``q`` is the MuJoCo-local vertex ``S p`` of a geom at ``S c`` with quaternion
``besiege_to_mj_quat(q)`` (``S`` the axis swap).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from brickfield.machines.levels.registry import Box
from brickfield.machines.levels.schema import GoalObject, Primitive, Trigger, Wind
from brickfield.machines.sim.frames import besiege_to_mj_quat, besiege_to_mj_vec
from brickfield.machines.sim.params import DEFAULT_PARAMS, PhysicsParams

__all__ = ["WorldObject", "add_trigger_volumes", "add_world", "as_primitive", "wind_acceleration"]

_GEOM = mujoco.mjtGeom


@dataclass(frozen=True)
class WorldObject:
    """A loose level object in the compiled model (recorded in the trace, tested by triggers)."""

    name: str                   # the level's name (``iron_ore``, ``npc_b_0``)
    kind: str                   # "goal" (goal object) | "dynamic" (dynamic obstacle)
    body: str                   # MuJoCo body name
    radius: float               # radius of the sphere that stands for it in trigger tests (m)
    mass: float
    reported_as: str | None = None   # the reference's log name (``GOAL_IronOre``)


def as_primitive(o: Primitive | Box) -> Primitive:
    """A ``levels.Box`` as a box ``Primitive`` (``Primitive`` passes through)."""
    if isinstance(o, Primitive):
        return o
    return Primitive(name=o.name, shape="box", center=tuple(o.center), size=tuple(o.size),
                     rotation=tuple(o.rotation), friction=o.friction)


def _elliptic_prism(size: np.ndarray, n: int = 16) -> np.ndarray:
    """Vertices of a cylinder with an elliptic cross-section (axis local y), Besiege local frame."""
    w, h, d = size / 2.0
    ang = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    ring = np.stack([w * np.cos(ang), np.zeros(n), d * np.sin(ang)], axis=1)
    up = np.array([0.0, h, 0.0])
    return np.vstack([ring - up, ring + up])


def _native(prim: Primitive) -> tuple[mujoco.mjtGeom, list[float]] | None:
    """MuJoCo geom type and size for shapes MuJoCo has natively, else None."""
    size = np.asarray(prim.size, float)
    half = besiege_to_mj_vec(size / 2.0)
    if prim.shape == "box":
        return _GEOM.mjGEOM_BOX, list(half)
    if prim.shape == "sphere":
        if np.ptp(size) < 1e-9:
            return _GEOM.mjGEOM_SPHERE, [size[0] / 2.0, 0.0, 0.0]
        return _GEOM.mjGEOM_ELLIPSOID, list(half)
    if prim.shape == "cylinder" and abs(size[0] - size[2]) < 1e-9:
        # Besiege local y (the axis) is MuJoCo local z, MuJoCo's cylinder axis
        return _GEOM.mjGEOM_CYLINDER, [size[0] / 2.0, size[1] / 2.0, 0.0]
    return None


def _pieces(prim: Primitive) -> list[np.ndarray]:
    """Convex vertex sets (Besiege local frame) for shapes MuJoCo lacks."""
    if prim.shape == "cylinder":
        return [_elliptic_prism(np.asarray(prim.size, float))]
    pieces = prim.convex_pieces()
    if not pieces:
        raise ValueError(f"{prim.name}: no geometry for shape {prim.shape!r} ({prim.mesh})")
    return pieces


def _add_shape(spec: mujoco.MjSpec, body: mujoco.MjsBody, prim: Primitive, name: str,
               pos: Sequence[float], quat: Sequence[float], friction: list[float],
               mass: float | None, meshes: dict[tuple[object, ...], str]) -> list[mujoco.MjsGeom]:
    """Geoms of ``prim`` on ``body`` at ``pos``/``quat`` (MuJoCo, relative to the body).

    ``meshes`` maps (shape, profile, size, piece) to an existing mesh asset: identical shapes
    (e.g. the four cones of a variant's cone group) share one, which keeps compiling fast
    (MuJoCo computes a convex hull and inertia per mesh asset)."""
    native = _native(prim)
    if native is not None:
        gtype, size = native
        g = body.add_geom(name=name, type=gtype, size=size, pos=list(pos), quat=list(quat),
                          friction=friction)
        if mass is not None:
            g.mass = mass
        return [g]
    geoms = []
    pieces = _pieces(prim)
    for k, verts in enumerate(pieces):
        key = (prim.shape, prim.mesh, tuple(round(float(v), 6) for v in prim.size), k)
        mesh = meshes.get(key)
        if mesh is None:
            mesh = meshes[key] = f"mesh_{name}_{k}"
            spec.add_mesh(name=mesh, uservert=besiege_to_mj_vec(verts).ravel().tolist())
        g = body.add_geom(name=f"{name}_{k}" if len(pieces) > 1 else name, type=_GEOM.mjGEOM_MESH,
                          meshname=mesh, pos=list(pos), quat=list(quat), friction=friction)
        if mass is not None:
            g.mass = mass / len(pieces)   # pieces of a dynamic object share its mass evenly
        geoms.append(g)
    return geoms


def add_world(spec: mujoco.MjSpec, obstacles: Iterable[Primitive | Box] = (),
              goal_objects: Iterable[GoalObject] = (), params: PhysicsParams | None = None, *,
              ground: bool = True) -> tuple[WorldObject, ...]:
    """Add the ground plane (MuJoCo z = 0, Besiege y = 0), static obstacles and loose objects
    (dynamic obstacles, goal objects) to ``spec``; return the loose objects."""
    params = params or DEFAULT_PARAMS
    tors, roll = params.torsional_friction, params.rolling_friction
    world = spec.worldbody
    if ground:
        world.add_geom(name="ground", type=_GEOM.mjGEOM_PLANE, size=[0, 0, 1],
                       friction=[params.ground_friction, tors, roll])
    objects: list[WorldObject] = []
    meshes: dict[tuple[object, ...], str] = {}
    for k, raw in enumerate(obstacles):
        prim = as_primitive(raw)
        name = prim.name or f"obstacle{k}"
        fr = params.obstacle_friction if prim.friction is None else prim.friction
        pos, quat = besiege_to_mj_vec(prim.center), besiege_to_mj_quat(prim.rotation)
        if prim.dynamic:
            objects.append(_add_loose(spec, prim, name, "dynamic", float(prim.mass or 1.0),
                                      [fr, tors, roll], None, meshes))
            continue
        for g in _add_shape(spec, world, prim, name, pos, quat, [fr, tors, roll], None, meshes):
            g.priority = 1  # the obstacle's friction wins (MuJoCo would take the larger of the two)
    for goal in goal_objects:
        prim = Primitive(name=goal.name, shape=goal.shape, center=goal.center, size=goal.size,
                         rotation=goal.rotation)
        objects.append(_add_loose(spec, prim, goal.name, "goal", float(goal.mass),
                                  [params.goal_friction, tors, roll], goal.reported_as, meshes))
    return tuple(objects)


def _add_loose(spec: mujoco.MjSpec, prim: Primitive, name: str, kind: str, mass: float,
               friction: list[float], reported_as: str | None,
               meshes: dict[tuple[object, ...], str]) -> WorldObject:
    body = spec.worldbody.add_body(name=f"o_{name}", pos=list(besiege_to_mj_vec(prim.center)),
                                   quat=list(besiege_to_mj_quat(prim.rotation)))
    body.add_freejoint(name=f"fo_{name}")
    _add_shape(spec, body, prim, f"g_{name}", [0, 0, 0], [1, 0, 0, 0], friction, mass, meshes)
    return WorldObject(name, kind, f"o_{name}", 0.5 * float(min(prim.size)), mass, reported_as)


def add_trigger_volumes(spec: mujoco.MjSpec, triggers: Iterable[Trigger]) -> None:
    """Trigger volumes as non-colliding, translucent boxes in geom group 3 (hidden by default in
    MuJoCo's viewer): for looking at exported levels only, never added to the simulated model."""
    for t in triggers:
        g = spec.worldbody.add_geom(name=f"trigger_{t.name}", type=_GEOM.mjGEOM_BOX,
                                    size=list(besiege_to_mj_vec(np.asarray(t.size, float) / 2)),
                                    pos=list(besiege_to_mj_vec(t.center)),
                                    quat=list(besiege_to_mj_quat(t.rotation)))
        g.contype = g.conaffinity = 0
        g.group = 3
        g.rgba = [0.2, 0.8, 0.2, 0.25]


def wind_acceleration(wind: Wind | None, params: PhysicsParams) -> np.ndarray | None:
    """The wind's acceleration vector (Besiege frame, m/s^2), or None without wind.

    Strength: the level's ``Wind.strength`` when set, else ``params.wind_acceleration`` (level
    files never store one)."""
    if wind is None:
        return None
    strength = params.wind_acceleration if wind.strength is None else float(wind.strength)
    direction = np.asarray(wind.direction, float)
    norm = float(np.linalg.norm(direction))
    if strength == 0.0 or norm == 0.0:
        return None
    return direction / norm * strength
