"""`Evaluation`: the one record every consumer reads (agents, generators, batch runs, RL rewards, CLI).

The record is plain, JSON-serialisable and deterministic given (answer, task) — wall-clock values
live in ``timings`` only, which equality ignores — plus an in-process ``handle`` to the rich result
(the machine episode, the LEGO stability result) that is never serialised. ``docs/records.md``
documents every field.
"""

from __future__ import annotations

import json
import math
import traceback
from dataclasses import dataclass, field
from typing import Any, Literal

from brickfield.core.errors import ParseIssue
from brickfield.core.task import TaskSpec

__all__ = ["EVAL_SCHEMA", "STATUSES", "Evaluation", "Feedback", "Status", "jsonable"]

EVAL_SCHEMA = 1
Status = Literal["ok", "invalid", "unparseable", "refused", "error"]
STATUSES: tuple[str, ...] = ("ok", "invalid", "unparseable", "refused", "error")
"""``ok``: a valid design, scored; ``invalid``: parsed but fails a check (or its episode had to be
stopped), reward 0; ``unparseable``: no design could be read from the text, reward 0; ``refused``: over
a limit (size, parts), not evaluated, reward 0; ``error``: the evaluator itself failed, reward None."""


def jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; None says "no finite value"
    return value


def _issue_dict(issue: ParseIssue | dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(issue, ParseIssue):
        d = {k: v for k, v in issue.to_dict().items() if v is not None}
        d["code"] = str(d["code"])  # StrEnum codes become plain strings (stable across processes)
        return d
    if isinstance(issue, dict):
        return jsonable({k: v for k, v in issue.items() if v is not None})
    return {"code": "error", "message": str(issue)}


@dataclass(frozen=True)
class Feedback:
    """What an agent is told about an evaluation at one detail level: ``text`` for a prompt and the
    same facts as ``data`` (JSON)."""

    level: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"level": self.level, "text": self.text, "data": jsonable(self.data)}


@dataclass
class Evaluation:
    """Result of evaluating one answer on one task (see ``STATUSES`` and ``docs/records.md``).

    ``reward`` is the task's reward for ``ok`` (and for ``invalid`` when the task grades invalid designs,
    as PVPO does), None for ``error`` (an evaluator bug must never look like a bad design), else 0.0.
    ``components`` are the named reward inputs (combined by ``TaskSpec.reward``), ``metrics`` other
    numbers, ``issues`` typed problems
    (``{"code", "message", ...}``), ``design_text`` the canonical design (None when unparseable),
    ``details`` the domain's deterministic payload, ``timings`` seconds per phase (ignored by ``==``).
    """

    task_id: str
    status: str
    valid: bool
    reward: float | None
    success: bool = False
    components: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    design_text: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    task_key: str = ""
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    handle: Any = field(default=None, compare=False, repr=False)
    schema: int = EVAL_SCHEMA

    @classmethod
    def scored(cls, task: TaskSpec, status: Status, *, components: dict[str, float] | None = None,
               metrics: dict[str, Any] | None = None, issues: list[Any] = (),  # type: ignore[assignment]
               design_text: str | None = None, details: dict[str, Any] | None = None,
               timings: dict[str, float] | None = None, handle: Any = None) -> Evaluation:
        """Build the record of ``task``: reward from ``task.reward`` for ``ok``, 0.0 otherwise;
        ``success`` from the task's success rule (only ``ok`` designs succeed)."""
        if status not in STATUSES or status == "error":
            raise ValueError(f"scored() takes a non-error status, got {status!r}")
        comps = {k: float(v) for k, v in (components or {}).items()}
        mets = jsonable(metrics or {})
        graded = status == "ok" or (status == "invalid" and task.reward.grade_invalid and bool(comps))
        reward = task.reward.combine_values(comps) if graded else 0.0
        if not math.isfinite(reward):
            reward = 0.0
        rule = task.reward.success
        value = reward if rule.metric == "reward" else comps.get(rule.metric, mets.get(rule.metric))
        success = status == "ok" and rule.holds(None if value is None else float(value))
        return cls(task.id, status, status == "ok", float(reward), bool(success), comps, mets,
                   [_issue_dict(i) for i in issues], design_text, jsonable(details or {}), task.key(),
                   dict(timings or {}), handle)

    @classmethod
    def failed(cls, task: TaskSpec, exc: BaseException, where: str = "evaluate") -> Evaluation:
        """The ``error`` record of an evaluator failure (reward None, the exception as an issue)."""
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return cls(task.id, "error", False, None, False, {}, {},
                   [{"code": "evaluator_error", "message": f"{where}: {tb}"}], None, {}, task.key())

    @property
    def domain(self) -> str:
        """The domain part of ``task_id``."""
        return self.task_id.split("/", 1)[0]

    @property
    def errors(self) -> list[str]:
        """The issues as one line of text each."""
        return [str(ParseIssue(i.get("code", "error"), i.get("message", ""), i.get("line"),
                               i.get("column"), i.get("item"))) for i in self.issues]

    @property
    def reason(self) -> str | None:
        """The first issue's message (why the design is not ``ok``), None when there is none."""
        return self.issues[0].get("message") if self.issues else None

    def to_dict(self, *, timings: bool = True) -> dict[str, Any]:
        """Plain JSON record (``timings=False`` leaves the wall-clock values out)."""
        out = {"schema": self.schema, "task_id": self.task_id, "task_key": self.task_key,
               "status": self.status, "valid": self.valid, "success": self.success, "reward": self.reward,
               "components": self.components, "metrics": self.metrics, "issues": self.issues,
               "design_text": self.design_text, "details": self.details}
        if timings:
            out["timings"] = self.timings
        return jsonable(out)

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text (``kwargs`` go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict` (the in-process ``handle`` does not survive)."""
        if d.get("schema") != EVAL_SCHEMA:
            raise ValueError(f"unsupported evaluation schema {d.get('schema')!r}")
        return cls(d["task_id"], d["status"], bool(d["valid"]), d["reward"], bool(d["success"]),
                   dict(d["components"]), dict(d["metrics"]), list(d["issues"]), d["design_text"],
                   dict(d["details"]), str(d.get("task_key", "")), dict(d.get("timings", {})))
