"""Tasks: levels + scorers, and end-to-end evaluation (validity -> simulation -> score -> reward).

One scorer per BesiegeField win condition, computed on our 0.2 s samples; every formula, with the
reference code it follows, is in ``docs/levels.md`` ("Scores"). In short:

* **Car_distance** (car 1-5): straight-line displacement of the root block between the first and
  the last sample (not projected on +z, not a running maximum). The reference rounds it to 0.1 m;
  we keep it unrounded so RL rewards stay continuous. Car 5's win trigger only ends the episode.
* **Boulder_throw** (catapult 1-7): for the boulder that moved most, s = horizontal distance from
  its start; the vertical velocity (``np.gradient``) smoothed by a 5-sample moving average
  (zero-padded, like ``np.convolve(mode="same")``); landing = first sample after the smoothed
  velocity comes back above -0.05 m/s from below; flight = samples up to landing plus every sample
  with y >= 3 m. With more than 3 flight samples a parabola y = a s^2 + b s + c is fitted and
  d = the largest flight s (the end of the fitted range); otherwise d = 0. Score =
  d * (1 + max(0, h_max - h0)) * [h_max >= 3] * [|boulder - root| at the last flight sample >= d/4],
  with h_max the boulder's highest y over the episode and h0 its first y.
* **Boulder_throw_with_target** (catapult 8-11): 1 on a win (a boulder sets off a ``game_win``
  trigger, or the level's progress reaches 100), else (proximity + min(progress, 100)/100) / 2 with
  proximity = clip(1 - g_min / g_0, 0, 1), g = the gap between a boulder's surface and the nearest
  goal trigger (g_min over the whole flight, g_0 at the start). Metrics carry the reference's
  numbers: ``final_distance`` (largest final boulder-trigger distance) and ``win``.
* **Target_deliver** (delivery 1-9, fetch 1): 1 on a win (the goal object enters its goal trigger),
  else clip(1 - g_T / g_0, 0, 1) with g the gap between the goal object's surface and the goal
  trigger at the first and last samples. For fetch the trigger is straight above the well, so this is
  the ore's height gain towards the well mouth. Metrics carry the reference's ``displacement``.

``TaskSpec(binary=True)`` (``get_task(..., binary=True)``) scores the win-flag tasks like
BesiegeField's RL reward (``compute_score_binary``): 1 on a win, else 0. Reward for RL = machine
validity (file and spatial) x score; an episode the simulator had to stop (NaN, runaway energy,
wall-clock limit) scores 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.machines.catalog import BLOCKS
from brickfield.machines.controls import Bindings
from brickfield.machines.level_loader import Trigger
from brickfield.machines.levels import LEVELS, Level, get_level
from brickfield.machines.physics import compile_machine
from brickfield.machines.physics_params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.simulate import Episode, simulate
from brickfield.machines.triggers import WIN_PROGRESS, box_distance
from brickfield.machines.types import PlacedMachine

__all__ = ["REFERENCE_MACHINES", "SCORERS", "ScoreResult", "TaskResult", "TaskSpec", "evaluate_machine",
           "get_task", "reference_machine", "score_car", "score_catapult", "score_deliver",
           "score_target_throw"]

BOULDER = "36"
HEIGHT_GATE = 3.0
LAND_THRESHOLD = 0.05
SMOOTH_WINDOW = 5
DENSIFY = 8          # sub-samples per 0.2 s interval when looking for a flight's closest approach


@dataclass(frozen=True)
class ScoreResult:
    """A task score with the metrics it was computed from (JSON-friendly floats)."""

    score: float
    metrics: dict[str, Any] = field(default_factory=dict)


Scorer = Callable[[Episode, Level], ScoreResult]


def _no_trace(ep: Episode, key: str) -> ScoreResult | None:
    if len(ep.times) < 2 or not ep.valid:
        return ScoreResult(0.0, {key: 0.0, "reason": ep.invalid_reason or "no samples"})
    return None


def score_car(ep: Episode, level: Level | None = None) -> ScoreResult:
    """Root displacement between first and last sample, plus max speed and max height."""
    if (bad := _no_trace(ep, "distance")) is not None:
        return bad
    root = ep.positions[:, 0]
    dist = float(np.linalg.norm(root[-1] - root[0]))
    speed = np.linalg.norm(ep.velocities[:, 0], axis=1)
    metrics: dict[str, Any] = {"distance": dist, "max_speed": float(speed.max()),
                               "max_height": float(root[:, 1].max()),
                               "final_position": [float(v) for v in root[-1]]}
    if level is not None and level.triggers:
        metrics.update(win=bool(ep.won), win_time=ep.win_time)
    return ScoreResult(dist, metrics)


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


def _boulders(ep: Episode) -> list[int]:
    return [i for i, t in enumerate(ep.type_ids) if t == BOULDER]


def score_catapult(ep: Episode, level: Level | None = None) -> ScoreResult:
    """BesiegeField's boulder-throw score (see the module docstring)."""
    boulders = _boulders(ep)
    if not boulders:
        return ScoreResult(0.0, {"distance": 0.0, "reason": "no boulder"})
    if (bad := _no_trace(ep, "distance")) is not None:
        return bad
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


