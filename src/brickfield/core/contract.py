"""The contract every domain implements: Design, Task, parse, evaluate -> Evaluation.

Benchmarks, agents, RL rewards, the CLI and servers consume only these types, so a new domain plugs
in without touching them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Design(Protocol):
    """A parsed candidate (a brick structure, a machine construction tree, ...)."""

    def to_text(self) -> str:
        """Serialise to the canonical text an LLM would write."""
        ...


@dataclass(frozen=True)
class Task:
    """What is asked of a designer.

    `target` is domain-specific (a reference structure, a level name); `limits` holds explicit
    resource limits (max parts, max text size, simulated seconds, wall seconds).
    """

    domain: str
    name: str
    prompt: str = ""
    target: Any = None
    allowed_parts: tuple[str, ...] | None = None
    limits: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; None says "no finite value"
    return value


@dataclass
class Evaluation:
    """Result of evaluating one design against one task. Plain and JSON-serialisable.

    `valid` is the domain's overall verdict, `errors` the human-readable reasons when it is not
    valid, `reward` the scalar an RL trainer consumes, `metrics` named numbers, `details` the
    domain-specific payload (per-brick scores, placed blocks, traces...), `timings` seconds per phase.
    """

    domain: str
    valid: bool
    reward: float = 0.0
    errors: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    feedback: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON object: the core fields, with `details` merged in at top level."""
        out: dict[str, Any] = {
            "domain": self.domain,
            "valid": self.valid,
            "reward": self.reward,
            "errors": list(self.errors),
            "metrics": dict(self.metrics),
            "feedback": self.feedback,
            "timing": dict(self.timings),
        }
        for key, value in self.details.items():
            if key in out:
                raise KeyError(f"detail key {key!r} clashes with a core Evaluation field")
            out[key] = value
        return _jsonable(out)

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text (`kwargs` go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)


class Domain(Protocol):
    """What a domain module registers: a name, a parser and an evaluator."""

    name: str

    def parse(self, text: str) -> Design:
        """Tolerant extraction of a design from raw model output; raises a typed ParseError."""
        ...

    def evaluate(self, design: Design, task: Task) -> Evaluation:
        """Validity, metrics, reward and feedback of `design` on `task`; pure and deterministic."""
        ...
