"""The LEGO domain (registered as ``lego``): caption tasks, tolerant brick parsing, checks, stability,
PVPO; feedback for agents; an incremental builder (``BuildState``) for constrained decoding."""

from __future__ import annotations

from typing import Any

from brickfield.core.contract import FEEDBACK_LEVELS, DomainBase, Parsed
from brickfield.core.evaluation import Evaluation, Feedback
from brickfield.core.registry import register_domain
from brickfield.core.task import TaskSpec
from brickfield.lego.evaluate import evaluate_parsed
from brickfield.lego.feedback import lego_feedback
from brickfield.lego.tasks import lego_task, lego_tasks
from brickfield.lego.textformat import ParsedText, parse_text

__all__ = ["DOMAIN", "LegoDomain", "evaluate_text"]


class LegoDomain(DomainBase):
    """``parse`` is lenient (malformed lines become ``ill_formatted`` items; no brick at all is
    ``unparseable``); ``evaluate`` checks, runs the stability analysis and scores per the task."""

    name = "lego"

    def tasks(self, suite: str = "default") -> list[TaskSpec]:
        """Task specs of a suite (``brickfield.lego.tasks.SUITES``)."""
        return lego_tasks(suite)

    def task(self, name: str = "free", **params: Any) -> TaskSpec:
        """One task (``brickfield.lego.tasks.lego_task``)."""
        return lego_task(name, **params)

    def _parse(self, text: str | bytes, task: TaskSpec) -> Parsed:
        p = task.params
        parsed = parse_text(text, world_dim=p["world_dim"], max_bricks=p["max_bricks"])
        if not parsed.structure.bricks and not parsed.issues:
            return Parsed.from_error_code("no_bricks",
                                          "no brick lines found (expected `HxW (x,y,z)` per line)")
        return Parsed(parsed)

    def _evaluate(self, parsed: Parsed, task: TaskSpec) -> Evaluation:
        design = parsed.design
        if not isinstance(design, ParsedText):
            raise TypeError(f"the LEGO domain evaluates ParsedText, got {type(design).__name__}")
        return evaluate_parsed(design, task)

    def feedback(self, evaluation: Evaluation, level: str = "full", task: TaskSpec | None = None) -> Feedback:
        """Per-brick problems, failing stability bricks and format hints (``lego.feedback``)."""
        if level not in FEEDBACK_LEVELS:
            raise ValueError(f"feedback level must be one of {FEEDBACK_LEVELS}, got {level!r}")
        world = task.param("world_dim", 20) if task is not None else 20
        return lego_feedback(evaluation, level, world)


DOMAIN = LegoDomain()
register_domain(DOMAIN)


def evaluate_text(text: str | bytes, task: TaskSpec | None = None) -> Evaluation:
    """Evaluate raw model output on ``task`` (default: free design); never raises on model text."""
    return DOMAIN.evaluate_text(text, task if task is not None else lego_task("free", caption="free design"))
