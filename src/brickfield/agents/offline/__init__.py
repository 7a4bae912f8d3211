"""Designers that need no LLM: random construction trees and evolutionary search over them.

    >>> from brickfield.agents.offline import SearchConfig, evolve
    >>> result = evolve("car:1", SearchConfig(budget=500, workers=2))   # doctest: +SKIP
    >>> result.best_reward, result.best_text                             # doctest: +SKIP

Mutations and crossover are written as steps of BesiegeField's edit language (``steps``), designs
are scored through ``brickfield.core.evaluate_many`` with a cache (``scoring``), and the search space
(allowed blocks, proposal priors, free attach points) comes from the task's level (``space``).
"""

from brickfield.agents.offline.evolution import (
    GenerationStats,
    Individual,
    SearchConfig,
    SearchResult,
    evolve,
)
from brickfield.agents.offline.mutations import DEFAULT_OP_WEIGHTS, Operators, Variation
from brickfield.agents.offline.random_designer import RandomDesigner
from brickfield.agents.offline.scoring import CachedEvaluator, Outcome
from brickfield.agents.offline.space import DesignSpace, SearchSpaceError, bare_tree, type_weights

__all__ = [
    "DEFAULT_OP_WEIGHTS",
    "CachedEvaluator",
    "DesignSpace",
    "GenerationStats",
    "Individual",
    "Operators",
    "Outcome",
    "RandomDesigner",
    "SearchConfig",
    "SearchResult",
    "SearchSpaceError",
    "Variation",
    "bare_tree",
    "evolve",
    "type_weights",
]
