"""Typed results of a workflow run and its typed errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brickfield.core.errors import BrickfieldError
from brickfield.core.evaluation import Evaluation

__all__ = ["DesignRecord", "RoleStats", "WorkflowAborted", "WorkflowError", "WorkflowResult"]


class WorkflowError(BrickfieldError, ValueError):
    """A workflow could not be set up: an unknown workflow, search or level, a bad argument (a
    ``ValueError`` too, for callers that validate arguments with ``except ValueError``)."""


@dataclass
class DesignRecord:
    """One design a workflow produced: its text (canonical construction tree; None when nothing
    could be read), its evaluation, and where in the run it came from (``origin``, a step path)."""

    design_text: str | None
    evaluation: Evaluation
    origin: str = ""

    @property
    def reward(self) -> float:
        """The evaluation's reward (0.0 for an evaluator error)."""
        return float(self.evaluation.reward or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"origin": self.origin, "design_text": self.design_text,
                "evaluation": self.evaluation.to_dict()}


@dataclass
class RoleStats:
    """Model use of one role: calls (HTTP/model requests that answered), failed calls, completions,
    completions that could not be used (``malformed``), tokens and seconds."""

    calls: int = 0
    failures: int = 0
    malformed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"calls": self.calls, "failures": self.failures, "malformed": self.malformed,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "seconds": round(self.seconds, 4)}


@dataclass
class WorkflowResult:
    """What a run returns: the best design, every final design (best first), per-role model use,
    simulations, wall time, and the search tree when there was one.

    ``completed`` is False for a run cut short by a dying endpoint (see ``WorkflowAborted``); its
    finals are then the designs finished before the failure."""

    workflow: str
    task_id: str
    model: str
    finals: list[DesignRecord] = field(default_factory=list)
    roles: dict[str, RoleStats] = field(default_factory=dict)
    simulations: int = 0
    evaluations: int = 0
    wall_s: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    search: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = True
    error: dict[str, Any] | None = None
    transcript: str | None = None

    @property
    def best(self) -> DesignRecord | None:
        """The best final design (finals are kept best first), None when there is none."""
        return self.finals[0] if self.finals else None

    @property
    def best_text(self) -> str | None:
        """The best design's canonical text."""
        return self.best.design_text if self.best else None

    @property
    def best_evaluation(self) -> Evaluation | None:
        """The best design's evaluation."""
        return self.best.evaluation if self.best else None

    @property
    def role_calls(self) -> dict[str, int]:
        """Answered model calls per role."""
        return {role: s.calls for role, s in self.roles.items()}

    @property
    def tokens(self) -> dict[str, int]:
        """Prompt, completion and total tokens over every role."""
        p = sum(s.prompt_tokens for s in self.roles.values())
        c = sum(s.completion_tokens for s in self.roles.values())
        return {"prompt": p, "completion": c, "total": p + c}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        best = self.best
        return {"workflow": self.workflow, "task_id": self.task_id, "model": self.model,
                "completed": self.completed, "error": self.error,
                "best": best.to_dict() if best else None,
                "finals": [d.to_dict() for d in self.finals],
                "roles": {r: s.to_dict() for r, s in sorted(self.roles.items())},
                "role_calls": dict(sorted(self.role_calls.items())), "tokens": self.tokens,
                "simulations": self.simulations, "evaluations": self.evaluations,
                "wall_s": round(self.wall_s, 4), "config": self.config, "search": self.search,
                "transcript": self.transcript}


class WorkflowAborted(BrickfieldError):
    """The run stopped because the model endpoint kept failing (or a replay lacks a request).

    ``result`` holds what was finished (``completed=False``), ``cause`` the last model error; the
    transcript keeps every finished step."""

    def __init__(self, message: str, result: WorkflowResult, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
        self.cause = cause
