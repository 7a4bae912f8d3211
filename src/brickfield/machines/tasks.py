"""Tasks: levels + scorers, and end-to-end evaluation (validity -> simulation -> score -> reward).

Scores follow BesiegeField's code (``research/machine_anchors.md`` "Rewards as coded"), computed
on our 0.2 s samples:

* **Car** (``Car_distance``): straight-line displacement of the root block between the first and
  the last sample (not projected on +z, not a running maximum). The reference rounds it to 0.1 m;
  we keep it unrounded so RL rewards stay continuous.
* **Catapult** (``Boulder_throw``): for the boulder that moved most, s = horizontal distance from
  its start; the vertical velocity (``np.gradient``) smoothed by a 5-sample moving average
  (zero-padded, like ``np.convolve(mode="same")``); landing = first sample after the smoothed
  velocity comes back above -0.05 m/s from below; flight = samples up to landing plus every sample
  with y >= 3 m. With more than 3 flight samples a parabola y = a s^2 + b s + c is fitted and
  d = the largest flight s (the end of the fitted range); otherwise d = 0. Score =
  d * (1 + max(0, h_max - h0)) * [h_max >= 3] * [|boulder - root| at the last flight sample >= d/4],
  with h_max the boulder's highest y over the episode and h0 its first y.

Reward for RL = machine validity (file and spatial) x score; an episode the simulator had to stop
(NaN, runaway energy, wall-clock limit) scores 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.machines.levels import LEVELS, Level, get_level
from brickfield.machines.physics import compile_machine
from brickfield.machines.physics_params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.simulate import Episode, simulate
from brickfield.machines.types import PlacedMachine

__all__ = ["REFERENCE_MACHINES", "ScoreResult", "TaskResult", "TaskSpec", "evaluate_machine", "get_task",
           "reference_machine", "score_car", "score_catapult"]

BOULDER = "36"
HEIGHT_GATE = 3.0
LAND_THRESHOLD = 0.05
SMOOTH_WINDOW = 5


@dataclass(frozen=True)
class ScoreResult:
    """A task score with the metrics it was computed from (JSON-friendly floats)."""

    score: float
    metrics: dict[str, Any] = field(default_factory=dict)


Scorer = Callable[[Episode, Level], ScoreResult]


def score_car(ep: Episode, level: Level | None = None) -> ScoreResult:
    """Root displacement between first and last sample, plus max speed and max height."""
    if len(ep.times) < 2 or not ep.valid:
        return ScoreResult(0.0, {"distance": 0.0, "reason": ep.invalid_reason or "no samples"})
    root = ep.positions[:, 0]
    dist = float(np.linalg.norm(root[-1] - root[0]))
    speed = np.linalg.norm(ep.velocities[:, 0], axis=1)
    return ScoreResult(dist, {"distance": dist, "max_speed": float(speed.max()),
                              "max_height": float(root[:, 1].max()),
                              "final_position": [float(v) for v in root[-1]]})


def _smoothed_vertical_velocity(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    vy = np.gradient(y, t)
    return np.convolve(vy, np.ones(SMOOTH_WINDOW) / SMOOTH_WINDOW, mode="same")


def throw_distance(positions: np.ndarray, times: np.ndarray) -> tuple[float, int, np.ndarray]:
    """(d, index of the last flight sample, flight mask) of one trajectory (T, 3)."""
    y = positions[:, 1]
    s = np.linalg.norm(positions[:, [0, 2]] - positions[0, [0, 2]], axis=1)
    dy = _smoothed_vertical_velocity(y, times)
    crossings = np.flatnonzero((dy[:-1] < -LAND_THRESHOLD) & (dy[1:] > -LAND_THRESHOLD))
    flight = np.ones(len(times), dtype=bool) if len(crossings) == 0 else times <= times[crossings[0] + 1]
    flight |= y >= HEIGHT_GATE
    last = int(np.flatnonzero(flight)[-1]) if flight.any() else 0
    d = float(s[flight].max()) if flight.sum() > 3 else 0.0
    return d, last, flight


def score_catapult(ep: Episode, level: Level | None = None) -> ScoreResult:
    """BesiegeField's boulder-throw score (see the module docstring)."""
    boulders = [i for i, t in enumerate(ep.type_ids) if t == BOULDER]
    if not boulders:
        return ScoreResult(0.0, {"distance": 0.0, "reason": "no boulder"})
    if len(ep.times) < 2 or not ep.valid:
        return ScoreResult(0.0, {"distance": 0.0, "reason": ep.invalid_reason or "no samples"})
    moved = [np.linalg.norm(ep.positions[-1, i] - ep.positions[0, i]) for i in boulders]
    b = boulders[int(np.argmax(moved))]
    traj = ep.positions[:, b]
    d, land, flight = throw_distance(traj, ep.times)
    h0 = float(traj[0, 1])
    h_max = float(traj[:, 1].max())
    sep = float(np.linalg.norm(traj[land] - ep.positions[land, 0]))
    high_enough = h_max >= HEIGHT_GATE
    thrown = sep >= 0.25 * d
    score = d * (1.0 + max(0.0, h_max - h0)) * float(high_enough) * float(thrown)
    metrics: dict[str, Any] = {"distance": d, "max_height": h_max, "initial_height": h0,
                               "land_index": land, "land_time": float(ep.times[land]),
                               "boulder_root_distance_at_landing": sep, "height_gate": high_enough,
                               "not_carried": thrown, "boulder_block": b,
                               "max_speed": float(np.linalg.norm(ep.velocities[:, b], axis=1).max())}
    if flight.sum() > 3:
        s = np.linalg.norm(traj[:, [0, 2]] - traj[0, [0, 2]], axis=1)
        if np.ptp(s[flight]) > 1e-9:
            metrics["parabola"] = [float(c) for c in np.polyfit(s[flight], traj[flight, 1], 2)]
    return ScoreResult(float(score), metrics)


