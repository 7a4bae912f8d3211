"""Environment feedback: what the refiner/querier LLM is told about one simulated design.

The paper's minimal feedback (Appendix D.5) is built from the 0.2 s trace of an
``evaluate_machine`` result, as structured data (``Feedback.to_dict()``) and compact text:

* **machine**: root orientation over time (coarse forward axis + tilt from upright, run-length
  encoded), damage events (block, the block it broke off, time, load), parts off the machine, and
  wheel checks (powered wheels facing y± give no traction; drive direction from facing and
  ``flipped``; wheels out of reach of the ground as built; share of samples on the ground);
* **targets**, the blocks/objects whose trajectory matters: the root ("machine") for the car; the
  scored boulder, then the root, for the catapult; loose blocks, extra ``objects`` (e.g. a goal ore)
  and the root otherwise. Per target: start-to-end distance (= car score), max distance from start,
  max +z progress, max horizontal distance and its direction, max height, max speed, mean speed per
  1 s window and the position at every sample.

"Off the machine" differs from the reference's "distance to the root unchanged within 0.5 m", which
flags every swinging arm: a block is off when a damage event freed it or an ancestor, or when its
pivot (connection point; joint centre for hinges and ball joints) drifts more than 0.5 m from where
its parent's current pose puts it. Deterministic throughout.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from brickfield.core.evaluation import jsonable
from brickfield.machines.design.catalog import BLOCKS, BOULDER, LOOSE_TYPES, POWERED_WHEEL_TYPES, WHEEL_TYPES
from brickfield.machines.design.quat import quat_conj, quat_rotate
from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.design.wheels import drive_direction
from brickfield.machines.evaluate import TaskResult
from brickfield.machines.levels.registry import LEVELS
from brickfield.machines.sim.blocks import Role, role_of
from brickfield.machines.sim.simulate import Episode

__all__ = ["DamageInfo", "Feedback", "FeedbackWarning", "OrientationSpan", "TargetStats", "WheelInfo",
           "block_name", "build_feedback", "detachment_times", "facing_label", "feedback_text",
           "format_series", "format_vec", "jsonable", "quat_rotate"]

DETACH_DISTANCE = 0.5      # m of pivot drift that counts as off the machine (reference: 0.5)
SUSPENSION_SLACK = 0.5     # m: a suspension slides this far by design (PhysicsParams default)
WHEEL_CONTACT_TOL = 0.1    # m: a wheel whose lowest point is this close to y = 0 touches the ground
MAX_SPANS = 8
_PIVOT_AT_CENTRE = frozenset({Role.HINGE, Role.STEER_HINGE, Role.BALL, Role.CASTER})
_X, _Y, _Z = np.eye(3)


# --- helpers (shared with ``querier``) ---------------------------------------------------------
def facing_label(vec: Sequence[float] | np.ndarray) -> str:
    """Coarse facing of a vector: its dominant axis with the sign (``x+``, ``z-``...)."""
    v = np.asarray(vec, dtype=float)
    k = int(np.argmax(np.abs(v)))
    return f"{'xyz'[k]}{'+' if v[k] >= 0 else '-'}"


def format_vec(v: Sequence[float] | np.ndarray, digits: int = 2) -> str:
    """``(x, y, z)`` rounded to ``digits`` (never ``-0.00``)."""
    return "(" + ", ".join(f"{round(float(c), digits) + 0.0:.{digits}f}" for c in v) + ")"


def format_series(times: np.ndarray, values: Sequence[str], per_line: int = 5) -> str:
    """``0.2s value`` cells, ``per_line`` per indented line."""
    cells = [f"{t:.1f}s {v}" for t, v in zip(times, values, strict=True)]
    return "\n".join("  " + "  ".join(cells[k:k + per_line]) for k in range(0, len(cells), per_line))


def block_name(type_id: str) -> str:
    """Catalog name of a type id (``type X`` when unknown)."""
    spec = BLOCKS.get(type_id)
    return spec.name if spec is not None else f"type {type_id}"


def _r(x: float, d: int = 3) -> float:
    return round(float(x), d) + 0.0


def _vec3(v: np.ndarray) -> tuple[float, float, float]:
    return (_r(v[0]), _r(v[1]), _r(v[2]))


# --- structured feedback ------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackWarning:
    """A problem worth the designer's attention (``code`` is stable)."""

    code: str
    message: str
    order_id: int | None = None


