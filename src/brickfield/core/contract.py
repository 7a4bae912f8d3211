"""The contract every domain implements: tasks, parse, evaluate, feedback.

Agents, generators, the batch evaluator, RL reward adapters, the CLI and the envs consume only this,
so a new domain plugs in without touching them and one answer gets one reward everywhere.
:class:`DomainBase` holds the parts that are the same for every domain (``evaluate_text``, the
guard that turns an evaluator bug into an ``error`` record), so a domain writes only its own logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from brickfield.core.errors import InputTooLargeError, ParseError, ParseIssue
from brickfield.core.evaluation import Evaluation, Feedback
from brickfield.core.task import TaskSpec

__all__ = ["FEEDBACK_LEVELS", "Design", "Domain", "DomainBase", "Parsed"]

FEEDBACK_LEVELS: tuple[str, ...] = ("score", "minimal", "full")
"""``score``: the reward and verdict only; ``minimal``: plus the reasons and the main numbers;
``full``: everything the domain can say (per-part problems, traces, hints)."""

REFUSED_CODES = frozenset({"too_large", "too_many_bricks", "too_many_blocks", "too_deep"})
"""Parse error codes that mean "over a limit" (status ``refused``) rather than "unreadable"."""


@runtime_checkable
class Design(Protocol):
    """A parsed candidate (a brick structure, a machine construction tree, ...)."""

    def to_text(self) -> str:
        """Serialise to the canonical text an LLM would write."""
        ...


@dataclass
class Parsed:
    """What ``parse`` returns: the design (None when nothing usable was found) and typed issues.

    ``refused`` marks input over a limit (too large, too many parts): it is not evaluated."""

    design: Any = None
    issues: list[ParseIssue] = field(default_factory=list)
    refused: bool = False

    @property
    def ok(self) -> bool:
        """Whether a design was read."""
        return self.design is not None

    @classmethod
    def from_error_code(cls, code: str, message: str) -> Parsed:
        """An unparseable answer with one issue."""
        return cls(None, [ParseIssue(code, message)])

    @classmethod
    def from_error(cls, err: ParseError) -> Parsed:
        """The outcome of a parser that raised ``err``."""
        refused = isinstance(err, InputTooLargeError) or err.code in REFUSED_CODES
        return cls(None, list(err.issues), refused)


class Domain(Protocol):
    """What a domain registers (see ``docs/records.md`` for the records)."""

    name: str

    def tasks(self, suite: str = "default") -> list[TaskSpec]:
        """The domain's catalog of task specs for ``suite``."""
        ...

    def task(self, name: str, **params: Any) -> TaskSpec:
        """One validated task spec (``TaskSpecError`` for an unknown name or a bad parameter)."""
        ...

    def parse(self, text: str | bytes, task: TaskSpec) -> Parsed:
        """Tolerant extraction from raw model output; never raises on model text."""
        ...

    def evaluate(self, parsed: Parsed, task: TaskSpec) -> Evaluation:
        """Check, simulate and score a parsed answer; pure and deterministic given the spec."""
        ...

    def evaluate_text(self, text: str | bytes, task: TaskSpec) -> Evaluation:
        """``evaluate(parse(text, task), task)``; never raises."""
        ...

    def feedback(self, evaluation: Evaluation, level: str = "full", task: TaskSpec | None = None) -> Feedback:
        """What an agent is told about ``evaluation`` at ``level`` (see ``FEEDBACK_LEVELS``)."""
        ...


class DomainBase:
    """Shared behaviour of the built-in domains; subclasses implement ``_parse`` and ``_evaluate``."""

    name: str = ""

    def _parse(self, text: str | bytes, task: TaskSpec) -> Parsed:
        raise NotImplementedError

    def _evaluate(self, parsed: Parsed, task: TaskSpec) -> Evaluation:
        raise NotImplementedError

    def _check_task(self, task: TaskSpec) -> None:
        if not isinstance(task, TaskSpec) or task.domain != self.name:
            raise TypeError(f"{self.name} domain needs a {self.name} TaskSpec, got {task!r}")

    def parse(self, text: str | bytes, task: TaskSpec) -> Parsed:
        """Tolerant extraction from raw model output; never raises on model text."""
        self._check_task(task)
        if not isinstance(text, (str, bytes)):
            return Parsed(None, [ParseIssue("bad_type", f"answer must be text, got {type(text).__name__}")])
        if len(text) > task.limits.max_text_chars:
            return Parsed(None, [ParseIssue("too_large", f"answer is {len(text)} characters, over the "
                                            f"limit of {task.limits.max_text_chars}")], refused=True)
        try:
            return self._parse(text, task)
        except ParseError as err:
            return Parsed.from_error(err)

    def not_evaluated(self, parsed: Parsed, task: TaskSpec) -> Evaluation:
        """The record of an answer with no design: ``refused`` or ``unparseable``, reward 0."""
        status = "refused" if parsed.refused else "unparseable"
        issues = parsed.issues or [ParseIssue("no_design", "no design found in the answer")]
        return Evaluation.scored(task, status, issues=issues)

    def evaluate(self, parsed: Parsed, task: TaskSpec) -> Evaluation:
        """Check, simulate and score a parsed answer; an evaluator failure becomes an ``error`` record."""
        self._check_task(task)
        if not parsed.ok:
            return self.not_evaluated(parsed, task)
        try:
            return self._evaluate(parsed, task)
        except Exception as exc:  # an evaluator bug must surface as `error`, never as a bad design
            return Evaluation.failed(task, exc)

    def evaluate_text(self, text: str | bytes, task: TaskSpec) -> Evaluation:
        """``evaluate(parse(text, task), task)``; never raises on any answer."""
        self._check_task(task)  # a wrong task is the caller's bug: raise, don't grade it
        try:
            parsed = self.parse(text, task)
        except Exception as exc:
            return Evaluation.failed(task, exc, "parse")
        return self.evaluate(parsed, task)
