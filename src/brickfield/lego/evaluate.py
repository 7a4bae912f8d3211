"""The LEGO domain's `evaluate`: per-brick checks + stability analysis (+ PVPO rewards with a target).

Items are reported in input order. An item is a parsed brick or a malformed brick line (lenient
parsing keeps those as `ill_formatted` items so R_phys counts them); `scores[i]` is None for items the
stability analysis could not consider (malformed, not in the library, out of bounds).
"""

from __future__ import annotations

import time
from typing import Any

from brickfield.core.contract import Evaluation, Task
from brickfield.lego.checks import NOT_IN_LIBRARY, OUT_OF_BOUNDS, CheckReport, check_structure
from brickfield.lego.rewards import DEFAULT_LAMBDA, pvpo_details
from brickfield.lego.stability.solve import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.structure import Structure
from brickfield.lego.textformat import ParsedText, parse_text

DOMAIN = "lego"


def _analysable(report: CheckReport) -> list[int]:
    """Items the stability model can take: parsed bricks in the library and inside the grid."""
    return [i for i, (b, r) in enumerate(zip(report.bricks, report.reasons, strict=True))
            if b is not None and NOT_IN_LIBRARY not in r and OUT_OF_BOUNDS not in r]


def evaluate_structure(design: Structure | ParsedText, task: Task | None = None, *,
                       stability: StabilityConfig | None = None, run_stability: bool = True) -> Evaluation:
    """Check and score a structure (or a lenient parse of model output).

    `valid` means every item passes every per-brick check; `stable` (in details) means the stability
    analysis ran on every brick and found no floating brick, no collision and max score < 1.
    `reward` is the PVPO reward when `task.target` is set (λ from `task.options["lam"]`, default
    0.5), else R_phys (fraction of valid items).
    """
    t0 = time.perf_counter()
    world = design.structure.world_dim if isinstance(design, ParsedText) else design.world_dim
    report = check_structure(design)
    t_checks = time.perf_counter() - t0

    scores: list[float | None] = [None] * report.n_items
    result: StabilityResult | None = None
    idx = _analysable(report)
    if run_stability and idx:
        sub = Structure([report.bricks[i] for i in idx], world)  # type: ignore[misc]
        result = analyze_stability(sub, stability)
        for k, i in enumerate(idx):
            scores[i] = float(result.scores[k])
    complete = len(idx) == report.n_items and report.n_items > 0
    stable = bool(result is not None and result.stable and complete)

    errors = [f"item {i}{f' (line {ln})' if ln else ''}: {', '.join(r)}"
              for i, (r, ln) in enumerate(zip(report.reasons, report.lines, strict=True)) if r]
    if report.n_items == 0:
        errors.append("no bricks")
    if result is not None and not result.stable:
        errors.append(f"unstable: {', '.join(result.fail_kinds) or result.status}")

    metrics: dict[str, float] = {"n_bricks": float(report.n_bricks), "n_items": float(report.n_items),
                                 "fraction_valid": report.fraction_valid}
    if result is not None:
        metrics["max_score"] = result.max_score
    details: dict[str, Any] = {
        "stable": stable,
        "scores": scores,
        "reasons": [list(r) for r in report.reasons],
        "bricks": [b.to_text() if b is not None else None for b in report.bricks],
        "lines": list(report.lines),
        "stability": result.to_dict() if result is not None else None,
    }
    reward = report.fraction_valid
    if task is not None and task.target is not None:
        lam = float(task.options.get("lam", DEFAULT_LAMBDA))
        pv = pvpo_details(design, task.target, lam, align=task.options.get("align", 0), checks=report)
        reward = pv.reward
        metrics.update({"r_phys": pv.r_phys, "r_vox": pv.r_vox})
        if pv.geometry is not None:
            metrics.update({"iou": pv.geometry.iou, "voxel_distance": pv.geometry.distance,
                            "fscore": pv.geometry.fscore})
    timings = {"checks_s": t_checks, "stability_s": result.seconds if result else 0.0,
               "total_s": time.perf_counter() - t0}
    return Evaluation(domain=DOMAIN, valid=report.is_valid, reward=float(reward), errors=errors,
                      metrics=metrics, details=details, timings=timings)


def evaluate_text(text: str | bytes, task: Task | None = None, **kwargs: Any) -> Evaluation:
    """Parse raw model output leniently and evaluate it. Raises ParseError only when the input is
    unusable as a whole (too large, too many bricks)."""
    return evaluate_structure(parse_text(text), task, **kwargs)


__all__ = ["evaluate_structure", "evaluate_text"]
