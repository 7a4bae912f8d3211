"""Levels in simulation: every BesiegeField level, built from the packaged level data.

A :class:`Level` is everything the simulator and the scorers need besides the machine: duration,
key schedule, obstacles (every primitive shape of ``levels.schema.Primitive``), logic triggers, goal
objects (the iron ore), wind, the spawn point and the allowed blocks. All 26 levels come from
``levels.schema`` (``levels/data/*.json``, documented in ``docs/levels.md``); nothing is hand-coded
here (e.g. car_level1's walls stand on the ground, 0-10 m: the level files put a box's pivot at its
bottom).

    >>> lvl = get_level("delivery", 1)
    >>> lvl.win_condition, [g.name for g in lvl.goal_objects]
    ('Target_deliver', ['iron_ore'])

Coordinates are Besiege's (left-handed, x right, y up, z forward, metres; quaternions [x, y, z, w]).
Machines are auto-placed around (0, 5.05, 0) with their lowest point at y = 0.5 (``placement``);
:meth:`Level.place` moves them to the level's spawn (only fetch_level1 spawns elsewhere: on a
platform 15 m higher).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np

from brickfield.machines.design.types import PlacedMachine, Quat, Vec3
from brickfield.machines.levels.schema import (
    GoalObject,
    LevelSpec,
    Primitive,
    Terrain,
    Trigger,
    UnknownLevelError,
    Wind,
    list_levels,
    load_level,
    make_variant,
)

__all__ = ["CAR_BLOCKS", "CATAPULT_BLOCKS", "LEVELS", "Box", "ControlSchedule", "Level", "get_level",
           "level_from_spec", "list_levels"]

#: Where ``placement`` builds every machine (BesiegeField's spawn point of most levels).
DEFAULT_SPAWN: Vec3 = (0.0, 5.05, 0.0)


@dataclass(frozen=True)
class ControlSchedule:
    """Which keys are held when: ``{"L": [(0.0, 5.0)]}`` holds L from t=0 to t=5 (start inclusive,
    end exclusive). Powered wheels (and spinning blocks) need no key: they run from t=0."""

    keys: Mapping[str, Sequence[tuple[float, float]]] = field(default_factory=dict)

    def held(self, key: str, t: float) -> bool:
        """True when ``key`` is held at time ``t``."""
        return any(a <= t < b for a, b in self.keys.get(key, ()))

    def switch_times(self) -> list[float]:
        """Sorted times at which any key changes state."""
        return sorted({t for spans in self.keys.values() for span in spans for t in span})

    def to_dict(self) -> dict[str, list[list[float]]]:
        return {k: [[float(a), float(b)] for a, b in v] for k, v in self.keys.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Sequence[Sequence[float]]]) -> ControlSchedule:
        return cls({str(k): tuple((float(a), float(b)) for a, b in v) for k, v in d.items()})

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, tuple(map(tuple, v))) for k, v in self.keys.items())))


@dataclass(frozen=True)
class Box:
    """A static box obstacle in Besiege coordinates (centre, full size, rotation [x,y,z,w]).

    Kept for ad-hoc scenes (tests, experiments); level data uses ``levels.schema.Primitive``, and
    the simulator accepts both (``world.as_primitive``)."""

    center: Vec3
    size: Vec3
    rotation: Quat = (0.0, 0.0, 0.0, 1.0)
    friction: float | None = None     # None: PhysicsParams.obstacle_friction
    name: str = ""


@dataclass(frozen=True)
class Level:
    """One level of a task: everything the simulator and the scorer need besides the machine."""

    task: str                          # car | catapult | delivery | fetch
    number: int
    duration: float                    # simulated seconds
    schedule: ControlSchedule
    obstacles: tuple[Primitive | Box, ...]
    allowed_blocks: frozenset[str]
    prompt: str
    win_condition: str                 # BesiegeField's name: Car_distance, Boulder_throw, ...
    spawn: Vec3 = DEFAULT_SPAWN
    triggers: tuple[Trigger, ...] = ()
    goal_objects: tuple[GoalObject, ...] = ()
    wind: Wind | None = None
    terrain: Terrain = field(default_factory=Terrain)
    wheels_automatic: bool = True      # False (fetch): wheels follow the arrow keys
    target_name: str | None = None     # the reference's target name (Trigger, IronOre)
    variant: int | None = None         # the seed of a ``make_variant`` level, None for the original
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``{task}_level{number}`` (variants keep the name of the level they vary)."""
        return f"{self.task}_level{self.number}"

    @property
    def label(self) -> str:
        """The name plus ``/variant{seed}`` for a seeded variant."""
        return self.name if self.variant is None else f"{self.name}/variant{self.variant}"

    def disallowed(self, type_ids: Iterable[str]) -> tuple[str, ...]:
        """The block types among ``type_ids`` this level does not allow, sorted."""
        return tuple(sorted(set(type_ids) - self.allowed_blocks))

    @property
    def spawn_offset(self) -> np.ndarray:
        """How far this level's spawn is from the point machines are placed around."""
        return np.asarray(self.spawn, float) - np.asarray(DEFAULT_SPAWN, float)

    def place(self, machine: PlacedMachine) -> PlacedMachine:
        """``machine`` (placed by ``placement`` around (0, 5.05, 0)) moved to this level's spawn.

        The game places a loaded machine relative to the level's spawn point, so the machine keeps
        its 0.5 m clearance above the spawn surface (fetch: above the platform)."""
        off = self.spawn_offset
        if not off.any():
            return machine

        def mv(v: Vec3 | None) -> Vec3 | None:
            if v is None:
                return None
            a, b, c = (float(x) for x in np.asarray(v, float) + off)
            return (a, b, c)

        blocks = tuple(replace(b, position=mv(b.position), box_min=mv(b.box_min), box_max=mv(b.box_max),
                               position_b=mv(b.position_b)) for b in machine.blocks)
        return replace(machine, blocks=blocks, global_position=mv(machine.global_position))


