"""How the offline designers get rewards: ``brickfield.core.evaluate_many`` behind a cache.

``CachedEvaluator`` evaluates canonical tree texts on one task through a long-lived
``core.Evaluator`` (its worker pool survives across generations) and remembers every result by
text, so no design is simulated twice. Results are plain ``Outcome`` records (no episodes), equal
for any worker count because each evaluation is deterministic and ``evaluate_many`` keeps input
order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from brickfield.core import Evaluation, Evaluator, TaskSpec, evaluate_many

__all__ = ["CachedEvaluator", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """The parts of an ``Evaluation`` the search keeps: reward (0 for anything not ``ok``), status,
    the task score and the numeric metrics."""

    reward: float
    status: str
    score: float
    metrics: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, ev: Evaluation) -> Outcome:
        """The outcome of one evaluation (an evaluator error counts as reward 0, status ``error``)."""
        metrics = {k: float(v) for k, v in ev.metrics.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        return cls(float(ev.reward or 0.0), ev.status, float(metrics.get("score", 0.0)),
                   MappingProxyType(metrics))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"reward": self.reward, "status": self.status, "score": self.score,
                "metrics": dict(self.metrics)}


class CachedEvaluator:
    """Evaluates tree texts on ``task`` with ``workers`` processes, each distinct text once.

    Use as a context manager (or call ``close``) so the worker pool is shut down."""

    def __init__(self, task: TaskSpec, workers: int = 1) -> None:
        self.task = task
        self.workers = max(1, int(workers))
        self._evaluator = Evaluator(self.workers)
        self._cache: dict[str, Outcome] = {}
        self.simulations = 0   # distinct designs evaluated
        self.hits = 0          # lookups answered from the cache

    def __enter__(self) -> CachedEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes."""
        self._evaluator.close()

    def __contains__(self, text: str) -> bool:
        return text in self._cache

    def get(self, text: str) -> Outcome | None:
        """The cached outcome of ``text`` (None when never evaluated)."""
        return self._cache.get(text)

    def evaluate(self, texts: Iterable[str]) -> list[Outcome]:
        """Outcomes of ``texts`` in order; only texts not seen before are simulated (in parallel)."""
        texts = list(texts)
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        self.hits += len(texts) - len(new)
        if new:
            evs = evaluate_many([(t, self.task) for t in new], evaluator=self._evaluator)
            for t, ev in zip(new, evs, strict=True):
                ev.handle = None  # serial runs would otherwise keep every episode alive
                self._cache[t] = Outcome.of(ev)
            self.simulations += len(new)
        return [self._cache[t] for t in texts]
