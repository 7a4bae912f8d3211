"""Levels: control schedules, static obstacles and per-level settings (Besiege coordinates).

Facts are taken from BesiegeField's level files and menus (``level_menus.json``, ``*.blv``):
the machine spawns at (0, 5.05, 0) and is auto-placed with its lowest point at y = 0.5 above a
ground plane at y = 0; obstacles are boxes given by centre, full size and rotation [x, y, z, w].
Only car level 1 and catapult level 1 are defined here; later levels plug into ``LEVELS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from brickfield.machines.types import Quat, Vec3


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
    """A static box obstacle in Besiege coordinates (centre, full size, rotation [x,y,z,w])."""

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
    obstacles: tuple[Box, ...]
    allowed_blocks: frozenset[str]
    prompt: str
    win_condition: str                 # BesiegeField's name: Car_distance, Boulder_throw, ...
    spawn: Vec3 = (0.0, 5.05, 0.0)

    @property
    def name(self) -> str:
        return f"{self.task}_level{self.number}"


CAR_BLOCKS = frozenset({"0", "1", "2", "9", "15", "16", "22", "35", "41", "63"})
CATAPULT_BLOCKS = frozenset({"0", "1", "2", "5", "7", "9", "15", "16", "22", "30", "35", "36", "41", "63"})

# car_level1.blv: two side walls (1 x 10 x 1000 centred at x=+-12, z=480) and a back wall
# (30 wide, 10 high, 1 thick, rotated 90 deg about y) at z=-16; all walls have zero friction.
_CAR1_WALLS = (
    Box((12.0, 0.0, 480.0), (1.0, 10.0, 1000.0), friction=0.0, name="wall_right"),
    Box((-12.0, 0.0, 480.0), (1.0, 10.0, 1000.0), friction=0.0, name="wall_left"),
    Box((0.0, 1.251, -16.0), (30.0, 10.0, 1.0), friction=0.0, name="wall_back"),
)

LEVELS: dict[str, Level] = {
    "car_level1": Level(
        task="car", number=1, duration=5.0, schedule=ControlSchedule(), obstacles=_CAR1_WALLS,
        allowed_blocks=CAR_BLOCKS, win_condition="Car_distance",
        prompt="Design a machine to move forward on a straight road."),
    # catapult_level1.blv holds only the spawn point: no obstacles.
    "catapult_level1": Level(
        task="catapult", number=1, duration=5.0, schedule=ControlSchedule({"L": ((0.0, 5.0),)}),
        obstacles=(), allowed_blocks=CATAPULT_BLOCKS, win_condition="Boulder_throw",
        prompt="Design a machine that throws a boulder as far and as high as possible."),
}


def get_level(task: str, number: int = 1) -> Level:
    """The level ``{task}_level{number}``; raises KeyError listing the known levels."""
    key = f"{task}_level{number}"
    if key not in LEVELS:
        raise KeyError(f"unknown level {key!r}; known: {sorted(LEVELS)}")
    return LEVELS[key]
