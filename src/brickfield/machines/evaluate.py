"""End-to-end evaluation of one machine on one level: validity -> placement -> simulation -> score.

Reward for RL = machine validity (file and spatial) x score; an episode the simulator had to stop
(NaN, runaway energy, wall-clock limit) scores 0. Scores per win condition: ``machines.scoring``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from brickfield.machines.design.types import PlacedMachine
from brickfield.machines.scoring import LevelScorer, level_scorer
from brickfield.machines.sim.controls import Bindings
from brickfield.machines.sim.params import DEFAULT_PARAMS, PhysicsParams
from brickfield.machines.sim.simulate import Episode, simulate

__all__ = ["TaskResult", "evaluate_machine"]


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


def evaluate_machine(source: str | bytes | Sequence[Any] | PlacedMachine, task: str | LevelScorer = "car",
                     level: int = 1, *, params: PhysicsParams = DEFAULT_PARAMS,
                     reference_quirks: bool = True, max_wall_s: float = 60.0,
                     seed: int = 0, variant: int | None = None,
                     bindings: Bindings | None = None) -> TaskResult:
    """Check, simulate and score a design (raw LLM text, parsed tree or ``PlacedMachine``) on a
    level (``variant``: a seeded variant of it, see ``levels.schema.make_variant``; ``bindings``:
    per-block key overrides, ``controls``).

    The machine is moved to the level's spawn, simulated in the level's world (obstacles, goal
    objects, wind, triggers; the level's key schedule and wheel mode) and scored by the scorer of
    the level's win condition. Never raises for bad designs: an invalid machine gets
    ``valid=False`` and reward 0 (it is still simulated when it could be placed, so its score is
    informative)."""
    from brickfield.machines.design.validity import check_machine

    spec = task if isinstance(task, LevelScorer) else level_scorer(task, level, variant=variant)
    report = None
    if isinstance(source, PlacedMachine):
        machine, valid, errors = source, source.spatial_valid, tuple(source.errors)
    else:
        report = check_machine(source, reference_quirks=reference_quirks)
        machine, valid, errors = report.machine, report.valid, tuple(report.errors)
    if machine is None:
        return TaskResult(spec.name, False, 0.0, 0.0, errors, report=report)
    lvl = spec.level
    # simulate() compiles the machine itself, so compilation counts against the wall limit and an
    # oversized machine is refused before MuJoCo sees it
    ep = simulate(machine, lvl.duration, lvl.schedule, params, max_wall_s=max_wall_s, seed=seed,
                  wheels_automatic=lvl.wheels_automatic, bindings=bindings, level=lvl)
    result = spec.score(ep)
    disallowed = lvl.disallowed(b.type_id for b in machine.blocks)
    score = result.score if ep.valid else 0.0
    if ep.invalid_reason is not None and ep.invalid_reason.startswith("physics compile error"):
        valid, errors = False, (*errors, ep.invalid_reason)  # a model MuJoCo refuses is an invalid design
    return TaskResult(spec.name, bool(valid), score, float(valid) * score, errors, result.metrics, ep,
                      disallowed, {"compile_s": ep.compile_s, "sim_s": ep.wall_s, "sim_seconds": ep.sim_time,
                                   "steps": float(ep.steps)},
                      report)
