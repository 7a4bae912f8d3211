"""Feedback on a LEGO evaluation for an agent: which bricks fail which check and why, the bricks the
stability analysis finds failing (with their scores), and the format facts a model needs to fix the
answer (allowed sizes, the grid). Built from the record alone, so it also works on a stored one."""

from __future__ import annotations

from typing import Any

from brickfield.core.evaluation import Evaluation, Feedback
from brickfield.lego.library import ALLOWED_DIMENSIONS

__all__ = ["REASON_HINTS", "lego_feedback"]

REASON_HINTS: dict[str, str] = {
    "ill_formatted": "write exactly `HxW (x,y,z)`, one brick per line",
    "not_in_library": f"use one of the sizes {', '.join(ALLOWED_DIMENSIONS)}",
    "out_of_bounds": "keep every stud cell inside the grid",
    "collision": "the brick overlaps an earlier brick in the same layer",
    "floating": "nothing directly below or above holds it",
    "disconnected": "it is not connected to the ground through studs",
}
"""One line of advice per check (``brickfield.lego.checks`` reason codes)."""

MAX_LISTED = 12


def _brick_problems(details: dict[str, Any]) -> list[dict[str, Any]]:
    rows = zip(details.get("bricks", []), details.get("lines", []), details.get("reasons", []),
               details.get("scores", []), strict=False)
    return [{"item": i, "line": ln, "brick": b, "reasons": r}
            for i, (b, ln, r, _s) in enumerate(rows) if r]


def _failing(details: dict[str, Any]) -> list[dict[str, Any]]:
    out = [{"item": i, "brick": b, "score": s}
           for i, (b, s) in enumerate(zip(details.get("bricks", []), details.get("scores", []), strict=False))
           if s is not None and s >= 1.0]
    return out


def lego_feedback(ev: Evaluation, level: str = "full", world_dim: int = 20) -> Feedback:
    """Feedback at ``level`` (``score``, ``minimal`` or ``full``; see ``core.contract.FEEDBACK_LEVELS``)."""
    head = f"status {ev.status}, reward {ev.reward if ev.reward is None else round(ev.reward, 4)}"
    data: dict[str, Any] = {"status": ev.status, "reward": ev.reward, "success": ev.success}
    if level == "score":
        return Feedback(level, head + ".", data)
    d = ev.details
    lines = [head + (f", {int(ev.metrics.get('n_bricks', 0))} bricks" if ev.metrics else "") + "."]
    if ev.status in ("unparseable", "refused", "error"):
        lines += [f"- {e}" for e in ev.errors]
        lines.append(f"Answer with brick lines `HxW (x,y,z)`; sizes {', '.join(ALLOWED_DIMENSIONS)}; "
                     f"grid 0..{world_dim - 1} on each axis.")
        data["issues"] = ev.issues
        return Feedback(level, "\n".join(lines), data)
    problems = _brick_problems(d)
    failing = _failing(d)
    stable = bool(d.get("stable"))
    lines.append(f"All bricks valid: {'yes' if ev.valid else 'no'}; stable: {'yes' if stable else 'no'}.")
    data.update(valid=ev.valid, stable=stable, problems=problems, failing=failing,
                components=ev.components)
    if level == "minimal":
        codes = sorted({r for p in problems for r in p["reasons"]})
        if codes:
            lines.append("Problems: " + "; ".join(f"{c} ({REASON_HINTS.get(c, c)})" for c in codes) + ".")
        if failing:
            lines.append(f"{len(failing)} brick(s) would fall or break.")
        return Feedback(level, "\n".join(lines), data)
    for p in problems[:MAX_LISTED]:
        where = f"line {p['line']}" if p["line"] else f"item {p['item']}"
        lines.append(f"- {where} {p['brick'] or '(malformed)'}: "
                     + "; ".join(f"{r}: {REASON_HINTS.get(r, r)}" for r in p["reasons"]))
    if len(problems) > MAX_LISTED:
        lines.append(f"- ... and {len(problems) - MAX_LISTED} more")
    if failing:
        lines.append("Stability analysis: these bricks fail (score >= 1 means the studs cannot hold them):")
        lines += [f"- item {f['item']} {f['brick']}: score {f['score']:.2f}" for f in failing[:MAX_LISTED]]
    for name in ("iou", "fscore"):
        if name in ev.metrics and ev.metrics[name] is not None:
            lines.append(f"{name}: {ev.metrics[name]:.3f}")
    lines.append(f"Format: `HxW (x,y,z)` per line, sizes {', '.join(ALLOWED_DIMENSIONS)}, "
                 f"grid 0..{world_dim - 1} on each axis, z is the layer (0 = ground).")
    return Feedback(level, "\n".join(lines), data)
