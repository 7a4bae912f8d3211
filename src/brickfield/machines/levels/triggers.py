"""Logic triggers: detect bodies entering a level's trigger volumes, and the geometry behind it.

A trigger (``levels.schema.Trigger``) is an oriented box with a target (``anything``, ``any_block``,
``block:<type id>``, ``object:<name>``) and events (``game_win:Progress``, ``progress:50:0``).
Every tracked body stands for a sphere: a block by its centre of mass and half its smallest catalog
extent (a boulder by its collider radius), a loose level object by its centre and half its
smallest size. A body *enters* a trigger when that sphere touches the box; the test is swept
between two checks (the segment the centre travelled, against the box grown by the radius), so a
boulder crossing a 2 m ring trigger at 30 m/s between two 0.2 s checks is still caught (over
0.2 s a ballistic path leaves its chord by g t^2 / 8 = 5 cm). The entry time is interpolated along
the segment.

Semantics (documented in ``docs/levels.md``): each (trigger, body) pair fires at most once, on the
first entry, so a body resting on a trigger's face cannot fire it repeatedly; ``progress:N`` adds
N to the level's progress; the level is won by a ``game_win`` event or when progress reaches 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brickfield.machines.levels.schema import Trigger

__all__ = ["Entity", "TriggerEvent", "TriggerMonitor", "box_distance", "rotation_matrix",
           "target_matches"]

WIN_PROGRESS = 100.0


def rotation_matrix(q: Sequence[float]) -> np.ndarray:
    """3x3 matrix of a unit quaternion [x, y, z, w] (columns = the box's axes in world)."""
    x, y, z, w = (float(c) for c in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def box_distance(points: np.ndarray, trigger: Trigger) -> np.ndarray:
    """Distance (m) from each point (..., 3), Besiege frame, to the trigger's box (0 inside)."""
    rot = rotation_matrix(trigger.rotation)
    local = (np.asarray(points, float) - np.asarray(trigger.center, float)) @ rot
    excess = np.maximum(np.abs(local) - np.asarray(trigger.size, float) / 2.0, 0.0)
    return np.linalg.norm(excess, axis=-1)


@dataclass(frozen=True)
class Entity:
    """Something a trigger can detect: a block (``block`` = its list index) or a loose object."""

    label: str                 # "block 3" or the object's name
    radius: float
    block: int = -1            # list index for blocks, -1 for objects
    type_id: str | None = None  # block type for blocks
    obj: str | None = None     # object name for objects


def target_matches(target: str, e: Entity) -> bool:
    """Whether ``e`` can set off a trigger with ``target``."""
    if target == "anything":
        return True
    if target == "any_block":
        return e.block >= 0
    if target.startswith("block:"):
        return e.block >= 0 and e.type_id == target[6:]
    if target.startswith("object:"):
        return e.obj == target[7:]
    return False


@dataclass(frozen=True)
class TriggerEvent:
    """``entity`` entered ``trigger`` at ``time``; ``progress``/``win`` are the level's state after."""

    time: float
    trigger: str
    entity: str
    block: int                 # list index of the block, -1 for an object
    events: tuple[str, ...]
    progress: float
    win: bool

    def to_dict(self) -> dict[str, object]:
        return {"time": round(self.time, 6), "trigger": self.trigger, "entity": self.entity,
                "block": self.block, "events": list(self.events), "progress": self.progress,
                "win": self.win}


class TriggerMonitor:
    """Swept sphere-vs-box entry tests for one level's triggers over a fixed list of entities.

    ``check(points, t)`` takes the kept entities' current centres (Besiege frame, in ``entities``
    order) and returns the new events since the previous check; state (which pairs fired, the
    progress, the win) lives here, so it survives recompiles of the model. Only entities some
    trigger can detect are kept (``entities``: e.g. just the ore on a delivery level), and only
    triggers some entity can set off."""

    def __init__(self, triggers: Sequence[Trigger], entities: Sequence[Entity]) -> None:
        mask = np.array([[target_matches(t.target, e) for e in entities] for t in triggers],
                        dtype=bool).reshape(len(triggers), len(entities))
        rows = [k for k in range(len(triggers)) if mask[k].any()]      # others can never fire
        cols = [e for e in range(len(entities)) if mask[:, e].any()]   # others are never tested
        self.entities = tuple(entities[e] for e in cols)
        self.triggers = tuple(triggers[k] for k in rows)
        self.mask = mask[np.ix_(rows, cols)]
        self.active = bool(self.triggers)
        self.center = np.array([t.center for t in self.triggers], float).reshape(-1, 3)
        # (K, 3, 3) world->local: local = (p - c) @ R
        self.rot = np.array([rotation_matrix(t.rotation) for t in self.triggers]).reshape(-1, 3, 3)
        radius = np.array([e.radius for e in self.entities], float)
        self.half = (np.array([t.size for t in self.triggers], float).reshape(-1, 1, 3) / 2.0
                     + radius[None, :, None])
        self.reach = np.linalg.norm(self.half, axis=2)   # (K, E): the grown box lies within this
        self.fired = np.zeros_like(self.mask)
        self.pending = self.mask.copy()           # mask & ~fired, kept up to date on each firing
        self.prev: np.ndarray | None = None
        self.t_prev = 0.0
        self.progress = 0.0
        self.win = False
        self.win_time: float | None = None
        self.events: list[TriggerEvent] = []

    def check(self, points: np.ndarray, t: float) -> list[TriggerEvent]:
        """New entries between the previous check and ``t`` (the first call tests the points)."""
        if not self.active:
            return []
        p1 = np.asarray(points, float)
        p0 = p1 if self.prev is None else self.prev
        n = len(p1)
        # quick rejection: a segment that ends farther from a trigger's centre than the grown
        # box's half-diagonal plus its own length cannot touch the box
        far = p1[None, :, :] - self.center[:, None, :]
        step = p1 - p0
        seg = np.sqrt(np.einsum("ij,ij->i", step, step))
        if not ((np.einsum("kij,kij->ki", far, far) <= (self.reach + seg) ** 2) & self.pending).any():
            self.prev, self.t_prev = p1, t
            return []
        # both ends of every segment in every trigger's frame in one matmul: (K, 2E, 3)
        local = (np.concatenate([p0, p1])[None, :, :] - self.center[:, None, :]) @ self.rot
        a, d = local[:, :n], local[:, n:] - local[:, :n]
        # slab test of the segment a + s d, s in [0, 1], against |x| <= half per axis; a zero
        # component becomes +-1e-12, whose huge parameters give (-inf, inf) inside the slab and an
        # empty interval outside it, so no special case (and no division by zero) is needed
        inv = 1.0 / (d + np.copysign(1e-12, d))
        t1, t2 = (-self.half - a) * inv, (self.half - a) * inv   # slab entry/exit per axis
        enter = np.maximum(np.minimum(t1, t2).max(axis=2), 0.0)
        leave = np.minimum(np.maximum(t1, t2).min(axis=2), 1.0)
        new = (enter <= leave) & self.pending
        out: list[TriggerEvent] = []
        if new.any():
            hits = sorted((float(self.t_prev + enter[k, e] * (t - self.t_prev)), int(k), int(e))
                          for k, e in zip(*np.nonzero(new), strict=True))
            for when, k, e in hits:
                trig, ent = self.triggers[k], self.entities[e]
                self.fired[k, e], self.pending[k, e] = True, False
                self.progress += trig.progress
                if not self.win and (trig.wins or self.progress >= WIN_PROGRESS):
                    self.win, self.win_time = True, when
                out.append(TriggerEvent(when, trig.name, ent.label, ent.block, tuple(trig.events),
                                        self.progress, self.win))
        self.events.extend(out)
        self.prev, self.t_prev = p1, t
        return out