@dataclass(frozen=True)
class OrientationSpan:
    """Consecutive samples with the same coarse root orientation (tilt in degrees from upright)."""

    start: float
    end: float
    attitude: str     # upright | tilted | nose up | nose down | on its side | upside down
    facing: str       # coarse forward axis
    tilt_min: float
    tilt_max: float


@dataclass(frozen=True)
class DamageInfo:
    """A connection that broke: ``order_id`` came off ``parent_order_id``, taking ``carried`` along."""

    time: float
    order_id: int
    name: str
    parent_order_id: int
    parent_name: str
    force: float
    torque: float
    carried: tuple[int, ...]


@dataclass(frozen=True)
class WheelInfo:
    """A wheel: facing as built, drive direction (powered) and share of samples on the ground."""

    order_id: int
    name: str
    powered: bool
    facing: str
    drive: str | None
    ground_share: float | None


@dataclass(frozen=True)
class TargetStats:
    """Trajectory statistics of one target (block, or object given as positions), m, m/s."""

    name: str
    role: str                    # machine | boulder | object | target
    order_id: int | None
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    distance: float              # straight line, first -> last sample (= car score for the root)
    max_distance: float          # largest straight-line distance from the start
    max_forward: float           # largest progress along +z
    max_horizontal: float        # largest horizontal (x, z) distance from the start ...
    direction: str               # ... and its coarse direction
    max_height: float
    max_speed: float
    mean_speed_per_s: tuple[float, ...]
    times: tuple[float, ...]
    positions: tuple[tuple[float, float, float], ...]
    throw_distance: float | None = None   # the scored flight distance (catapult boulder)
    land_index: int | None = None
    detached_at: float | None = None


