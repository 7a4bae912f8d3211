"""Level data: every packaged level loads and validates; counts, durations and block limits agree with
the reference menus when shared/ is present; variants are seeded; bad names and bad data raise."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from brickfield.machines.levels.schema import (
    LevelSpec,
    UnknownLevelError,
    list_levels,
    load_level,
    make_variant,
    validate_level_dict,
)

SHARED = Path(os.environ.get("BRICKFIELD_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
ENV_FILES = SHARED / "reference/besiegefield/environments/env_files"
MENUS = ENV_FILES / "level_menus.json"
LEVEL_DATA = Path(__file__).resolve().parents[2] / "src/brickfield/machines/levels/data"
needs_shared = pytest.mark.skipif(not MENUS.exists(), reason="shared reference data not present")


def _split(name: str) -> tuple[str, int]:
    task, num = name.split("_level")
    return task, int(num)


ALL = [_split(n) for n in list_levels()]


@pytest.mark.parametrize(("task", "number"), ALL, ids=[f"{t}{n}" for t, n in ALL])
def test_every_level_loads_and_is_consistent(task: str, number: int) -> None:
    spec = load_level(task, number)
    assert isinstance(spec, LevelSpec) and spec.name == f"{task}_level{number}"
    assert spec.duration > 0 and spec.prompt and spec.allowed_blocks
    assert {"0", "1", "2"} <= set(spec.allowed_blocks)
    for key, spans in spec.schedule.items():
        assert all(0 <= a < b <= spec.duration for a, b in spans), key
    for prim in (*spec.obstacles, *spec.triggers, *spec.goal_objects):
        assert min(prim.size) > 0 and abs(np.linalg.norm(prim.rotation) - 1) < 1e-4, prim.name
    for prim in spec.obstacles:
        pieces = prim.convex_pieces()
        if pieces is not None:  # every piece stays inside the primitive's bounding box
            half = np.asarray(prim.size) / 2 * (1 + 1e-6) + 1e-9
            assert all(np.all(np.abs(p) <= half) for p in pieces), prim.name
    if spec.win_condition == "Target_deliver":
        assert spec.goal_objects and any(t.wins and t.target == "object:iron_ore" for t in spec.triggers)
    if spec.task == "catapult":
        assert dict(spec.schedule) == {"L": ((0.0, spec.duration),)}


def test_counts_per_task() -> None:
    tasks = [t for t, _ in ALL]
    assert {t: tasks.count(t) for t in set(tasks)} == {"car": 5, "catapult": 11, "delivery": 9, "fetch": 1}


def test_known_facts() -> None:
    car1 = load_level("car", 1)
    walls = sorted(o.center[0] for o in car1.obstacles if o.size == (1.0, 10.0, 1000.0))
    assert walls == [-12.0, 12.0] and all(o.friction == 0 for o in car1.obstacles)
    assert load_level("car", 5).duration == 20
    wind = load_level("catapult", 7).wind
    assert wind is not None and wind.direction == (0, -1, 0) and wind.strength is None
    ring = load_level("catapult", 8)
    assert any(o.mesh == "ring" for o in ring.obstacles) and all(t.wins for t in ring.triggers)
    assert all(t.progress == 50 and not t.wins for t in load_level("catapult", 11).triggers)
    fetch = load_level("fetch", 1)
    assert fetch.spawn == (0.0, 20.05, 0.0) and not fetch.wheels_automatic and fetch.duration == 22
    assert dict(fetch.schedule) == {"UpArrow": ((0.0, 1.0),), "V": ((1.0, 1.05),), "M": ((1.0, 11.0),),
                                    "N": ((11.0, 21.0),)}
    assert load_level("delivery", 1).goal_objects[0].mass == 2


def _menu_duration(instructions: list[str]) -> float:
    """Simulated time = sleeps after ToggleSimulate + the WaitingStop timeout."""
    started, total = False, 0.0
    for ins in instructions:
        started = started or ins.startswith("ToggleSimulate")
        if started and ins.startswith(("sleep", "WaitingStop")):
            total += float(ins.split()[1])
    return total


@needs_shared
def test_durations_blocks_and_prompts_match_reference_menus() -> None:
    menus = json.loads(MENUS.read_text(encoding="utf-8"))
    assert {k.split("/")[1] for k in menus} == set(list_levels())
    for key, menu in menus.items():
        spec = load_level(*_split(key.split("/")[1]))
        assert spec.duration == pytest.approx(_menu_duration(menu["instructions"])), key
        assert spec.win_condition == menu["win_condition"], key
        assert spec.target_name == menu.get("target_name"), key
        if "block_limitations" in menu:
            assert spec.allowed_blocks == tuple(str(b) for b in sorted(menu["block_limitations"])), key
        else:  # delivery 5-7 carry neither prompt nor block list in the menu
            assert spec.prompt_source == "brickfield" and spec.notes, key


@needs_shared
def test_spawns_match_reference_levels() -> None:
    import xml.etree.ElementTree as ET

    for name in list_levels():
        root = ET.fromstring((ENV_FILES / "levels" / f"{name}.blv").read_text(encoding="utf-8-sig"))
        pos = next(o.find("Position") for o in root.iter("Object") if o.get("Prefab") == "9001")
        assert load_level(*_split(name)).spawn == tuple(float(pos.get(k)) for k in "xyz"), name


@needs_shared
def test_converter_reproduces_packaged_files(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[2] / "scripts/convert_blv.py"
    mod_spec = importlib.util.spec_from_file_location("convert_blv", path)
    assert mod_spec and mod_spec.loader
    mod = importlib.util.module_from_spec(mod_spec)
    sys.modules["convert_blv"] = mod  # dataclasses look their module up while the class is built
    try:
        mod_spec.loader.exec_module(mod)
    finally:
        sys.modules.pop("convert_blv", None)
    assert mod.main([str(ENV_FILES), "--out", str(LEVEL_DATA), "--check"]) == 0


def test_variants_are_seeded() -> None:
    base = load_level("car", 1)
    a, b, c = make_variant(base, 7), make_variant(base, 7), make_variant(base, 8)
    assert a == b and a != c
    assert len(a.obstacles) == len(base.obstacles) + 150 + 4 * 20 and a.wind is not None
    assert a.variant is not None and a.variant["seed"] == 7
    small = make_variant(load_level("delivery", 2), 1, n_stones=3, n_cones=1, wind=2.5)
    assert len(small.obstacles) == len(load_level("delivery", 2).obstacles) + 3 + 4
    assert small.wind is not None and small.wind.strength == 2.5 and small.wind.direction[1] == 0
    for prim in a.obstacles[len(base.obstacles):]:  # nothing in the build area, all on the ground
        assert abs(prim.center[0]) >= 9 or abs(prim.center[2]) >= 9
        assert prim.center[1] == pytest.approx(prim.size[1] / 2)
    assert base == load_level("car", 1) and base.variant is None  # the original is untouched
    with pytest.raises(ValueError, match="non-negative"):
        make_variant(base, -1)


@pytest.mark.parametrize("args", [("car", 0), ("car", 6), ("boat", 1), ("catapult", 12), ("fetch", 2)])
def test_unknown_levels_raise(args: tuple[str, int]) -> None:
    with pytest.raises(UnknownLevelError, match="known levels") as info:
        load_level(*args)
    assert isinstance(info.value, KeyError) and "car_level1" in str(info.value)


def test_bad_level_data_is_rejected() -> None:
    good = json.loads((LEVEL_DATA / "delivery_level1.json").read_text(encoding="utf-8"))
    validate_level_dict(good)

    def broken(edit: str) -> dict:
        data = json.loads(json.dumps(good))
        exec(edit, {"d": data})
        return data

    for edit in ("d['obstacles'][0]['size'][0] = -1", "d['obstacles'][0]['rotation'] = [0, 0, 0, 2]",
                 "d['obstacles'][0]['shape'] = 'mesh'", "d['obstacles'][0]['dynamic'] = True",
                 "d['schedule'] = {'L': [[0, 9]]}", "d['task'] = 'boat'", "d['extra'] = 1",
                 "d['triggers'][0]['target'] = 'object:nothing'", "d['allowed_blocks'] = ['x']"):
        with pytest.raises(ValueError):
            validate_level_dict(broken(edit))