def _densify(traj: np.ndarray, k: int = DENSIFY) -> np.ndarray:
    """(T, 3) samples with k - 1 linear in-between points per interval (the path between samples)."""
    if len(traj) < 2:
        return traj
    f = np.linspace(0.0, 1.0, k, endpoint=False)[None, :, None]
    mid = traj[:-1, None, :] + f * (traj[1:, None, :] - traj[:-1, None, :])
    return np.vstack([mid.reshape(-1, 3), traj[-1:]])


def _gap(points: np.ndarray, triggers: Sequence[Trigger], radius: float) -> np.ndarray:
    """Gap (m) between spheres of ``radius`` at ``points`` (..., 3) and the nearest trigger box."""
    dist = np.min([box_distance(points, t) for t in triggers], axis=0)
    return np.maximum(dist - radius, 0.0)


def _proximity(gap_now: float, gap_start: float) -> float:
    """clip(1 - gap_now / gap_start, 0, 1); 1 when it started touching."""
    return 1.0 if gap_start <= 0.0 else float(np.clip(1.0 - gap_now / gap_start, 0.0, 1.0))


def score_target_throw(ep: Episode, level: Level) -> ScoreResult:
    """Catapult levels 8-11 (``Boulder_throw_with_target``): win, else proximity and progress."""
    boulders = _boulders(ep)
    if not boulders:
        return ScoreResult(0.0, {"win": False, "reason": "no boulder"})
    goals = [t for t in level.triggers if (t.wins or t.progress > 0)
             and t.target in ("anything", "any_block", f"block:{BOULDER}")]
    if (bad := _no_trace(ep, "final_distance")) is not None:
        return ScoreResult(0.0, {**bad.metrics, "win": False})
    if not goals:
        return ScoreResult(float(ep.won), {"win": bool(ep.won), "reason": "level has no goal trigger"})
    radius = float(BLOCKS[BOULDER].collider_size[0])
    start = float(min(_gap(ep.positions[0, b], goals, radius) for b in boulders))
    closest = float(min(_gap(_densify(ep.positions[:, b]), goals, radius).min() for b in boulders))
    hits = [e for e in ep.trigger_events if e.block in boulders]
    if hits:
        closest = 0.0
    # the reference: distance from the final boulder position to the trigger's position, keeping
    # the *largest* boulder-trigger pair (``distance > best_distance``); we use trigger centres
    final = max(float(np.linalg.norm(ep.positions[-1, b] - np.asarray(t.center))) for b in boulders
                for t in goals)
    progress = min(float(ep.progress), WIN_PROGRESS) / WIN_PROGRESS
    proximity = _proximity(closest, start)
    score = 1.0 if ep.won else 0.5 * (proximity + progress)
    return ScoreResult(score, {"win": bool(ep.won), "win_time": ep.win_time, "progress": float(ep.progress),
                               "proximity": proximity, "closest_gap": closest, "start_gap": start,
                               "final_distance": final, "boulder_entries": len(hits),
                               "max_height": float(max(ep.positions[:, b, 1].max() for b in boulders))})


def _goal(level: Level) -> tuple[str, list[Trigger]] | None:
    """The goal object's name and the triggers that win when it enters them."""
    for t in level.triggers:
        if t.target.startswith("object:") and t.wins:
            name = t.target[7:]
            return name, [u for u in level.triggers if u.target == t.target and u.wins]
    return None


def score_deliver(ep: Episode, level: Level) -> ScoreResult:
    """Delivery and fetch (``Target_deliver``): win, else the goal object's gap progress."""
    goal = _goal(level)
    if goal is None or goal[0] not in ep.object_names:
        return ScoreResult(float(ep.won), {"win": bool(ep.won), "reason": "no goal object"})
    if (bad := _no_trace(ep, "displacement")) is not None:
        return ScoreResult(0.0, {**bad.metrics, "win": False})
    name, triggers = goal
    obj = next(g for g in level.goal_objects if g.name == name)
    radius = 0.5 * float(min(obj.size))
    traj = ep.objects[name]
    gaps = _gap(traj, triggers, radius)
    progress = _proximity(float(gaps[-1]), float(gaps[0]))
    score = 1.0 if ep.won else progress
    return ScoreResult(score, {
        "win": bool(ep.won), "win_time": ep.win_time, "progress": progress,
        "start_gap": float(gaps[0]), "final_gap": float(gaps[-1]), "min_gap": float(gaps.min()),
        "displacement": float(np.linalg.norm(traj[-1] - traj[0])),
        "height_gain": float(traj[-1, 1] - traj[0, 1]), "max_height": float(traj[:, 1].max()),
        "final_position": [float(v) for v in traj[-1]], "object": name})


SCORERS: dict[str, Scorer] = {"Car_distance": score_car, "Boulder_throw": score_catapult,
                              "Boulder_throw_with_target": score_target_throw,
                              "Target_deliver": score_deliver}
"""The scorer of each BesiegeField win condition."""

