"""The LEGO domain's evaluation: per-brick checks + stability analysis (+ PVPO with a target).

Items are reported in input order. An item is a parsed brick or a malformed brick line (lenient
parsing keeps those as ``ill_formatted`` items so R_phys counts them); ``scores[i]`` is None for items
the stability analysis could not consider (malformed, not in the library, out of bounds).
Reward policy: ``brickfield.lego.tasks``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from brickfield.core.errors import ParseIssue
from brickfield.core.evaluation import Evaluation
from brickfield.core.task import TaskSpec
from brickfield.lego.checks import NOT_IN_LIBRARY, OUT_OF_BOUNDS, CheckReport, check_structure
from brickfield.lego.rewards import pvpo_details
from brickfield.lego.stability import StabilityConfig, StabilityResult, analyze_stability
from brickfield.lego.structure import Structure
from brickfield.lego.textformat import ParsedText

__all__ = ["LegoResult", "evaluate_parsed"]


@dataclass
class LegoResult:
    """The in-process handle of a LEGO evaluation: the parse, the check report and the stability
    result (with its forces), for feedback and pictures."""

    parsed: ParsedText
    report: CheckReport
    stability: StabilityResult | None


def _analysable(report: CheckReport) -> list[int]:
    """Items the stability model can take: parsed bricks in the library and inside the grid."""
    return [i for i, (b, r) in enumerate(zip(report.bricks, report.reasons, strict=True))
            if b is not None and NOT_IN_LIBRARY not in r and OUT_OF_BOUNDS not in r]


def _issues(report: CheckReport, result: StabilityResult | None, idx: list[int]) -> list[ParseIssue]:
    issues = [ParseIssue(r[0], f"{report.bricks[i].to_text() if report.bricks[i] else 'malformed line'}: "
                         f"{', '.join(r)}", line=ln or None, item=i)
              for i, (r, ln) in enumerate(zip(report.reasons, report.lines, strict=True)) if r]
    if report.n_items == 0:
        issues.append(ParseIssue("no_bricks", "no bricks"))
    if result is not None and not result.stable:
        failing = [idx[k] for k, s in enumerate(result.scores) if s >= 1.0]
        kinds = ", ".join(result.fail_kinds) or result.status
        issues.append(ParseIssue("unstable", f"unstable ({kinds}): {len(failing)} brick(s) fail",
                                 item=failing[0] if failing else None))
    return issues


def evaluate_parsed(parsed: ParsedText, task: TaskSpec, *,
                    stability: StabilityConfig | None = None) -> Evaluation:
    """Check, analyse and score a lenient parse on a LEGO task (``brickfield.lego.tasks``)."""
    t0 = time.perf_counter()
    report = check_structure(parsed)
    t_checks = time.perf_counter() - t0
    scores: list[float | None] = [None] * report.n_items
    result: StabilityResult | None = None
    idx = _analysable(report)
    if idx:
        sub = Structure([report.bricks[i] for i in idx], parsed.structure.world_dim)  # type: ignore[misc]
        result = analyze_stability(sub, stability)
        for k, i in enumerate(idx):
            scores[i] = float(result.scores[k])
    complete = len(idx) == report.n_items and report.n_items > 0
    stable = bool(result is not None and result.stable and complete)

    components: dict[str, float] = {}
    metrics: dict[str, Any] = {"n_bricks": report.n_bricks, "n_items": report.n_items,
                               "fraction_valid": report.fraction_valid, "stable": stable,
                               "max_score": result.max_score if result is not None else None}
    target = task.param("target")
    if target is None:
        components = {"valid": report.fraction_valid, "stable": float(stable)}
    else:
        pv = pvpo_details(parsed, target, float(task.param("lam")), align=int(task.param("align", 0)),
                          checks=report)
        components = {"r_phys": pv.r_phys, "r_vox": pv.r_vox}
        if pv.geometry is not None:
            metrics.update({"iou": pv.geometry.iou, "voxel_distance": pv.geometry.distance,
                            "fscore": pv.geometry.fscore, "shift": list(pv.geometry.shift)})
    stab = None
    if result is not None:
        stab = {k: v for k, v in result.to_dict().items() if k != "scores"}
    details: dict[str, Any] = {
        "stable": stable, "scores": scores, "reasons": [list(r) for r in report.reasons],
        "bricks": [b.to_text() if b is not None else None for b in report.bricks],
        "lines": list(report.lines), "stability": stab,
    }
    status = "ok" if report.is_valid else "invalid"
    timings = {"checks_s": t_checks, "stability_s": result.seconds if result else 0.0,
               "total_s": time.perf_counter() - t0}
    return Evaluation.scored(task, status, components=components, metrics=metrics,
                             issues=_issues(report, result, idx), design_text=parsed.structure.to_text(),
                             details=details, timings=timings,
                             handle=LegoResult(parsed, report, result))
