"""The machines domain (registered as ``machines``): level tasks, construction-tree parsing, validity,
MuJoCo simulation, scoring, feedback. Reward policy: ``brickfield.machines.tasks``.

``parse`` reads the block list (unreadable text is ``unparseable``, too much of it ``refused``) and runs
the file checks; ``evaluate`` places the machine, checks its blocks against the level, simulates it
when it is valid (or when the task asks for invalid ones too) and scores it. The in-process handle is
the ``TaskResult`` (validity report, episode) the feedback and the querier read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brickfield.core.contract import FEEDBACK_LEVELS, DomainBase, Parsed
from brickfield.core.errors import ParseIssue
from brickfield.core.evaluation import Evaluation, Feedback
from brickfield.core.registry import register_domain
from brickfield.core.task import TaskSpec
from brickfield.machines.design.parse import check_tree_data
from brickfield.machines.design.tree import DEFAULT_LIMITS, TreeCheck, load_tree_data
from brickfield.machines.design.validity import ValidityReport, check_tree, file_invalid_report
from brickfield.machines.evaluate import TaskResult, evaluate_machine
from brickfield.machines.scoring import level_scorer
from brickfield.machines.tasks import machine_task, machine_tasks

__all__ = ["DOMAIN", "MachineDomain", "MachineDraft"]

_EPISODE_CODES = (("NaN", "nan"), ("runaway", "runaway"), ("left the world", "runaway"),
                  ("unstable", "unstable_simulation"), ("breakages", "too_many_breakages"),
                  ("compile", "compile_error"))


@dataclass(frozen=True)
class MachineDraft:
    """A parsed answer: the raw block list and its file check (``check.tree`` set when file-valid)."""

    data: tuple[Any, ...]
    check: TreeCheck

    def to_text(self) -> str:
        """Canonical construction-tree JSON (the raw block list when the file is not valid)."""
        import json

        if self.check.tree is not None:
            return self.check.tree.to_text()
        try:
            return json.dumps(list(self.data), ensure_ascii=False)
        except (TypeError, ValueError):
            return repr(list(self.data))


def _episode_code(reason: str) -> str:
    """The issue code of an episode the simulator stopped: the ``code:`` prefix the simulator writes
    (``wall_limit``, ``physics_error``, ``too_many_blocks``), else one named after the reason."""
    head, sep, _ = reason.partition(":")
    if sep and head.isidentifier() and head.islower():
        return head
    return next((code for key, code in _EPISODE_CODES if key in reason), "episode_stopped")


class MachineDomain(DomainBase):
    """Besiege-style machines on BesiegeField's levels."""

    name = "machines"

    def tasks(self, suite: str = "default") -> list[TaskSpec]:
        """Task specs of a suite (``brickfield.machines.tasks.SUITES``)."""
        return machine_tasks(suite)

    def task(self, name: str = "car:1", **params: Any) -> TaskSpec:
        """One level's task (``brickfield.machines.tasks.machine_task``)."""
        return machine_task(name, **params)

    def _parse(self, text: str | bytes, task: TaskSpec) -> Parsed:
        limits = DEFAULT_LIMITS
        if task.limits.max_parts is not None and task.limits.max_parts != limits.max_blocks:
            from dataclasses import replace

            limits = replace(limits, max_blocks=int(task.limits.max_parts))
        data = load_tree_data(text, limits)  # ParseError -> unparseable / refused (DomainBase.parse)
        check = check_tree_data(data, reference_quirks=task.param("reference_quirks"))
        return Parsed(MachineDraft(tuple(data), check))

    def _evaluate(self, parsed: Parsed, task: TaskSpec) -> Evaluation:
        draft = parsed.design
        if not isinstance(draft, MachineDraft):
            raise TypeError(f"the machines domain evaluates MachineDraft, got {type(draft).__name__}")
        p = task.params
        quirks = bool(p["reference_quirks"])
        report: ValidityReport = (check_tree(draft.check.tree, reference_quirks=quirks)
                                  if draft.check.tree is not None
                                  else file_invalid_report(draft.check, quirks))
        scorer = level_scorer(p["task"], p["level"], variant=p["variant"], binary=p["binary"])
        issues: list[ParseIssue | dict[str, Any]] = list(report.issues) if not report.valid else []
        if not report.valid and not issues:
            issues = [ParseIssue("invalid_machine", report.errors[0] if report.errors else "invalid machine")]
        disallowed: tuple[str, ...] = ()
        if report.machine is not None:
            disallowed = scorer.level.disallowed(b.type_id for b in report.machine.blocks)
        if disallowed and not p["allow_any_block"]:
            issues.append(ParseIssue("block_not_allowed", f"blocks not allowed on {task.name}: "
                                     f"{', '.join(disallowed)}"))
        valid = not issues
        result = TaskResult(scorer.name, False, 0.0, 0.0, tuple(report.errors), report=report,
                            disallowed_blocks=disallowed)
        if report.machine is not None and (valid or p["simulate_invalid"]):
            result = self._simulate(report, scorer, task, issues)
            result.disallowed_blocks = disallowed  # also on the bad-binding result, which never simulated
            ep = result.episode
            if ep is not None and ep.invalid_reason:
                issues.append({"code": _episode_code(ep.invalid_reason), "message": ep.invalid_reason})
            valid = not issues
        result.valid = valid
        result.reward = result.score if valid else 0.0
        return self._record(task, draft, report, result, issues)

    @staticmethod
    def _simulate(report: ValidityReport, scorer: Any, task: TaskSpec,
                  issues: list[ParseIssue | dict[str, Any]]) -> TaskResult:
        from brickfield.machines.sim.controls import BindingError

        p = task.params
        try:
            result = evaluate_machine(report.machine, scorer,
                                      max_wall_s=float(task.limits.wall_seconds or 60.0),
                                      seed=int(p["seed"]), bindings=p["bindings"])
        except BindingError as exc:
            issues.append({"code": "bad_binding", "message": str(exc)})
            return TaskResult(scorer.name, False, 0.0, 0.0, tuple(report.errors), report=report)
        result.report = report
        result.errors = (*report.errors, *result.errors[len(report.errors):])
        return result

    @staticmethod
    def _record(task: TaskSpec, draft: MachineDraft, report: ValidityReport, result: TaskResult,
                issues: list[Any]) -> Evaluation:
        ep = result.episode
        metrics = dict(result.metrics)
        metrics["score"] = result.score
        metrics["n_blocks"] = len(draft.data)
        details: dict[str, Any] = {
            "level": result.task, "file_valid": report.file_valid, "spatial_valid": report.spatial_valid,
            "errors": list(report.errors), "warnings": list(report.warnings),
            "disallowed_blocks": list(result.disallowed_blocks), "simulated": ep is not None,
            "damage": [e.to_dict() for e in ep.damage] if ep else [],
            "triggers": [e.to_dict() for e in ep.trigger_events] if ep else [],
            "invalid_reason": ep.invalid_reason if ep else None,
        }
        status = "ok" if not issues else "invalid"
        timings = {k: v for k, v in result.timing.items() if k.endswith("_s")}
        return Evaluation.scored(task, status, components={"valid": float(not issues), "score": result.score},
                                 metrics=metrics, issues=issues, design_text=draft.to_text(), details=details,
                                 timings=timings, handle=result)

    def feedback(self, evaluation: Evaluation, level: str = "full", task: TaskSpec | None = None) -> Feedback:
        """The environment feedback of ``machines.feedback`` (text + structured) at ``level``."""
        from brickfield.machines.feedback.text import build_feedback

        if level not in FEEDBACK_LEVELS:
            raise ValueError(f"feedback level must be one of {FEEDBACK_LEVELS}, got {level!r}")
        head = f"status {evaluation.status}, reward {evaluation.reward}"
        data: dict[str, Any] = {"status": evaluation.status, "reward": evaluation.reward,
                                "score": evaluation.metrics.get("score")}
        if level == "score" or evaluation.status in ("unparseable", "refused", "error"):
            text = head + "." + "".join(f"\n- {e}" for e in evaluation.errors if level != "score")
            return Feedback(level, text, {**data, "issues": evaluation.issues})
        result = evaluation.handle
        if not isinstance(result, TaskResult):
            if task is None or evaluation.design_text is None:
                raise ValueError("feedback on a stored evaluation needs its task (to re-simulate the design)")
            result = self.evaluate_text(evaluation.design_text, task).handle
        if level == "minimal":
            lines = [head + f", score {result.score:.3f}."] + [f"- {e}" for e in evaluation.errors]
            return Feedback(level, "\n".join(lines), {**data, "issues": evaluation.issues})
        fb = build_feedback(result, task=task.param("task") if task is not None else None)
        text = fb.text
        if evaluation.issues and evaluation.status != "ok":
            text = "\n".join([f"- {e}" for e in evaluation.errors] + [text])
        return Feedback(level, text, {**fb.to_dict(), **data})


DOMAIN = MachineDomain()
register_domain(DOMAIN)
