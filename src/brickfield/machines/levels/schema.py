"""Level specifications for every BesiegeField level, read from the package's ``levels/data/*.json``.

The JSON files (schema in ``docs/levels.md``) are produced by ``scripts/convert_blv.py`` from the
reference level files; this module validates them with pydantic and returns plain frozen
dataclasses. Coordinates are Besiege's (left-handed, x right, y up, z forward, metres);
quaternions are [x, y, z, w]; ``center`` is the centre of a primitive's oriented bounding box and
``size`` its full extents along its local axes.

    >>> spec = load_level("catapult", 8)
    >>> spec.duration, dict(spec.schedule)
    (5.0, {'L': ((0.0, 5.0),)})

``make_variant`` adds seeded random stones, cone groups and wind in the spirit of the reference's
``level_presets.json``; the same seed always yields the same level.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from brickfield.machines.design.quat import besiege_rotate

__all__ = [
    "TASKS", "GoalObject", "LevelSpec", "Primitive", "Terrain", "Trigger", "UnknownLevelError",
    "VariantPreset", "Wind", "default_preset", "list_levels", "load_level", "make_variant",
    "validate_level_dict",
]

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
TASKS = ("car", "catapult", "delivery", "fetch")
_DATA_PACKAGE = "brickfield.machines.levels.data"


class UnknownLevelError(KeyError):
    """No level of that task and number (also a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


# --- typed, frozen result objects ----------------------------------------------------------------

@dataclass(frozen=True)
class Primitive:
    """A static or dynamic obstacle. ``shape`` is box | cylinder | sphere | cone | wedge | mesh;
    a sphere with unequal ``size`` is an ellipsoid; cylinders and cones have their axis along local
    y (cone apex up); a wedge rises from its low edge at local -z to full height at +z; ``mesh``
    names a non-primitive profile (quarter_pipe, quarter_cylinder, ring) that
    :meth:`convex_pieces` decomposes."""

    name: str
    shape: str
    center: Vec3
    size: Vec3
    rotation: Quat = (0.0, 0.0, 0.0, 1.0)
    mesh: str | None = None
    friction: float | None = None      # None: the simulator's default obstacle friction
    friction_mode: int | None = None   # Besiege's friction-combine setting, as stored
    dynamic: bool = False
    mass: float | None = None
    prefab: int | None = None
    origin: Vec3 | None = None         # the Besiege pivot (XML Position) it was converted from
    approximate: bool = False
    source: str | None = None

    def convex_pieces(self, segments: int = 8) -> list[np.ndarray] | None:
        """Convex vertex sets (local frame, metres, about ``center``, before ``rotation``) whose
        union approximates the shape; ``None`` for shapes MuJoCo has natively (box, sphere,
        cylinder)."""
        return _convex_pieces(self.shape, self.mesh, np.asarray(self.size, float), segments)


@dataclass(frozen=True)
class Trigger:
    """A logic volume (box). ``target`` says what sets it off: ``anything``, ``any_block``,
    ``block:<type id>`` or ``object:<goal object name>``; ``events`` are ``type[:arg…]`` strings such
    as ``game_win:Progress`` or ``progress:50:0``."""

    name: str
    center: Vec3
    size: Vec3
    rotation: Quat
    on: str
    target: str
    events: tuple[str, ...]
    logic_id: int = 0
    approximate: bool = False
    source: str | None = None

    @property
    def wins(self) -> bool:
        """True when entering this trigger wins the level."""
        return any(e.split(":")[0] == "game_win" for e in self.events)

    @property
    def progress(self) -> float:
        """Progress points granted (``progress:<amount>:…`` events)."""
        return sum(float(e.split(":")[1]) for e in self.events
                   if e.startswith("progress:") and e.split(":")[1].replace(".", "", 1).isdigit())


@dataclass(frozen=True)
class GoalObject:
    """A loose object the task is about (the iron ore of delivery and fetch)."""

    name: str
    shape: str
    center: Vec3
    size: Vec3
    rotation: Quat
    mass: float
    density: float | None = None
    prefab: int | None = None
    reported_as: str | None = None     # the reference's name for it in game-state logs
    approximate: bool = False
    source: str | None = None


@dataclass(frozen=True)
class Wind:
    """A wind zone. ``direction`` is a unit vector; ``strength`` None means the editor default
    (not stored in level files; the simulator chooses)."""

    direction: Vec3
    strength: float | None = None
    global_: bool = True
    origin: Vec3 | None = None
    approximate: bool = True
    source: str | None = None


@dataclass(frozen=True)
class Terrain:
    """Ground height, the height of the surface the machine spawns on, and notes."""

    ground_y: float = 0.0
    spawn_surface_y: float = 0.0
    notes: str = ""


@dataclass(frozen=True)
class LevelSpec:
    """Everything about one level except the machine."""

    task: str
    number: int
    duration: float
    schedule: Mapping[str, tuple[tuple[float, float], ...]]
    allowed_blocks: tuple[str, ...]
    prompt: str
    win_condition: str
    spawn: Vec3
    obstacles: tuple[Primitive, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    goal_objects: tuple[GoalObject, ...] = ()
    wind: Wind | None = None
    terrain: Terrain = field(default_factory=Terrain)
    target_name: str | None = None
    waiting_stop: float = 0.0
    wheels_automatic: bool = True
    prompt_source: str = ""
    notes: tuple[str, ...] = ()
    variant: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        """``{task}_level{number}``, e.g. ``car_level1``."""
        return f"{self.task}_level{self.number}"

    def schedule_dict(self) -> dict[str, list[list[float]]]:
        """The schedule as ``{key: [[start, end], ...]}`` (``ControlSchedule.from_dict`` input)."""
        return {k: [[a, b] for a, b in v] for k, v in self.schedule.items()}


# --- schema (pydantic) ---------------------------------------------------------------------------

_V3 = tuple[float, float, float]
_Q = tuple[float, float, float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Placed(_Strict):
    center: _V3
    size: _V3
    rotation: _Q = (0.0, 0.0, 0.0, 1.0)

    @field_validator("size")
    @classmethod
    def _positive(cls, v: _V3) -> _V3:
        if min(v) <= 0:
            raise ValueError(f"size must be positive, got {v}")
        return v

    @field_validator("rotation")
    @classmethod
    def _unit(cls, q: _Q) -> _Q:
        if abs(math.sqrt(sum(c * c for c in q)) - 1.0) > 1e-4:
            raise ValueError(f"rotation must be a unit quaternion, got {q}")
        return q


class _PrimitiveModel(_Placed):
    name: str
    prefab: int | None = None
    shape: Literal["box", "cylinder", "sphere", "cone", "wedge", "mesh"]
    mesh: Literal["quarter_pipe", "quarter_cylinder", "ring"] | None = None
    origin: _V3 | None = None
    friction: float | None = Field(default=None, ge=0)
    friction_mode: int | None = None
    dynamic: bool = False
    mass: float | None = Field(default=None, gt=0)
    physics_flag: bool | None = None
    approximate: bool = False
    source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _PrimitiveModel:
        if (self.shape == "mesh") != (self.mesh is not None):
            raise ValueError(f"{self.name}: 'mesh' is required exactly when shape == 'mesh'")
        if self.dynamic and self.mass is None:
            raise ValueError(f"{self.name}: a dynamic obstacle needs a mass")
        return self


class _TriggerModel(_Placed):
    name: str
    origin: _V3 | None = None
    on: str
    target: str
    events: tuple[str, ...]
    logic_id: int = 0
    approximate: bool = False
    source: str | None = None


class _GoalModel(_Placed):
    name: str
    prefab: int | None = None
    shape: Literal["box", "cylinder", "sphere"]
    origin: _V3 | None = None
    mass: float = Field(gt=0)
    density: float | None = None
    reported_as: str | None = None
    approximate: bool = False
    source: str | None = None


class _WindModel(_Strict):
    direction: _V3
    strength: float | None = Field(default=None, ge=0)
    global_: bool = Field(default=True, alias="global")
    origin: _V3 | None = None
    approximate: bool = True
    source: str | None = None


class _TerrainModel(_Strict):
    ground_y: float = 0.0
    spawn_surface_y: float = 0.0
    notes: str = ""


class _LevelModel(_Strict):
    schema_version: Literal[1]
    task: Literal["car", "catapult", "delivery", "fetch"]
    number: int = Field(ge=1)
    duration: float = Field(gt=0)
    waiting_stop: float = Field(ge=0)
    schedule: dict[str, list[tuple[float, float]]]
    wheels_automatic: bool = True
    allowed_blocks: list[str] = Field(min_length=1)
    prompt: str = Field(min_length=1)
    prompt_source: str = ""
    win_condition: Literal["Car_distance", "Boulder_throw", "Boulder_throw_with_target", "Target_deliver"]
    target_name: str | None = None
    spawn: _V3
    terrain: _TerrainModel
    obstacles: list[_PrimitiveModel]
    triggers: list[_TriggerModel]
    goal_objects: list[_GoalModel]
    wind: _WindModel | None = None
    ignored: list[dict[str, Any]] = []
    notes: list[str] = []
    source: dict[str, str] = {}

    @model_validator(mode="after")
    def _consistent(self) -> _LevelModel:
        for key, spans in self.schedule.items():
            for a, b in spans:
                if not 0 <= a < b <= self.duration + 1e-9:
                    raise ValueError(f"schedule {key!r}: span ({a}, {b}) outside [0, {self.duration}]")
        if not all(b.isdigit() for b in self.allowed_blocks):
            raise ValueError(f"allowed_blocks must be type ids, got {self.allowed_blocks}")
        names = [o.name for o in (*self.obstacles, *self.triggers, *self.goal_objects)]
        if len(set(names)) != len(names):
            raise ValueError("object names must be unique within a level")
        goals = {g.name for g in self.goal_objects}
        for t in self.triggers:
            if t.target.startswith("object:") and t.target[7:] not in goals:
                raise ValueError(f"trigger {t.name} targets unknown object {t.target}")
        return self


def validate_level_dict(data: Mapping[str, Any]) -> LevelSpec:
    """Validate one level in the JSON schema and return it as a :class:`LevelSpec`; raises
    ``ValueError`` (pydantic's ``ValidationError``) naming the offending field."""
    m = _LevelModel.model_validate(data)
    return LevelSpec(
        task=m.task, number=m.number, duration=m.duration, waiting_stop=m.waiting_stop,
        schedule=MappingProxyType({k: tuple((float(a), float(b)) for a, b in v)
                                   for k, v in m.schedule.items()}),
        allowed_blocks=tuple(m.allowed_blocks), prompt=m.prompt, prompt_source=m.prompt_source,
        win_condition=m.win_condition, target_name=m.target_name, spawn=m.spawn,
        wheels_automatic=m.wheels_automatic, terrain=Terrain(**m.terrain.model_dump()),
        obstacles=tuple(Primitive(**o.model_dump(exclude={"physics_flag"})) for o in m.obstacles),
        triggers=tuple(Trigger(**t.model_dump(exclude={"origin"})) for t in m.triggers),
        goal_objects=tuple(GoalObject(**g.model_dump(exclude={"origin"})) for g in m.goal_objects),
        wind=None if m.wind is None else Wind(**m.wind.model_dump()), notes=tuple(m.notes))


# --- loading -------------------------------------------------------------------------------------

def _level_key(name: str) -> tuple[int, int]:
    task, _, num = name.partition("_level")
    return (TASKS.index(task) if task in TASKS else len(TASKS), int(num) if num.isdigit() else 0)


@cache
def list_levels() -> tuple[str, ...]:
    """Names of every packaged level (``car_level1`` …), ordered by task then number."""
    names = [p.name[:-5] for p in resources.files(_DATA_PACKAGE).iterdir()
             if p.name.endswith(".json") and "_level" in p.name]
    return tuple(sorted(names, key=_level_key))


@cache
def load_level(task: str, number: int = 1) -> LevelSpec:
    """The level ``{task}_level{number}``, validated; raises :class:`UnknownLevelError` listing the
    known levels when there is none."""
    name = f"{task}_level{number}"
    if name not in list_levels():
        raise UnknownLevelError(f"unknown level {name!r}; known levels: {', '.join(list_levels())}")
    text = (resources.files(_DATA_PACKAGE) / f"{name}.json").read_text(encoding="utf-8")
    try:
        return validate_level_dict(json.loads(text))
    except ValidationError as e:  # a packaging bug, not a user error: say which file
        raise ValueError(f"{name}.json does not validate: {e}") from e


# --- geometry helpers ----------------------------------------------------------------------------

def _prism(profile: list[tuple[float, float]], half_width: float) -> np.ndarray:
    """Extrude a (z, y) profile polygon along x from -half_width to +half_width."""
    return np.array([(s * half_width, y, z) for s in (-1.0, 1.0) for z, y in profile])


def _convex_pieces(shape: str, mesh: str | None, size: np.ndarray, n: int) -> list[np.ndarray] | None:
    w, h, d = size / 2.0
    phis = np.linspace(0.0, math.pi / 2, n + 1)
    if shape == "wedge":
        return [_prism([(-d, -h), (d, -h), (d, h)], w)]
    if shape == "cone":
        ang = np.linspace(0.0, 2 * math.pi, 4 * n, endpoint=False)
        base = np.stack([w * np.cos(ang), np.full_like(ang, -h), d * np.sin(ang)], axis=1)
        return [np.vstack([base, [[0.0, h, 0.0]]])]
    if mesh == "quarter_cylinder":   # quarter disc: corner at (z=+d, y=-h), curve faces -z/+y
        arc = [(d - 2 * d * math.cos(p), -h + 2 * h * math.sin(p)) for p in phis]
        return [_prism([(d, -h), *arc], w)]
    if mesh == "quarter_pipe":       # box minus a quarter disc centred at (z=-d, y=+h)
        surf = [(-d + 2 * d * math.sin(p), h - 2 * h * math.cos(p)) for p in phis]
        return [_prism([(z0, -h), (z1, -h), (z1, y1), (z0, y0)], w)
                for (z0, y0), (z1, y1) in itertools.pairwise(surf) if z1 - z0 > 1e-9]
    if mesh == "ring":               # torus about local y: tube radius h, centreline radius w - h
        radius, tube, stretch = w - h, h, np.array([1.0, 1.0, d / w])
        ang = np.linspace(0.0, 2 * math.pi, 4 * n + 1)
        return [np.array([(rad * math.cos(a), dy, rad * math.sin(a)) for a in (a0, a1)
                          for rad in (radius - tube, radius + tube) for dy in (-tube, tube)]) * stretch
                for a0, a1 in itertools.pairwise(ang)]
    return None


def _yaw_quat(deg: float) -> Quat:
    half = math.radians(deg) / 2
    return (0.0, round(math.sin(half), 9), 0.0, round(math.cos(half), 9))


# --- seeded variants -----------------------------------------------------------------------------

@dataclass(frozen=True)
class VariantPreset:
    """Where and how many random items to scatter (the reference's ``level_presets.json`` form).

    ``region`` is ((xmin, xmax), (ymin, ymax), (zmin, zmax)) in world coordinates; ``n_cones``
    counts groups of four cones 2 m either side of the group centre (the reference's
    ``cone_groups``)."""

    region: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    n_stones: int = 20
    stone_scale: tuple[float, float] = (0.5, 2.0)
    n_cones: int = 4
    cone_scale: tuple[float, float] = (0.8, 1.2)
    wind: bool = False
    clearance: float = 9.0  # keep the build area (|dx|, |dz| < clearance around the spawn) free


REFERENCE_PRESETS: Mapping[str, VariantPreset] = {
    "car_level1": VariantPreset(((-15.0, 15.0), (0.0, 0.0), (10.0, 980.0)), n_stones=150, n_cones=20,
                                wind=True),
}
_TASK_REGIONS = {
    "car": ((-11.0, 11.0), (0.0, 0.0), (10.0, 200.0)),
    "catapult": ((-29.0, 29.0), (0.0, 0.0), (15.0, 60.0)),
    "delivery": ((-9.0, 9.0), (0.0, 0.0), (20.0, 45.0)),
    "fetch": ((-9.0, 9.0), (0.0, 0.0), (-35.0, -10.0)),
}


def default_preset(spec: LevelSpec) -> VariantPreset:
    """The reference preset for the level if it has one, else a modest one for its task (region on
    the surface the machine spawns on)."""
    if spec.name in REFERENCE_PRESETS:
        return REFERENCE_PRESETS[spec.name]
    (x, _y, z) = _TASK_REGIONS[spec.task]
    surface = spec.terrain.spawn_surface_y
    return VariantPreset((x, (surface, surface), z))


def make_variant(spec: LevelSpec, seed: int, *, n_stones: int | None = None, n_cones: int | None = None,
                 wind: bool | float | None = None, preset: VariantPreset | None = None) -> LevelSpec:
    """``spec`` plus seeded random static stones (ellipsoids, 0.5–2 m, random yaw), cone groups
    (four 1 m cones, uniform scale 0.8–1.2, random yaw) and, when ``wind`` is truthy, a global
    horizontal wind with yaw in [0°, 90°] from +z (a float sets its strength). Counts default to the
    preset (:func:`default_preset`). The same ``seed`` always gives the same level; items are not
    checked against the level's own obstacles. Raises ``ValueError`` for a negative seed."""
    if seed < 0:
        raise ValueError(f"a variant seed must be a non-negative integer, got {seed}")
    p = preset or default_preset(spec)
    n_stones = p.n_stones if n_stones is None else n_stones
    n_cones = p.n_cones if n_cones is None else n_cones
    wind = p.wind if wind is None else wind
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1), (z0, z1) = p.region
    sx, _, sz = spec.spawn

    def spot() -> np.ndarray:
        for _ in range(1000):
            pt = rng.uniform((x0, y0, z0), (x1, y1, z1))
            if abs(pt[0] - sx) >= p.clearance or abs(pt[2] - sz) >= p.clearance:
                return pt
        raise ValueError(f"variant region {p.region} lies inside the build area")

    extra: list[Primitive] = []
    src = f"variant seed {seed}"
    for i in range(n_stones):
        pt = spot()
        size = rng.uniform(p.stone_scale[0], p.stone_scale[1], 3)
        yaw = float(rng.uniform(0.0, 360.0))
        center = _r3(pt + np.array([0.0, size[1] / 2, 0.0]))
        extra.append(Primitive(f"stone_v{i}", "sphere", center, _r3(size), _yaw_quat(yaw),
                               approximate=True, source=src))
    for g in range(n_cones):
        anchor, s = spot(), float(rng.uniform(*p.cone_scale))
        q = _yaw_quat(float(rng.uniform(0.0, 360.0)))
        for m, off in enumerate(((-2, 0, 2), (-2, 0, -2), (2, 0, 2), (2, 0, -2))):
            c = anchor + besiege_rotate(q, off) + np.array([0.0, s / 2, 0.0])
            extra.append(Primitive(f"cone_v{g}_{m}", "cone", _r3(c), _r3((s, s, s)), q,
                                   approximate=True, source=src))
    new_wind = spec.wind
    if wind:
        yaw = math.radians(float(rng.uniform(0.0, 90.0)))
        new_wind = Wind(_r3((math.sin(yaw), 0.0, math.cos(yaw))),
                        None if wind is True else float(wind), True, None, True, src)
    record = {"seed": seed, "n_stones": n_stones, "n_cones": n_cones, "wind": bool(wind),
              "region": p.region}
    return replace(spec, obstacles=(*spec.obstacles, *extra), wind=new_wind,
                   variant=MappingProxyType(record))


def _r3(v: Any) -> Vec3:
    a, b, c = (round(float(x), 9) for x in v)
    return (a, b, c)
