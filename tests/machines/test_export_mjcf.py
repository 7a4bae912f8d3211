"""MJCF export: machines, levels and scenes load back in MuJoCo as the same model."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from brickfield.machines.design.parse import parse_tree
from brickfield.machines.design.placement import place
from brickfield.machines.io.mjcf import (
    add_level_geoms,
    level_spec,
    level_to_mjcf,
    machine_to_mjcf,
    scene_to_mjcf,
)
from brickfield.machines.levels.registry import Box, get_level
from brickfield.machines.sim.compile import besiege_to_mj_vec, compile_machine
from brickfield.machines.sim.params import DEFAULT_PARAMS
from tests.machines._trees import CAR, RICH

COUNTS = ("nbody", "njnt", "nu", "ngeom", "neq", "ntendon", "nsite")


def _counts(m: mujoco.MjModel) -> tuple[int, ...]:
    return tuple(getattr(m, c) for c in COUNTS)


@pytest.mark.parametrize("tree", [CAR, RICH], ids=["car", "rich"])
def test_machine_loads_back_as_the_same_model(tree):
    placed = place(parse_tree(tree))
    compiled = compile_machine(placed)
    model = mujoco.MjModel.from_xml_string(machine_to_mjcf(placed))
    assert _counts(model) == _counts(compiled.model)
    for field in ("body_pos", "body_quat", "body_mass", "geom_size", "geom_friction", "jnt_range",
                  "actuator_gainprm"):
        assert np.allclose(getattr(model, field), getattr(compiled.model, field), atol=1e-6), field
    assert model.opt.timestep == pytest.approx(compiled.model.opt.timestep)
    data = mujoco.MjData(model)
    mujoco.mj_step(model, data, nstep=20)
    assert np.all(np.isfinite(data.qpos))


def test_level_has_ground_and_obstacles():
    level = get_level("car", 1)
    model = mujoco.MjModel.from_xml_string(level_to_mjcf(level))
    names = [model.geom(i).name for i in range(model.ngeom)]
    assert names == ["ground"] + [b.name for b in level.obstacles]
    for box in level.obstacles:
        g = model.geom(box.name)
        assert g.size == pytest.approx(besiege_to_mj_vec(box.size) / 2)
        assert g.pos == pytest.approx(besiege_to_mj_vec(box.center))
        assert g.friction[0] == pytest.approx(box.friction)
    assert model.geom("ground").type == mujoco.mjtGeom.mjGEOM_PLANE
    assert model.geom("ground").friction[0] == pytest.approx(DEFAULT_PARAMS.ground_friction)
    empty = mujoco.MjModel.from_xml_string(level_to_mjcf(get_level("catapult", 1)))
    assert empty.ngeom == 1


def test_scene_is_machine_plus_obstacles():
    placed = place(parse_tree(CAR))
    level = get_level("car", 1)
    scene = mujoco.MjModel.from_xml_string(scene_to_mjcf(placed, level))
    alone = mujoco.MjModel.from_xml_string(machine_to_mjcf(placed))
    assert (scene.nbody, scene.njnt, scene.nu) == (alone.nbody, alone.njnt, alone.nu)
    assert scene.ngeom == alone.ngeom + len(level.obstacles)
    assert _counts(scene) == _counts(compile_machine(placed, obstacles=level.obstacles).model)


def test_add_level_geoms_matches_the_physics_module():
    # The helper must give obstacles exactly the geoms compile_machine gives them.
    boxes = (Box((1.0, 0.5, 4.0), (2.0, 1.0, 3.0), (0.0, 0.38268343, 0.0, 0.92387953), name="ramp"),
             Box((0.0, 0.0, -5.0), (4.0, 1.0, 1.0), friction=0.1))
    spec = mujoco.MjSpec()
    add_level_geoms(spec, boxes)
    mine = spec.compile()
    theirs = compile_machine(place(parse_tree(CAR)), obstacles=boxes).model
    for i in range(mine.ngeom):
        a, b = mine.geom(i), theirs.geom(i)
        assert a.name == b.name
        for attr in ("type", "size", "pos", "quat", "friction", "priority"):
            assert np.allclose(getattr(a, attr), getattr(b, attr), atol=1e-9), attr
    assert level_spec(get_level("car", 1)).modelname == "car_level1"


def test_level_with_meshes_objects_and_triggers_is_the_simulated_world():
    placed = place(parse_tree(CAR))
    for task, n in (("catapult", 11), ("delivery", 5), ("fetch", 1)):
        level = get_level(task, n)
        sim = level.place(placed)
        scene = mujoco.MjModel.from_xml_string(scene_to_mjcf(placed, level))
        assert _counts(scene) == _counts(compile_machine(sim, level=level).model)
        alone = mujoco.MjModel.from_xml_string(level_to_mjcf(level))
        assert alone.nbody == 1 + len(level.goal_objects) + sum(o.dynamic for o in level.obstacles)
        shown = mujoco.MjModel.from_xml_string(level_to_mjcf(level, triggers=True))
        trig = [shown.geom(f"trigger_{t.name}") for t in level.triggers]
        assert shown.ngeom == alone.ngeom + len(level.triggers)
        assert all(g.contype == 0 and g.conaffinity == 0 and g.group == 3 for g in trig)
    fetch = get_level("fetch", 1)
    scene = mujoco.MjModel.from_xml_string(scene_to_mjcf(placed, fetch))
    assert scene.body("b0").pos[2] == pytest.approx(placed.blocks[0].position[1] + 15.0)  # on the platform
