"""Simulation traces: ``Episode`` (what ``simulate`` returns) and ``DamageEvent``.

Everything is in Besiege coordinates (left-handed, x right, y up, z forward, metres; quaternions
[x, y, z, w]) and JSON round-trips through ``Episode.to_dict``/``Episode.from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.machines.levels.triggers import TriggerEvent

__all__ = ["DamageEvent", "Episode"]


@dataclass(frozen=True)
class DamageEvent:
    """A connection that broke: ``block`` (list index) came off ``parent`` at ``time``."""

    time: float
    block: int
    order_id: int
    type_id: str
    parent: int
    force: float          # N through the connection when it broke
    torque: float         # N m about the connection point
    kind: str             # "tree" (fused/joint connection) or "weld"

    def to_dict(self) -> dict[str, Any]:
        return {"time": round(self.time, 6), "block": self.block, "order_id": self.order_id,
                "type_id": self.type_id, "parent": self.parent, "force": float(self.force),
                "torque": float(self.torque), "kind": self.kind}


@dataclass
class Episode:
    """A simulation trace. Arrays are (T, N, k) over samples T and blocks N, Besiege coordinates.

    ``positions`` are block origins (the connection point; end A for linear blocks) except loose
    blocks (boulder, bomb), which report their centre. ``rotations`` are [x, y, z, w];
    ``velocities`` are linear velocities of the same points (m/s). Loose level objects (goal
    objects, dynamic obstacles) are in ``object_*`` (T, M, k), centres of mass, named by
    ``object_names``; ``objects`` maps names to (T, 3) positions. ``trigger_events`` lists every
    trigger entry; ``won``/``win_time``/``progress`` are the level's logic state at the end."""

    times: np.ndarray
    positions: np.ndarray
    rotations: np.ndarray
    velocities: np.ndarray
    order_ids: tuple[int, ...]
    type_ids: tuple[str, ...]
    damage: list[DamageEvent] = field(default_factory=list)
    invalid_reason: str | None = None
    sim_time: float = 0.0
    steps: int = 0
    wall_s: float = 0.0
    compile_s: float = 0.0
    recompiles: int = 0
    object_names: tuple[str, ...] = ()
    object_positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))
    object_rotations: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 4)))
    object_velocities: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))
    trigger_events: list[TriggerEvent] = field(default_factory=list)
    won: bool = False
    win_time: float | None = None
    progress: float = 0.0

    @property
    def valid(self) -> bool:
        """True when the simulator ran the episode to its end (no ``invalid_reason``)."""
        return self.invalid_reason is None

    @property
    def objects(self) -> dict[str, np.ndarray]:
        """Loose level objects by name: (T, 3) positions (Besiege frame) on ``times``."""
        return {n: self.object_positions[:, k] for k, n in enumerate(self.object_names)}

    def to_dict(self, decimals: int = 4) -> dict[str, Any]:
        """JSON-serialisable form (nested lists, rounded to ``decimals``)."""
        def r(a: np.ndarray) -> list[Any]:
            return np.round(a, decimals).tolist()

        return {"times": r(self.times), "positions": r(self.positions), "rotations": r(self.rotations),
                "velocities": r(self.velocities), "order_ids": list(self.order_ids),
                "type_ids": list(self.type_ids), "damage": [e.to_dict() for e in self.damage],
                "invalid_reason": self.invalid_reason, "sim_time": self.sim_time, "steps": self.steps,
                "wall_s": self.wall_s, "compile_s": self.compile_s, "recompiles": self.recompiles,
                "object_names": list(self.object_names), "object_positions": r(self.object_positions),
                "object_rotations": r(self.object_rotations),
                "object_velocities": r(self.object_velocities),
                "trigger_events": [e.to_dict() for e in self.trigger_events], "won": self.won,
                "win_time": self.win_time, "progress": self.progress}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Episode:
        damage = [DamageEvent(**e) for e in d.get("damage", [])]
        names = tuple(d.get("object_names", ()))

        def obj(key: str, k: int) -> np.ndarray:
            return np.asarray(d.get(key, []), float).reshape(len(d["times"]), len(names), k)

        events = [TriggerEvent(e["time"], e["trigger"], e["entity"], e["block"], tuple(e["events"]),
                               e["progress"], e["win"]) for e in d.get("trigger_events", [])]
        return cls(np.asarray(d["times"], float), np.asarray(d["positions"], float),
                   np.asarray(d["rotations"], float), np.asarray(d["velocities"], float),
                   tuple(d["order_ids"]), tuple(d["type_ids"]), damage, d.get("invalid_reason"),
                   d.get("sim_time", 0.0), d.get("steps", 0), d.get("wall_s", 0.0),
                   d.get("compile_s", 0.0), d.get("recompiles", 0), names, obj("object_positions", 3),
                   obj("object_rotations", 4), obj("object_velocities", 3), events,
                   bool(d.get("won", False)), d.get("win_time"), float(d.get("progress", 0.0)))