@dataclass(frozen=True)
class Feedback:
    """Structured environment feedback plus its ``text``."""

    task: str
    win_condition: str | None
    valid: bool
    score: float
    errors: tuple[str, ...]
    invalid_reason: str | None
    duration: float
    samples: int
    disallowed_blocks: tuple[str, ...] = ()
    warnings: tuple[FeedbackWarning, ...] = ()
    orientation: tuple[OrientationSpan, ...] = ()
    damage: tuple[DamageInfo, ...] = ()
    detached: tuple[tuple[int, str, float], ...] = ()   # (order_id, name, since)
    wheels: tuple[WheelInfo, ...] = ()
    targets: tuple[TargetStats, ...] = ()
    level_events: tuple[str, ...] = ()      # trigger entries in time order ("2.40 s: ore entered goal")
    text: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (text included; lists, not tuples)."""
        return jsonable(asdict(self))


# --- trace analysis ------------------------------------------------------------------------------
def detachment_times(ep: Episode, placed: PlacedMachine | None = None,
                     threshold: float = DETACH_DISTANCE) -> np.ndarray:
    """(N,) first time each block was off the machine, ``inf`` if never (see the module doc).

    Loose and linear blocks keep ``inf`` unless a damage event names them."""
    n = len(ep.order_ids)
    out = np.full(n, np.inf)
    for e in ep.damage:
        if 0 <= e.block < n:
            out[e.block] = min(out[e.block], e.time)
    if placed is None or len(placed.blocks) != n:
        return out
    for b in placed.blocks[1:] if len(ep.times) else ():
        spec = BLOCKS.get(b.type_id)
        if spec is None or spec.is_linear or b.type_id in LOOSE_TYPES or not b.parents:
            continue
        p = placed.blocks[b.parents[0]]
        if p.type_id in LOOSE_TYPES or p.position_b is not None:
            continue
        role = role_of(b.type_id, spec)
        local = np.array(spec.center if role in _PIVOT_AT_CENTRE else (0.0, 0.0, 0.0))
        world = np.array(b.position) + quat_rotate(np.array(b.rotation), local)
        off = quat_rotate(quat_conj(p.rotation), world - np.array(p.position))
        own = ep.positions[:, b.index] + quat_rotate(ep.rotations[:, b.index], local)
        ref = ep.positions[:, p.index] + quat_rotate(ep.rotations[:, p.index], off)
        slack = SUSPENSION_SLACK if role is Role.SUSPENSION else 0.0
        over = np.flatnonzero(np.linalg.norm(own - ref, axis=1) > threshold + slack)
        if len(over):
            out[b.index] = min(out[b.index], float(ep.times[over[0]]))
    for b in placed.blocks:  # parents come first in tree order: a child leaves with its parent
        if b.parents and b.position_b is None and b.parents[0] < b.index:
            out[b.index] = min(out[b.index], out[b.parents[0]])
    return out


def _descendants(placed: PlacedMachine | None, root: int) -> tuple[int, ...]:
    """List indices hanging (through first parents) from block ``root``."""
    if placed is None:
        return ()
    inside = {root}
    for b in placed.blocks:
        if b.parents and b.position_b is None and b.parents[0] in inside and b.index != root:
            inside.add(b.index)
    return tuple(sorted(inside - {root}))


def _orientation(ep: Episode) -> tuple[list[OrientationSpan], list[str], np.ndarray]:
    """Root orientation spans, per-sample facing labels and attitudes."""
    q = ep.rotations[:, 0]
    fwd, up = quat_rotate(q, _Z), quat_rotate(q, _Y)
    tilt = np.degrees(np.arccos(np.clip(up[:, 1], -1.0, 1.0)))
    facings = [facing_label(f) for f in fwd]
    att = np.select([tilt <= 30, tilt >= 150, fwd[:, 1] >= 0.5, fwd[:, 1] <= -0.5, np.abs(up[:, 1]) < 0.5],
                    ["upright", "upside down", "nose up", "nose down", "on its side"], "tilted")
    spans: list[OrientationSpan] = []
    k = 0
    while k < len(q):
        j = k
        while j + 1 < len(q) and att[j + 1] == att[k] and facings[j + 1] == facings[k]:
            j += 1
        spans.append(OrientationSpan(_r(ep.times[k], 2), _r(ep.times[j], 2), str(att[k]), facings[k],
                                     _r(tilt[k:j + 1].min(), 1), _r(tilt[k:j + 1].max(), 1)))
        k = j + 1
    return spans, facings, att


def _orientation_warnings(ep: Episode, spans: list[OrientationSpan], facings: list[str],
                          att: np.ndarray) -> list[FeedbackWarning]:
    out = []
    if len(spans) > len(facings) / 4:  # the reference's "frequently changes" rule
        top = "; ".join(f"{s.attitude} facing {s.facing}" for s in spans[:4])
        out.append(FeedbackWarning("orientation_unstable", f"machine orientation changes frequently: {top}"))
    elif (common := Counter(facings).most_common(1)[0][0]) != "z+":
        out.append(FeedbackWarning("mostly_facing", f"machine mostly faced {common} (forward is z+)"))
    flipped = np.flatnonzero(att == "upside down")
    if len(flipped):
        end = " to the end" if flipped[-1] == len(att) - 1 else ""
        out.append(FeedbackWarning("machine_flipped",
                                   f"machine was upside down from {ep.times[flipped[0]]:.1f} s{end}"))
    return out


def _wheels(ep: Episode | None, placed: PlacedMachine) -> tuple[list[WheelInfo], list[FeedbackWarning]]:
    infos: list[WheelInfo] = []
    warns: list[FeedbackWarning] = []
    lows = [b.box_min[1] for b in placed.blocks if b.box_min is not None]
    for b in placed.blocks:
        if b.type_id not in WHEEL_TYPES:
            continue
        spec, powered = BLOCKS[b.type_id], b.type_id in POWERED_WHEEL_TYPES
        label = f"{spec.name} (order_id {b.order_id})"
        drive = drive_direction(quat_rotate(np.array(b.rotation), _Z), b.flipped)
        drive_label = facing_label(drive) if powered and np.linalg.norm(drive) > 0.5 else None
        if b.facing in ("y+", "y-"):
            warns.append(FeedbackWarning("no_traction" if powered else "wheel_cannot_roll",
                                         f"{label} faces {b.facing} (up/down): its axle is vertical, so it "
                                         + ("gives no traction" if powered else "cannot roll"), b.order_id))
        elif drive_label not in (None, "z+"):
            code = "drives_backwards" if drive_label == "z-" else "drives_sideways"
            warns.append(FeedbackWarning(code, f"{label} faces {b.facing} and drives the machine towards "
                                         f"{drive_label}, not forward (z+)", b.order_id))
        if b.box_min is not None and b.box_min[1] - min(lows) > 0.5:
            warns.append(FeedbackWarning("wheel_off_ground", f"{label} does not reach the ground as built "
                                         f"({b.box_min[1] - min(lows):.1f} m above the machine's lowest "
                                         "point)", b.order_id))
        share = None
        if ep is not None and len(ep.times):
            q = ep.rotations[:, b.index]
            a = quat_rotate(q, _Z)
            centre_y = (ep.positions[:, b.index] + quat_rotate(q, np.array(spec.center)))[:, 1]
            radius, half = spec.collider_size[0], spec.collider_size[1] / 2
            low = centre_y - radius * np.sqrt(np.clip(1 - a[:, 1] ** 2, 0, 1)) - half * np.abs(a[:, 1])
            share = _r(np.mean(low <= WHEEL_CONTACT_TOL), 2)
            if powered and share == 0 and b.facing not in ("y+", "y-"):
                warns.append(FeedbackWarning("wheel_off_ground", f"{label} never touched the ground",
                                             b.order_id))
        infos.append(WheelInfo(b.order_id, spec.name, powered, b.facing, drive_label, share))
    return infos, warns


def _mean_speed_per_s(times: np.ndarray, pos: np.ndarray) -> tuple[float, ...]:
    """Path length / time in each full 1 s window from the first sample."""
    seg, dt = np.linalg.norm(np.diff(pos, axis=0), axis=1), np.diff(times)
    out = []
    for k in range(math.floor(times[-1] - times[0] + 1e-6) if len(times) > 1 else 0):
        m = (times[:-1] >= times[0] + k - 1e-6) & (times[1:] <= times[0] + k + 1 + 1e-6)
        if dt[m].sum() > 0:
            out.append(_r(seg[m].sum() / dt[m].sum(), 2))
    return tuple(out)


def _target(name: str, role: str, times: np.ndarray, pos: np.ndarray, vel: np.ndarray | None,
            order_id: int | None = None, **extra: Any) -> TargetStats:
    d = pos - pos[0]
    dist, horiz = np.linalg.norm(d, axis=1), np.linalg.norm(d[:, [0, 2]], axis=1)
    kh = int(np.argmax(horiz))
    speed = np.linalg.norm(vel, axis=1) if vel is not None else \
        np.linalg.norm(np.diff(pos, axis=0), axis=1) / np.maximum(np.diff(times), 1e-9)
    direction = facing_label([d[kh, 0], 0.0, d[kh, 2]]) if horiz[kh] > 1e-6 else "none"
    return TargetStats(name, role, order_id, _vec3(pos[0]), _vec3(pos[-1]), _r(dist[-1]), _r(dist.max()),
                       _r(d[:, 2].max()), _r(horiz[kh]), direction, _r(pos[:, 1].max()),
                       _r(speed.max() if len(speed) else 0.0), _mean_speed_per_s(times, pos),
                       tuple(_r(t) for t in times), tuple(_vec3(p) for p in pos), **extra)


def _targets(result: TaskResult, ep: Episode, kind: str, det: np.ndarray, targets: Sequence[int] | None,
             objects: Mapping[str, np.ndarray] | None) -> list[TargetStats]:
    loose = [i for i, t in enumerate(ep.type_ids) if t in LOOSE_TYPES]
    scored = result.metrics.get("boulder_block")
    if targets is not None:
        index = {o: i for i, o in enumerate(ep.order_ids)}
        chosen = [(index[o], "target") for o in targets if o in index]
    elif kind == "car":
        chosen = [(0, "machine")]
    elif kind == "catapult":
        boulders = sorted((i for i in loose if ep.type_ids[i] == BOULDER), key=lambda i: (i != scored, i))
        chosen = [(i, "boulder") for i in boulders] + [(0, "machine")]
    else:
        chosen = [(i, "object") for i in loose] + [(0, "machine")]
    out = [_target(name, "object", ep.times, np.asarray(traj, dtype=float), None)
           for name, traj in (objects or {}).items() if np.shape(traj) == ep.positions[:, 0].shape]
    for i, role in chosen:
        extra: dict[str, Any] = {}
        if role == "boulder" and i == scored and "land_index" in result.metrics:
            extra = {"throw_distance": _r(result.metrics["distance"]),
                     "land_index": int(result.metrics["land_index"])}
        if np.isfinite(det[i]):
            extra["detached_at"] = _r(det[i])
        name = "machine (root block)" if role == "machine" else block_name(ep.type_ids[i])
        out.append(_target(name, role, ep.times, ep.positions[:, i], ep.velocities[:, i], ep.order_ids[i],
                           **extra))
    return out


def build_feedback(result: TaskResult, *, task: str | None = None, placed: PlacedMachine | None = None,
                   targets: Sequence[int] | None = None,
                   objects: Mapping[str, np.ndarray] | None = None) -> Feedback:
    """The environment feedback of one evaluation (structured + ``text``).

    ``task`` overrides the task kind taken from ``result.task`` (``car``, ``catapult``,
    ``delivery``...); ``placed`` defaults to ``result.report.machine``; ``targets`` (order ids)
    replaces the task's target blocks; ``objects`` adds non-block trajectories (name -> (T, 3)
    positions on the episode's samples), e.g. a level's goal object."""
    kind = (task or result.task).split("_level")[0]
    level = LEVELS.get(result.task)
    placed = placed if placed is not None else getattr(result.report, "machine", None)
    ep = result.episode
    if placed is not None and ep is not None and len(placed.blocks) != len(ep.order_ids):
        placed = None
    if objects is None and ep is not None and level is not None:  # the level's goal objects by default
        goals = {g.name for g in level.goal_objects}
        objects = {k: v for k, v in ep.objects.items() if k in goals} or None
    head = dict(task=result.task, win_condition=level.win_condition if level else None,
                valid=bool(result.valid), score=_r(result.score, 4),
                errors=tuple(e.splitlines()[0] if e else e for e in result.errors),
                invalid_reason=ep.invalid_reason if ep else None,
                duration=_r(ep.times[-1]) if ep is not None and len(ep.times) else 0.0,
                samples=len(ep.times) if ep is not None else 0,
                disallowed_blocks=tuple(result.disallowed_blocks))
    wheels, warns = _wheels(ep, placed) if placed is not None else ([], [])
    if ep is None or not len(ep.times):
        fb = Feedback(**head, warnings=tuple(warns), wheels=tuple(wheels))
        object.__setattr__(fb, "text", _render(fb))
        return fb
    det = detachment_times(ep, placed)
    spans, facings, att = _orientation(ep)
    warns = _orientation_warnings(ep, spans, facings, att) + warns
    if ep.invalid_reason:
        warns.append(FeedbackWarning("simulation_stopped", f"simulation stopped early: {ep.invalid_reason}"))
    n = len(ep.order_ids)
    damage = [DamageInfo(_r(e.time), e.order_id, block_name(e.type_id),
                         ep.order_ids[e.parent] if 0 <= e.parent < n else e.parent,
                         block_name(ep.type_ids[e.parent]) if 0 <= e.parent < n else "?", _r(e.force, 1),
                         _r(e.torque, 1), tuple(ep.order_ids[j] for j in _descendants(placed, e.block)))
              for e in ep.damage]
    detached = tuple((ep.order_ids[j], block_name(ep.type_ids[j]), _r(det[j]))
                     for j in np.flatnonzero(np.isfinite(det)))
    fb = Feedback(**head, warnings=tuple(warns), orientation=tuple(spans), damage=tuple(damage),
                  detached=detached, wheels=tuple(wheels),
                  targets=tuple(_targets(result, ep, kind, det, targets, objects)),
                  level_events=tuple(f"{e.time:.2f} s: {e.entity} entered {e.trigger}"
                                     + (" (win)" if e.win else "") for e in ep.trigger_events))
    object.__setattr__(fb, "text", _render(fb))
    return fb


def feedback_text(result: TaskResult, **kwargs: Any) -> str:
    """The feedback text of ``result`` (drop-in for ``tasks.feedback_summary``)."""
    return build_feedback(result, **kwargs).text


# --- text ---------------------------------------------------------------------------------------
def _load(f: float, unit: str) -> str:
    return f"{f / 1000:.1f} k{unit}" if abs(f) >= 1000 else f"{f:.0f} {unit}"


def _cap(lines: list[str], limit: int, what: str) -> list[str]:
    return lines if len(lines) <= limit else [*lines[:limit], f"- ... {len(lines) - limit} more {what}"]


def _render(fb: Feedback) -> str:
    """Compact sectioned text of ``fb`` (what the LLM reads)."""
    out = [f"Task: {fb.task}" + (f" ({fb.win_condition})" if fb.win_condition else "")]
    sim = f"simulated {fb.duration:.1f} s, {fb.samples} samples" if fb.samples else "not simulated"
    out.append(f"Score: {fb.score:.2f} | {'valid machine' if fb.valid else 'INVALID machine'} | {sim}")
    out += [f"- error: {e}" for e in fb.errors[:3]]
    if fb.disallowed_blocks:
        out.append("- blocks not allowed on this level: "
                   + ", ".join(f"{t} ({block_name(t)})" for t in fb.disallowed_blocks))
    out.append("[Warnings]" + ("" if fb.warnings else " none"))
    out += _cap([f"- {w.message}" for w in fb.warnings], 12, "warnings")
    if fb.orientation:
        out.append("[Machine orientation] root block: coarse forward axis; tilt = up axis from vertical")
        spans = [f"- {s.start:.1f}-{s.end:.1f} s: {s.attitude}, facing {s.facing} (tilt "
                 + (f"{s.tilt_min:.0f}" if round(s.tilt_min) == round(s.tilt_max)
                    else f"{s.tilt_min:.0f}-{s.tilt_max:.0f}") + "°)" for s in fb.orientation]
        out += _cap(spans, MAX_SPANS, "orientation changes")
    if fb.samples:
        out.append("[Damage]" + ("" if fb.damage else " none"))
        out += _cap([f"- {d.time:.2f} s: {d.name} (order_id {d.order_id}) broke off {d.parent_name} "
                     f"(order_id {d.parent_order_id}): {_load(d.force, 'N')}, {_load(d.torque, 'N m')}"
                     + ("; came off with it: order_id " + ", ".join(map(str, d.carried[:12]))
                        + (" ..." if len(d.carried) > 12 else "") if d.carried else "")
                     for d in fb.damage], 10, "breakages")
        if fb.detached:
            cells = [f"{o} {name} ({t:.2f} s)" for o, name, t in fb.detached[:16]]
            more = f" ... +{len(fb.detached) - 16}" if len(fb.detached) > 16 else ""
            out.append("[Parts off the machine] order_id name (since): " + ", ".join(cells) + more)
    if fb.wheels:
        out.append("[Wheels] facing, drive direction, share of samples touching the ground")
        out += _cap([f"- {w.name} (order_id {w.order_id}): faces {w.facing}"
                     + (f", drives {w.drive}" if w.drive else ", no drive" if w.powered else "")
                     + (f", on ground {w.ground_share:.0%}" if w.ground_share is not None else "")
                     for w in fb.wheels], 12, "wheels")
    if fb.level_events:
        out.append("[Level events]")
        out += _cap([f"- {e}" for e in fb.level_events], 12, "level events")
    for t in fb.targets:
        out.append(f"[Target: {t.name}" + (f", order_id {t.order_id}]" if t.order_id is not None
                                           else " (not a block)]"))
        if t.detached_at is not None and t.role != "boulder":
            out.append(f"- off the machine from {t.detached_at:.1f} s")
        out.append(f"- distance start->end: {t.distance:.2f} m; max distance from start: "
                   f"{t.max_distance:.2f} m; max forward (+z): {t.max_forward:.2f} m")
        out.append(f"- max horizontal distance: {t.max_horizontal:.2f} m towards {t.direction}; max height: "
                   f"{t.max_height:.2f} m (start {t.start[1]:.2f} m); max speed: {t.max_speed:.2f} m/s")
        if t.throw_distance is not None and t.land_index is not None:
            out.append(f"- throw distance (scored flight): {t.throw_distance:.2f} m; landing at sample "
                       f"{t.land_index} ({t.times[t.land_index]:.1f} s)")
        if t.mean_speed_per_s:
            out.append("- mean speed per second (m/s, 1 s windows): "
                       + ", ".join(f"{v:.2f}" for v in t.mean_speed_per_s))
        out.append("- position (x, y, z) m per sample:")
        out.append(format_series(np.array(t.times), [format_vec(p) for p in t.positions]))
    return "\n".join(out)
