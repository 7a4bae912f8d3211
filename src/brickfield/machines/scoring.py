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

``LevelScorer(binary=True)`` (``level_scorer(..., binary=True)``) scores the win-flag tasks like
BesiegeField's RL reward (``compute_score_binary``): 1 on a win, else 0. Reward for RL = machine
validity (file and spatial) x score; an episode the simulator had to stop (NaN, runaway energy,
wall-clock limit) scores 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.machines.design.catalog import BLOCKS, BOULDER
from brickfield.machines.levels.registry import LEVELS, Level, get_level
from brickfield.machines.levels.schema import Trigger
from brickfield.machines.levels.triggers import WIN_PROGRESS, box_distance
from brickfield.machines.sim.simulate import Episode

__all__ = ["SCORERS", "LevelScorer", "ScoreResult", "available_tasks", "level_scorer", "score_car",
           "score_catapult", "score_deliver", "score_target_throw"]

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
class LevelScorer:
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


def level_scorer(task: str, level: int = 1, *, variant: int | None = None,
                 binary: bool = False) -> LevelScorer:
    """The ``LevelScorer`` of ``{task}_level{level}`` (or its seeded ``variant``); KeyError if unknown."""
    lvl = get_level(task, level, variant)
    if lvl.win_condition not in SCORERS:
        raise KeyError(f"no scorer for {lvl.win_condition!r}")
    return LevelScorer(lvl, SCORERS[lvl.win_condition], binary)


def available_tasks() -> list[str]:
    """Names of every level that has a scorer."""
    return [k for k, v in LEVELS.items() if v.win_condition in SCORERS]
