"""What a generation returns: the structure, its text and the statistics of how it was made."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from brickfield.lego.stability import StabilityResult
from brickfield.lego.structure import Structure

#: Why brick generation stopped (before any physics rollback).
STOP_REASONS: tuple[str, ...] = ("eos", "max_bricks", "max_rejections", "max_tokens", "no_space",
                                 "max_rounds", "no_progress")


@dataclass
class GenerationStats:
    """Counters and timings of one generation (all attempts, rollbacks included).

    Attributes:
        bricks: bricks in the returned structure.
        rejections: per reason code (``already_rejected``, ``out_of_bounds``, ``collision``, ...),
            how many sampled bricks were refused.
        regenerations: physics rollbacks (each one truncated the structure and continued).
        bricks_removed: bricks dropped by those rollbacks, in total.
        attempts_stable: per attempt (the first generation, then each regeneration), whether the
            finished structure was stable; ``Stability@K`` reads its first K entries.
        tokens: tokens sampled, rejected lines included (EOS included).
        forward_passes: model forward calls (local models) or requests (endpoints).
        model_seconds: time inside the model (forward passes, or the server's reply time).
        mask_seconds: time building and applying the logit masks (grammar bias, fast-mode masks).
        sample_seconds: time turning masked logits into a token.
        check_seconds: time in the per-brick checks (``can_add``, parsing).
        stability_seconds: time in the stability analysis (rollback decisions).
        total_seconds: wall time of the whole call.
        stop_reason: why the last attempt stopped (see :data:`STOP_REASONS`).
        stable: whether the returned structure is stable (None if not analysed).
        unstable_reason: when not stable, why the loop gave up and what fails.
        mask_fallbacks: fast-mode steps whose semantic mask left no token, decoded with the grammar
            mask alone (the per-brick check still applies).
    """

    bricks: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    regenerations: int = 0
    bricks_removed: int = 0
    attempts_stable: list[bool] = field(default_factory=list)
    tokens: int = 0
    forward_passes: int = 0
    model_seconds: float = 0.0
    mask_seconds: float = 0.0
    sample_seconds: float = 0.0
    check_seconds: float = 0.0
    stability_seconds: float = 0.0
    total_seconds: float = 0.0
    stop_reason: str = ""
    stable: bool | None = None
    unstable_reason: str | None = None
    mask_fallbacks: int = 0

    def reject(self, reason: str) -> None:
        """Count one rejected brick."""
        self.rejections[reason] = self.rejections.get(reason, 0) + 1

    @property
    def n_rejections(self) -> int:
        """Total rejected bricks."""
        return sum(self.rejections.values())

    @property
    def overhead_seconds(self) -> float:
        """Time spent on constraints rather than in the model: masks, sampling, checks, physics."""
        return self.mask_seconds + self.sample_seconds + self.check_seconds + self.stability_seconds

    def stable_within(self, k: int) -> bool:
        """True if one of the first ``k`` attempts ended stable (Stability@K for one prompt)."""
        return any(self.attempts_stable[:k])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record (derived totals included)."""
        d = asdict(self)
        d["n_rejections"] = self.n_rejections
        d["overhead_seconds"] = self.overhead_seconds
        return d


@dataclass
class Generation:
    """One generated structure.

    Attributes:
        structure: the bricks (every one passed the placement checks).
        text: the brick text, one ``HxW (x,y,z)`` per line.
        stats: how it was made.
        caption: the prompt caption.
        seed: the sampling seed.
        stability: the final stability analysis (None when not analysed).
    """

    structure: Structure
    text: str
    stats: GenerationStats
    caption: str = ""
    seed: int | None = None
    stability: StabilityResult | None = field(default=None, repr=False)

    @property
    def stable(self) -> bool | None:
        """Whether the structure is stable (None if not analysed)."""
        return self.stats.stable

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record: caption, seed, text, bricks, stats and per-brick scores."""
        return {
            "caption": self.caption, "seed": self.seed, "text": self.text,
            "bricks": [b.to_text() for b in self.structure],
            "scores": None if self.stability is None else self.stability.scores.tolist(),
            "stats": self.stats.to_dict(),
        }


def stability_at_k(generations: Iterable[Generation],
                   ks: Sequence[int] = (1, 2, 5, 10, 101)) -> dict[int, float]:
    """Stability@K over a set of generations: the fraction whose structure was stable within the
    first K attempts (attempt 1 = no rollback; attempt k+1 = after k physics regenerations)."""
    gens = list(generations)
    if not gens:
        return {k: 0.0 for k in ks}
    return {k: sum(g.stats.stable_within(k) for g in gens) / len(gens) for k in ks}


def summarize(generations: Iterable[Generation]) -> dict[str, Any]:
    """Totals over several generations: bricks, rejections by reason, regenerations, stability."""
    gens = list(generations)
    rejections: dict[str, int] = {}
    for g in gens:
        for reason, n in g.stats.rejections.items():
            rejections[reason] = rejections.get(reason, 0) + n
    return {
        "generations": len(gens),
        "bricks": sum(g.stats.bricks for g in gens),
        "rejections": rejections,
        "regenerations": sum(g.stats.regenerations for g in gens),
        "stable": sum(bool(g.stats.stable) for g in gens),
        "tokens": sum(g.stats.tokens for g in gens),
        "model_seconds": sum(g.stats.model_seconds for g in gens),
        "overhead_seconds": sum(g.stats.overhead_seconds for g in gens),
        "stability_at_k": stability_at_k(gens),
    }
