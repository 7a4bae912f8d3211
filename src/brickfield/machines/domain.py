"""Registers the machines domain with the core registry (name ``machines``).

`evaluate` turns a `TaskResult` (validity + simulation + score) into the domain-agnostic
`Evaluation`: `valid` = file and spatial validity, `reward` = validity x score (the paper's RL
reward), `details` carries the validity flags, damage events and the score metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from brickfield.core.contract import Evaluation, Task
from brickfield.core.registry import register_domain
from brickfield.machines.design.tree import ConstructionTree, parse_tree
from brickfield.machines.evaluate import TaskResult, evaluate_machine
from brickfield.machines.feedback.text import feedback_text


def result_to_evaluation(result: TaskResult) -> Evaluation:
    """The `Evaluation` view of a `TaskResult` (JSON-serialisable via `to_dict`)."""
    report = result.report
    ep = result.episode
    details: dict[str, Any] = {
        "task": result.task,
        "score": result.score,
        "file_valid": report.file_valid if report is not None else True,
        "spatial_valid": report.spatial_valid if report is not None else result.valid,
        "damage": [e.to_dict() for e in ep.damage] if ep else [],
        "invalid_reason": ep.invalid_reason if ep else None,
        "disallowed_blocks": list(result.disallowed_blocks),
        # typed causes (code, message, offending block) behind the reference-style `errors`
        "issues": [i.to_dict() for i in report.issues] if report is not None else [],
    }
    metrics = {k: float(v) for k, v in result.metrics.items() if isinstance(v, (int, float))}
    metrics["score"] = result.score
    return Evaluation(domain="machines", valid=result.valid, reward=result.reward, errors=list(result.errors),
                      metrics=metrics, details=details, feedback=feedback_text(result),
                      timings=dict(result.timing))


@dataclass(frozen=True)
class MachineDomain:
    """`parse` extracts a construction tree from LLM text (typed `TreeParseError` on failure);
    `evaluate` checks, simulates and scores it on `task.name` (car, catapult, ...) at level
    `task.options.get("level", 1)`."""

    name: str = "machines"

    def parse(self, text: str) -> ConstructionTree:
        return parse_tree(text)

    def evaluate(self, design: ConstructionTree | str | Sequence[Any], task: Task) -> Evaluation:
        source = design.to_json() if isinstance(design, ConstructionTree) else design
        level = int(task.options.get("level", 1))
        result = evaluate_machine(source, task.name, level,
                                  reference_quirks=bool(task.options.get("reference_quirks", True)))
        return result_to_evaluation(result)


DOMAIN = MachineDomain()
register_domain(DOMAIN)
