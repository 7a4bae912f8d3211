"""Best-of-N: generate N candidates with distinct seeds and keep the one a scorer likes best.

Scorers map a :class:`Generation` to a float (higher is better; ties go to the earlier candidate):

* ``"validity"``: fraction of valid bricks by :func:`brickfield.lego.checks.check_structure`
  (floating and disconnected bricks count against it; 0 for an empty structure);
* ``"stability"``: a stable structure scores ``1 + (1 - max_score)`` in (1, 2], so every stable
  candidate beats every unstable one and lower peak stud loads win among them; an unstable one
  scores its fraction of bricks that do not fail, in [0, 1);
* ``"voxel"``: :func:`brickfield.lego.rewards.r_vox` against ``target`` (a Structure, voxel array or
  brick text);
* any callable ``Generation -> float``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from brickfield.gen.errors import GenerationError
from brickfield.gen.stats import Generation
from brickfield.lego.checks import check_structure
from brickfield.lego.rewards import Target, r_vox
from brickfield.lego.stability import analyze_stability

Scorer = Callable[[Generation], float]
SCORERS: tuple[str, ...] = ("validity", "stability", "voxel")
#: Candidate i samples with ``seed + i * SEED_STRIDE`` (the endpoint path adds the request round to
#: a candidate's seed, so the stride keeps candidates' request seeds apart).
SEED_STRIDE = 10_007


def validity_score(gen: Generation) -> float:
    """Fraction of valid bricks (0 for an empty structure)."""
    return check_structure(gen.structure).fraction_valid if len(gen.structure) else 0.0


def stability_score(gen: Generation) -> float:
    """``1 + (1 - max_score)`` when stable, else the fraction of bricks that do not fail."""
    if not len(gen.structure):
        return 0.0
    res = gen.stability if gen.stability is not None else analyze_stability(gen.structure)
    if res.stable:
        return 1.0 + (1.0 - res.max_score)
    failing = (res.scores >= 1.0) | res.floating
    return float(np.mean(~failing))


def voxel_scorer(target: Target, **kwargs: Any) -> Scorer:
    """A scorer giving :func:`r_vox` of the candidate against ``target`` (kwargs: scale, align)."""
    def score(gen: Generation) -> float:
        return r_vox(gen.structure, target, **kwargs)
    return score


def get_scorer(scorer: str | Scorer, target: Target | None = None) -> tuple[str, Scorer]:
    """(name, scorer) for a scorer name or callable."""
    if callable(scorer):
        return getattr(scorer, "__name__", "custom"), scorer
    if scorer == "validity":
        return scorer, validity_score
    if scorer == "stability":
        return scorer, stability_score
    if scorer == "voxel":
        if target is None:
            raise GenerationError("missing_target", "the voxel scorer needs a target structure")
        return scorer, voxel_scorer(target)
    raise GenerationError("bad_scorer", f"scorer must be one of {SCORERS} or a callable, got {scorer!r}")


@dataclass
class BestOfN:
    """All candidates, their scores and the winner."""

    generations: list[Generation]
    scores: list[float]
    best_index: int
    scorer: str

    @property
    def best(self) -> Generation:
        """The highest-scoring candidate (the earliest on ties)."""
        return self.generations[self.best_index]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record of every candidate."""
        return {"scorer": self.scorer, "best_index": self.best_index, "scores": list(self.scores),
                "generations": [g.to_dict() for g in self.generations]}


def best_of_n(model: Any, tokenizer: Any, caption: str, *, n: int = 4, scorer: str | Scorer = "stability",
              target: Target | None = None, seed: int = 0,
              on_generation: Callable[[int, Generation], None] | None = None, **kwargs: Any) -> BestOfN:
    """Generate ``n`` structures for ``caption`` and pick the best by ``scorer``.

    ``model, tokenizer``: a local causal LM and its tokenizer (:func:`generate_structure`), or a
    :class:`brickfield.llm.ChatModel` with ``tokenizer=None`` (:func:`generate_structure_endpoint`).
    ``kwargs`` go to that function; ``on_generation(i, gen)`` is called after each candidate.
    """
    from brickfield.gen.endpoint import generate_structure_endpoint
    from brickfield.gen.generate import generate_structure

    if n < 1:
        raise GenerationError("bad_limit", "n must be >= 1")
    name, score = get_scorer(scorer, target)
    endpoint = tokenizer is None
    if endpoint and not hasattr(model, "complete"):
        raise GenerationError("bad_model", "without a tokenizer the model must be a brickfield.llm ChatModel")
    gens: list[Generation] = []
    for i in range(n):
        s = seed + i * SEED_STRIDE
        gen = (generate_structure_endpoint(model, caption, seed=s, **kwargs) if endpoint
               else generate_structure(model, tokenizer, caption, seed=s, **kwargs))
        gens.append(gen)
        if on_generation is not None:
            on_generation(i, gen)
    scores = [float(score(g)) for g in gens]
    best = max(range(n), key=lambda i: (scores[i], -i))
    return BestOfN(gens, scores, best, name)
