"""Settings of a workflow run: the paper's ablation switches, sampling, retry budget, concurrency.

Defaults are the paper's (and its reference code's): temperature 0.7, top-p 0.95, up to 5 retries
per step, every agent on, construction-tree representation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from brickfield.agents.workflows.results import WorkflowError

__all__ = ["ABLATIONS", "Ablations", "Sampling", "WorkflowConfig"]

ABLATIONS = {
    "no_inspector": "skip the inspector (the first refiner works without a static review)",
    "no_querier": "no environment querier: the refiner gets the fixed feedback only",
    "score_only_feedback": "the refiner is told only the simulation score (no querier either)",
    "no_3d_info": "no 3D information in any prompt",
    "no_history": "the refiner does not see its earlier edits and their results",
    "global_position": "machines are written and shown in the global-position form, not as a tree",
}
"""The paper's ablations (App. G and Table 7), as switch names."""


@dataclass(frozen=True)
class Ablations:
    """Which agents and inputs are on (all on, tree representation: the paper's full system)."""

    inspector: bool = True
    querier: bool = True
    score_only_feedback: bool = False
    info3d: bool = True
    edit_history: bool = True
    global_position: bool = False

    @classmethod
    def from_switches(cls, switches: list[str] | tuple[str, ...] = ()) -> Ablations:
        """From ablation names (``ABLATIONS``; dashes or underscores)."""
        names = {s.strip().lower().replace("-", "_") for s in switches}
        unknown = names - set(ABLATIONS)
        if unknown:
            raise WorkflowError(f"unknown ablation(s) {sorted(unknown)}; known: {sorted(ABLATIONS)}")
        return cls(inspector="no_inspector" not in names, querier="no_querier" not in names,
                   score_only_feedback="score_only_feedback" in names, info3d="no_3d_info" not in names,
                   edit_history="no_history" not in names, global_position="global_position" in names)

    @property
    def switches(self) -> list[str]:
        """The active ablations by name (empty for the full system)."""
        on = {"no_inspector": not self.inspector, "no_querier": not self.querier,
              "score_only_feedback": self.score_only_feedback, "no_3d_info": not self.info3d,
              "no_history": not self.edit_history, "global_position": self.global_position}
        return [k for k, v in on.items() if v]

    @property
    def uses_querier(self) -> bool:
        """Whether the querier runs (score-only feedback switches it off too, as in the paper)."""
        return self.querier and not self.score_only_feedback

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return asdict(self)


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters of every model call (the reference agents' values)."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 4096

    def __post_init__(self) -> None:
        if not (self.temperature >= 0 and 0 < self.top_p <= 1 and self.max_tokens >= 1):
            raise WorkflowError("sampling needs temperature >= 0, 0 < top_p <= 1, max_tokens >= 1")


@dataclass(frozen=True)
class WorkflowConfig:
    """Run settings.

    ``retries``: attempts per step after the first (a designer draft, an inspection, a query, a
    refinement slot, a builder round); ``concurrency``: model calls in flight at once;
    ``max_consecutive_failures``: failed model calls in a row (after the client's own retries) that
    mean the endpoint is down and stop the run; ``seed``: derives every request's seed from its
    place in the run, so a run is reproducible whatever order concurrent calls finish in."""

    ablations: Ablations = field(default_factory=Ablations)
    sampling: Sampling = field(default_factory=Sampling)
    seed: int = 0
    retries: int = 5
    concurrency: int = 8
    max_consecutive_failures: int = 3
    notes: str | None = None

    def __post_init__(self) -> None:
        if self.retries < 0 or self.concurrency < 1 or self.max_consecutive_failures < 1:
            raise WorkflowError("retries >= 0, concurrency >= 1 and max_consecutive_failures >= 1")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["ablations"] = self.ablations.to_dict()
        out["sampling"] = asdict(self.sampling)
        return out