WIN_FLAG_CONDITIONS = frozenset({"Boulder_throw_with_target", "Target_deliver"})
"""Win conditions whose BesiegeField RL reward is the binary Game Win."""


@dataclass(frozen=True)
class TaskSpec:
    """A level plus the scorer of its win condition (``binary``: win-flag tasks score 0/1)."""

    level: Level
    scorer: Scorer
    binary: bool = False

    @property
    def name(self) -> str:
        """The level's name, e.g. ``car_level1``."""
        return self.level.name

    def score(self, ep: Episode) -> ScoreResult:
        """Score an episode on this level; in binary mode win-flag conditions score 1 on a win, else 0
        (the dense score kept as metric ``dense_score``)."""
        result = self.scorer(ep, self.level)
        if self.binary and self.level.win_condition in WIN_FLAG_CONDITIONS:
            won = bool(result.metrics.get("win", False))
            return ScoreResult(float(won), {**result.metrics, "dense_score": result.score})
        return result


def get_task(task: str, level: int = 1, *, variant: int | None = None, binary: bool = False) -> TaskSpec:
    """The ``TaskSpec`` of ``{task}_level{level}`` (or its seeded ``variant``); KeyError if unknown."""
    lvl = get_level(task, level, variant)
    if lvl.win_condition not in SCORERS:
        raise KeyError(f"no scorer for {lvl.win_condition!r}")
    return TaskSpec(lvl, SCORERS[lvl.win_condition], binary)


def available_tasks() -> list[str]:
    """Names of every level that has a scorer."""
    return [k for k, v in LEVELS.items() if v.win_condition in SCORERS]


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
        if ep is not None and (ep.trigger_events or ep.won):
            out["triggers"] = [e.to_dict() for e in ep.trigger_events]
        if include_trace and ep is not None:
            out["trace"] = ep.to_dict()
        return out


def evaluate_machine(source: str | bytes | Sequence[Any] | PlacedMachine, task: str | TaskSpec = "car",
                     level: int = 1, *, params: PhysicsParams = DEFAULT_PARAMS,
                     reference_quirks: bool = True, max_wall_s: float = 60.0,
                     seed: int = 0, variant: int | None = None,
                     bindings: Bindings | None = None) -> TaskResult:
    """Check, simulate and score a design (raw LLM text, parsed tree or ``PlacedMachine``) on a
    level (``variant``: a seeded variant of it, see ``level_loader.make_variant``; ``bindings``:
    per-block key overrides, ``controls``).

    The machine is moved to the level's spawn, simulated in the level's world (obstacles, goal
    objects, wind, triggers; the level's key schedule and wheel mode) and scored by the scorer of
    the level's win condition. Never raises for bad designs: an invalid machine gets
    ``valid=False`` and reward 0 (it is still simulated when it could be placed, so its score is
    informative)."""
    from brickfield.machines.validity import check_machine

    spec = task if isinstance(task, TaskSpec) else get_task(task, level, variant=variant)
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
        compiled = compile_machine(lvl.place(machine), params, level=lvl)
    except Exception as exc:  # a model MuJoCo refuses to compile is an invalid design, not a crash
        return TaskResult(spec.name, False, 0.0, 0.0, (*errors, f"physics compile error: {exc}"),
                          report=report)
    compile_s = time.perf_counter() - t0
    ep = simulate(compiled, lvl.duration, lvl.schedule, max_wall_s=max_wall_s, seed=seed,
                  wheels_automatic=lvl.wheels_automatic, bindings=bindings)
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
    "delivery": "6 m log chassis on six powered wheels with a grabber on the nose: it grabs the iron "
                "ore on contact and carries it; ~0.67 on delivery 1 (the plain car pushes it: 0.48), "
                "wins delivery 5",
    "delivery_no_wheels": "negative control: the delivery machine without wheels (never reaches the ore)",
    "fetch": "crane: wheels on a foot 4 m under the root (so the linear-block phantom lifts it only "
             "0.05 m), a 9 m boom on a riser, and under its tip a hook (decoupler, block, grabber "
             "facing down) hung on two winches. Needs controls.REFERENCE_BINDINGS['fetch'] (decoupler "
             "on V): the fetch script then rolls it to the well's curb (UpArrow, then coasting), drops "
             "the hook (V), lowers it onto the ore (M) and reels the ore out of the well (N): wins "
             "fetch 1. With the decoupler's default J, which the script never presses, it scores 0",
    "fetch_no_grabber": "negative control: the fetch crane with a plain block instead of the grabber",
}
"""Reference machines shipped as package data (``machines/data/machines/<name>.json``)."""


def reference_machine(name: str) -> list[dict[str, Any]]:
    """The construction tree of a shipped reference machine (see ``REFERENCE_MACHINES``)."""
    from importlib.resources import files

    if name not in REFERENCE_MACHINES:
        raise KeyError(f"unknown reference machine {name!r}; known: {sorted(REFERENCE_MACHINES)}")
    text = (files("brickfield.machines") / "data" / "machines" / f"{name}.json").read_text("utf-8")
    return json.loads(text)