@dataclass(frozen=True)
class TaskSpec:
    """A level plus the scorer of its win condition."""

    level: Level
    scorer: Scorer

    @property
    def name(self) -> str:
        return self.level.name

    def score(self, ep: Episode) -> ScoreResult:
        return self.scorer(ep, self.level)


SCORERS: dict[str, Scorer] = {"Car_distance": score_car, "Boulder_throw": score_catapult}


def get_task(task: str, level: int = 1) -> TaskSpec:
    """The ``TaskSpec`` of ``{task}_level{level}`` (KeyError if unknown or not scorable yet)."""
    lvl = get_level(task, level)
    if lvl.win_condition not in SCORERS:
        raise KeyError(f"no scorer for {lvl.win_condition!r} yet")
    return TaskSpec(lvl, SCORERS[lvl.win_condition])


def available_tasks() -> list[str]:
    """Names of every level that has a scorer."""
    return sorted(k for k, v in LEVELS.items() if v.win_condition in SCORERS)


@dataclass
class TaskResult:
    """Everything ``evaluate_machine`` learned about one design on one task."""

    task: str
    valid: bool
    score: float
    reward: float
    errors: tuple[str, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    episode: Episode | None = None
    disallowed_blocks: tuple[str, ...] = ()
    timing: dict[str, float] = field(default_factory=dict)
    report: Any = field(default=None, repr=False)   # the ValidityReport (None for a PlacedMachine)

    def to_dict(self, include_trace: bool = False) -> dict[str, Any]:
        ep = self.episode
        out: dict[str, Any] = {
            "task": self.task, "valid": self.valid, "score": self.score, "reward": self.reward,
            "errors": list(self.errors), "metrics": self.metrics,
            "damage": [e.to_dict() for e in ep.damage] if ep else [],
            "invalid_reason": ep.invalid_reason if ep else None,
            "disallowed_blocks": list(self.disallowed_blocks), "timing": self.timing}
        if include_trace and ep is not None:
            out["trace"] = ep.to_dict()
        return out


def evaluate_machine(source: str | bytes | Sequence[Any] | PlacedMachine, task: str | TaskSpec = "car",
                     level: int = 1, *, params: PhysicsParams = DEFAULT_PARAMS,
                     reference_quirks: bool = True, max_wall_s: float = 60.0,
                     seed: int = 0) -> TaskResult:
    """Check, simulate and score a design (raw LLM text, parsed tree or ``PlacedMachine``).

    Never raises for bad designs: an invalid machine gets ``valid=False`` and reward 0 (it is still
    simulated when it could be placed, so its score is informative)."""
    from brickfield.machines.validity import check_machine

    spec = task if isinstance(task, TaskSpec) else get_task(task, level)
    report = None
    if isinstance(source, PlacedMachine):
        machine, valid, errors = source, source.spatial_valid, tuple(source.errors)
    else:
        report = check_machine(source, reference_quirks=reference_quirks)
        machine, valid, errors = report.machine, report.valid, tuple(report.errors)
    if machine is None:
        return TaskResult(spec.name, False, 0.0, 0.0, errors, report=report)
    lvl = spec.level
    t0 = time.perf_counter()
    try:
        compiled = compile_machine(machine, params, lvl.obstacles)
    except Exception as exc:  # a model MuJoCo refuses to compile is an invalid design, not a crash
        return TaskResult(spec.name, False, 0.0, 0.0, (*errors, f"physics compile error: {exc}"),
                          report=report)
    compile_s = time.perf_counter() - t0
    ep = simulate(compiled, lvl.duration, lvl.schedule, max_wall_s=max_wall_s, seed=seed)
    result = spec.score(ep)
    disallowed = tuple(sorted({b.type_id for b in machine.blocks} - lvl.allowed_blocks))
    score = result.score if ep.valid else 0.0
    return TaskResult(spec.name, bool(valid), score, float(valid) * score, errors, result.metrics, ep,
                      disallowed, {"compile_s": compile_s, "sim_s": ep.wall_s,
                                   "sim_seconds": ep.sim_time, "steps": float(ep.steps)}, report)


REFERENCE_MACHINES: dict[str, str] = {
    "car": "log chassis with four powered wheels (the verified BesiegeField car); >= 30 m on car 1",
    "catapult": "ballasted base, hinge arm pointing back with container and boulder, rubber band "
                "from a front post; scores > 0 on catapult 1",
    "car_wheels_down": "negative control: wheels facing y- (flat on the ground, no traction)",
    "car_no_wheels": "negative control: chassis without wheels",
    "catapult_no_boulder": "negative control: the reference catapult without its boulder",
}
"""Reference machines shipped as package data (``machines/data/machines/<name>.json``)."""


def reference_machine(name: str) -> list[dict[str, Any]]:
    """The construction tree of a shipped reference machine (see ``REFERENCE_MACHINES``)."""
    from importlib.resources import files

    if name not in REFERENCE_MACHINES:
        raise KeyError(f"unknown reference machine {name!r}; known: {sorted(REFERENCE_MACHINES)}")
    text = (files("brickfield.machines") / "data" / "machines" / f"{name}.json").read_text("utf-8")
    return json.loads(text)