def level_from_spec(spec: LevelSpec) -> Level:
    """The simulator's :class:`Level` of a ``levels.schema.LevelSpec`` (possibly a variant)."""
    seed = spec.variant.get("seed") if spec.variant else None
    return Level(
        task=spec.task, number=spec.number, duration=spec.duration,
        schedule=ControlSchedule.from_dict(spec.schedule_dict()), obstacles=tuple(spec.obstacles),
        allowed_blocks=frozenset(spec.allowed_blocks), prompt=spec.prompt,
        win_condition=spec.win_condition, spawn=tuple(spec.spawn), triggers=tuple(spec.triggers),
        goal_objects=tuple(spec.goal_objects), wind=spec.wind, terrain=spec.terrain,
        wheels_automatic=spec.wheels_automatic, target_name=spec.target_name,
        variant=None if seed is None else int(seed), notes=tuple(spec.notes))


@cache
def _level(task: str, number: int, variant: int | None) -> Level:
    spec = load_level(task, number)
    return level_from_spec(spec if variant is None else make_variant(spec, variant))


def get_level(task: str, number: int = 1, variant: int | None = None) -> Level:
    """The level ``{task}_level{number}``, or its seeded variant (``levels.schema.make_variant``:
    the same seed always gives the same level). Raises ``KeyError`` listing the known levels."""
    try:
        return _level(task, int(number), None if variant is None else int(variant))
    except UnknownLevelError as exc:
        raise KeyError(str(exc)) from None


class _Levels(Mapping[str, Level]):
    """``{name: Level}`` for every packaged level, each loaded on first access."""

    def __getitem__(self, name: str) -> Level:
        task, sep, num = name.partition("_level")
        if not sep or not num.isdigit() or name not in list_levels():
            raise KeyError(name)
        return get_level(task, int(num))

    def __iter__(self) -> Iterator[str]:
        return iter(list_levels())

    def __len__(self) -> int:
        return len(list_levels())


LEVELS: Mapping[str, Level] = _Levels()
"""Every level by name (``car_level1`` … ``fetch_level1``), loaded lazily."""

CAR_BLOCKS = frozenset({"0", "1", "2", "9", "15", "16", "22", "35", "41", "63"})
CATAPULT_BLOCKS = CAR_BLOCKS | {"5", "7", "30", "36"}
