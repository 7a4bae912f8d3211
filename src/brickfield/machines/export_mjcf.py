"""MuJoCo MJCF export of machines, levels and whole scenes.

Everything goes through ``mujoco.MjSpec`` so the XML is exactly the model the simulator runs:
``machine_to_mjcf`` compiles the machine with ``physics.compile_machine`` and serialises its spec,
``scene_to_mjcf`` does the same with a level's obstacles, and ``level_to_mjcf`` writes just the
ground and obstacles. ``add_level_geoms`` is the one place that turns ``levels.Box`` obstacles into
MuJoCo geoms outside ``physics``; it follows the same conventions (Besiege -> MuJoCo axis swap,
half extents, obstacle friction wins over the block's) so the physics module can reuse it.
"""

from __future__ import annotations

from collections.abc import Iterable

import mujoco

from brickfield.machines.levels import Box, Level
from brickfield.machines.physics import besiege_to_mj_quat, besiege_to_mj_vec, compile_machine, to_mjcf
from brickfield.machines.physics_params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.types import PlacedMachine

__all__ = ["add_level_geoms", "level_spec", "level_to_mjcf", "machine_to_mjcf", "scene_to_mjcf"]


def machine_to_mjcf(placed: PlacedMachine, params: PhysicsParams | None = None) -> str:
    """MJCF of ``placed`` on a flat ground (what ``simulate`` runs without a level)."""
    return to_mjcf(compile_machine(placed, params or DEFAULT_PARAMS))


def scene_to_mjcf(placed: PlacedMachine, level: Level, params: PhysicsParams | None = None) -> str:
    """MJCF of ``placed`` inside ``level``: ground, the level's obstacles and the machine."""
    return to_mjcf(compile_machine(placed, params or DEFAULT_PARAMS, level.obstacles))


def add_level_geoms(spec: mujoco.MjSpec, obstacles: Iterable[Box],
                    params: PhysicsParams = DEFAULT_PARAMS, *, ground: bool = True) -> None:
    """Add the ground plane (MuJoCo z = 0, Besiege y = 0) and one static box per obstacle to the
    world body of ``spec``, with the friction ``params`` prescribes."""
    torsional, rolling = params.torsional_friction, params.rolling_friction
    if ground:
        spec.worldbody.add_geom(name="ground", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 1],
                                friction=[params.ground_friction, torsional, rolling])
    for k, box in enumerate(obstacles):
        g = spec.worldbody.add_geom(name=box.name or f"obstacle{k}", type=mujoco.mjtGeom.mjGEOM_BOX,
                                    size=list(besiege_to_mj_vec(box.size) / 2),  # MuJoCo: half sizes
                                    pos=list(besiege_to_mj_vec(box.center)),
                                    quat=list(besiege_to_mj_quat(box.rotation)))
        fr = params.obstacle_friction if box.friction is None else box.friction
        g.friction = [fr, torsional, rolling]
        g.priority = 1  # MuJoCo would otherwise take the larger friction of the two geoms


def level_spec(level: Level, params: PhysicsParams | None = None) -> mujoco.MjSpec:
    """A compiled ``MjSpec`` of ``level`` alone (ground + obstacles, simulator options set)."""
    params = params or DEFAULT_PARAMS
    spec = mujoco.MjSpec()
    spec.modelname = level.name
    spec.option.timestep = params.timestep
    spec.option.gravity = [0.0, 0.0, -params.gravity]
    add_level_geoms(spec, level.obstacles, params)
    spec.compile()  # to_xml needs a compiled spec; this also validates the geoms
    return spec


def level_to_mjcf(level: Level, params: PhysicsParams | None = None) -> str:
    """MJCF of ``level``'s ground and obstacles (loadable with ``MjModel.from_xml_string``)."""
    return level_spec(level, params).to_xml()
