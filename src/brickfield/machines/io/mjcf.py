"""MuJoCo MJCF export of machines, levels and whole scenes.

Everything goes through ``mujoco.MjSpec`` so the XML is exactly the model the simulator runs:
``machine_to_mjcf`` compiles the machine with ``sim.compile.compile_machine`` and serialises its spec,
``scene_to_mjcf`` does the same inside a level (the machine moved to the level's spawn, the level's
obstacles and loose objects added), and ``level_to_mjcf`` writes just the level. Level geometry is
built by ``world.add_world`` only (``add_level_geoms`` is a thin alias kept for callers), so an
exported level is the simulated one; ``level_to_mjcf`` can add the trigger volumes as hidden,
non-colliding boxes for inspection.
"""

from __future__ import annotations

from collections.abc import Iterable

import mujoco

from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.levels.registry import Box, Level
from brickfield.machines.levels.schema import Primitive
from brickfield.machines.sim.compile import compile_machine, to_mjcf
from brickfield.machines.sim.params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.sim.world import add_trigger_volumes, add_world

__all__ = ["add_level_geoms", "level_spec", "level_to_mjcf", "machine_to_mjcf", "scene_to_mjcf"]


def machine_to_mjcf(placed: PlacedMachine, params: PhysicsParams | None = None) -> str:
    """MJCF of ``placed`` on a flat ground (what ``simulate`` runs without a level)."""
    return to_mjcf(compile_machine(placed, params or DEFAULT_PARAMS))


def scene_to_mjcf(placed: PlacedMachine, level: Level, params: PhysicsParams | None = None) -> str:
    """MJCF of ``placed`` inside ``level``: ground, the level's obstacles and loose objects, and the
    machine at the level's spawn (exactly the model ``tasks.evaluate_machine`` simulates)."""
    return to_mjcf(compile_machine(level.place(placed), params or DEFAULT_PARAMS, level=level))


def add_level_geoms(spec: mujoco.MjSpec, obstacles: Iterable[Box | Primitive],
                    params: PhysicsParams = DEFAULT_PARAMS, *, ground: bool = True) -> None:
    """Add the ground plane and ``obstacles`` to ``spec`` (``world.add_world``)."""
    add_world(spec, obstacles, (), params, ground=ground)


def level_spec(level: Level, params: PhysicsParams | None = None, *,
               triggers: bool = False) -> mujoco.MjSpec:
    """A compiled ``MjSpec`` of ``level`` alone (ground, obstacles, loose objects, simulator
    options; with ``triggers`` also the trigger volumes, hidden and non-colliding)."""
    params = params or DEFAULT_PARAMS
    spec = mujoco.MjSpec()
    spec.modelname = level.name
    spec.option.timestep = params.timestep
    spec.option.gravity = [0.0, 0.0, -params.gravity]
    add_world(spec, level.obstacles, level.goal_objects, params)
    if triggers:
        add_trigger_volumes(spec, level.triggers)
    spec.compile()  # to_xml needs a compiled spec; this also validates the geoms
    return spec


def level_to_mjcf(level: Level, params: PhysicsParams | None = None, *, triggers: bool = False) -> str:
    """MJCF of ``level`` (loadable with ``MjModel.from_xml_string``)."""
    return level_spec(level, params, triggers=triggers).to_xml()
