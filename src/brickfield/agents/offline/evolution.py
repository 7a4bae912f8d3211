"""Evolutionary search over construction trees (no LLM).

A (mu + lambda) loop with tournament parent selection:

1. Generation 0: the start design (the bare starting block, or a given design) plus
   ``population - 1`` distinct designs: random samples when starting bare, mutants of the start
   design otherwise.
2. Each generation: ``population`` new distinct children. A child is a tournament winner varied
   by 1-``max_mutations`` mutation operators, or, with ``crossover_rate``, a graft of a subtree of a
   second tournament winner onto it (then mutated). Children already simulated are redrawn (the
   cache answers them, they cost no budget but bring nothing new).
3. Survival: the best ``population`` of parents and children by fitness = reward, or 0 for a
   design over one of ``metric_caps`` (elitism: the best design is never lost). Ties go to the
   newer design, so a population stuck at reward 0 keeps drifting instead of freezing, then to
   the smaller one.

All randomness comes from one seeded generator in this process and every evaluation is
deterministic, so a seed gives the same designs, rewards and history for any worker count.
The budget counts simulations (distinct designs evaluated, generation 0 included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brickfield.agents.offline.mutations import DEFAULT_OP_WEIGHTS, Operators
from brickfield.agents.offline.random_designer import RandomDesigner
from brickfield.agents.offline.scoring import CachedEvaluator, Outcome
from brickfield.agents.offline.space import (
    DEFAULT_MAX_BLOCKS,
    DesignSpace,
    Inspection,
    SearchSpaceError,
    bare_tree,
    task_spec,
)
from brickfield.core import TaskSpec
from brickfield.machines.design.tree import ConstructionTree

__all__ = ["GenerationStats", "Individual", "SearchConfig", "SearchResult", "evolve"]


@dataclass(frozen=True)
class SearchConfig:
    """Knobs of :func:`evolve` (defaults: the benchmark's settings)."""

    budget: int = 2000            # simulations, generation 0 included
    population: int = 32
    tournament: int = 3
    crossover_rate: float = 0.2
    max_mutations: int = 2
    seed: int = 0
    workers: int = 1
    max_blocks: int = DEFAULT_MAX_BLOCKS
    random_min_blocks: int = 3    # size range of generation 0's random samples
    random_max_blocks: int = 12
    op_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_OP_WEIGHTS))
    keep_top: int = 10            # designs reported in ``SearchResult.top``
    metric_caps: dict[str, float] = field(default_factory=dict)
    """Upper bounds on evaluation metrics (e.g. ``{"max_speed": 21.0}``): a design over any cap counts
    as fitness 0, so the search cannot win by an effect the caps rule out (a simulator exploit)."""

    def __post_init__(self) -> None:
        if self.budget < 1 or self.population < 2 or self.tournament < 1 or self.max_mutations < 1:
            raise ValueError("need budget >= 1, population >= 2, tournament >= 1, max_mutations >= 1")
        if not 0.0 <= self.crossover_rate <= 1.0:
            raise ValueError("crossover_rate must be in [0, 1]")


@dataclass(frozen=True)
class Individual:
    """One design of the population: canonical text, tree, outcome, birth generation."""

    text: str
    inspection: Inspection = field(repr=False, compare=False)
    outcome: Outcome
    born: int
    fitness: float   # the reward, or 0 when a metric is over its cap

    @property
    def reward(self) -> float:
        return self.outcome.reward

    @property
    def tree(self) -> ConstructionTree:
        return self.inspection.tree


@dataclass(frozen=True)
class GenerationStats:
    """One generation: simulations so far, best reward so far, population best/mean, the new
    designs' best/mean, and wall time since the search started (the only non-deterministic field)."""

    generation: int
    evaluations: int
    best: float
    population_best: float
    mean: float
    new_best: float
    new_mean: float
    wall_s: float = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record."""
        return {"generation": self.generation, "evaluations": self.evaluations, "best": self.best,
                "population_best": self.population_best, "mean": self.mean, "new_best": self.new_best,
                "new_mean": self.new_mean, "wall_s": round(self.wall_s, 3)}


@dataclass(frozen=True)
class SearchResult:
    """What a search found: the best design (canonical tree text) and its reward, the top designs,
    the history per generation, totals."""

    task: str
    seed: int
    best_text: str
    best_reward: float
    best_outcome: Outcome
    top: tuple[tuple[str, Outcome], ...]
    history: tuple[GenerationStats, ...]
    evaluations: int
    cache_hits: int
    wall_s: float = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON summary (designs as texts)."""
        return {"task": self.task, "seed": self.seed, "best_reward": self.best_reward,
                "best": self.best_outcome.to_dict(), "best_text": self.best_text,
                "evaluations": self.evaluations, "cache_hits": self.cache_hits,
                "generations": len(self.history), "wall_s": round(self.wall_s, 3),
                "top": [{"reward": o.reward, "text": t} for t, o in self.top]}


OnGeneration = Callable[[GenerationStats], None]


class _Search:
    """State of one run (kept out of ``evolve`` so each phase is a small method)."""

    def __init__(self, space: DesignSpace, config: SearchConfig, evaluator: CachedEvaluator) -> None:
        self.space, self.config, self.evaluator = space, config, evaluator
        self.rng = np.random.default_rng(config.seed)
        self.ops = Operators(space, config.op_weights)

    @property
    def left(self) -> int:
        return self.config.budget - self.evaluator.simulations

    def _novel(self, ins: Inspection, batch: dict[str, Inspection]) -> bool:
        text = ins.tree.to_text()
        return text not in batch and text not in self.evaluator

    def initial(self, start: ConstructionTree | None) -> dict[str, Inspection]:
        """Generation 0's designs (text -> inspection): the start plus random samples (bare start)
        or mutants of the start design."""
        cfg = self.config
        designer = None
        if start is None:
            designer = RandomDesigner(self.space, min(cfg.random_min_blocks, cfg.random_max_blocks),
                                      cfg.random_max_blocks)
        first = self.space.inspect(start if start is not None else bare_tree())
        # the bare starting block alone is not a machine (file-invalid in reference mode): skip it
        batch = {first.tree.to_text(): first} if len(first.tree) > 1 else {}
        want = min(cfg.population, cfg.budget)
        for _ in range(20 * want):
            if len(batch) >= want:
                break
            if designer is not None:
                ins = self.space.inspect(designer.sample(self.rng))
            else:
                ins, _ = self.ops.vary(first, self.rng, int(self.rng.integers(1, cfg.max_mutations + 1)))
            if self._novel(ins, batch):
                batch[ins.tree.to_text()] = ins
        return batch

    def _tournament(self, pop: list[Individual]) -> Individual:
        k = min(self.config.tournament, len(pop))
        picks = self.rng.choice(len(pop), size=k, replace=False)
        return pop[min(int(i) for i in picks)]  # pop is sorted best first

    def offspring(self, pop: list[Individual]) -> dict[str, Inspection]:
        """This generation's distinct new designs (text -> inspection)."""
        cfg = self.config
        want = min(cfg.population, self.left)
        batch: dict[str, Inspection] = {}
        for _ in range(20 * want):
            if len(batch) >= want:
                break
            parent = self._tournament(pop)
            donor = None
            if len(pop) > 1 and self.rng.random() < cfg.crossover_rate:
                donor = self._tournament(pop).tree
            n_ops = int(self.rng.integers(1, cfg.max_mutations + 1))
            ins, _ = self.ops.vary(parent.inspection, self.rng, n_ops, donor=donor)
            if self._novel(ins, batch):
                batch[ins.tree.to_text()] = ins
        return batch

    def evaluate(self, batch: dict[str, Inspection], generation: int) -> list[Individual]:
        outcomes = self.evaluator.evaluate(list(batch))
        return [Individual(t, ins, o, generation, self.fitness(o))
                for (t, ins), o in zip(batch.items(), outcomes, strict=True)]

    def fitness(self, outcome: Outcome) -> float:
        """The reward unless a metric is over its cap (then 0)."""
        caps = self.config.metric_caps
        over = any(outcome.metrics.get(k, 0.0) > v for k, v in caps.items())
        return 0.0 if over else outcome.reward

    def select(self, pool: list[Individual]) -> list[Individual]:
        """The best ``population`` designs: fitness, then newer, then smaller, then text."""
        unique = {ind.text: ind for ind in pool}
        ranked = sorted(unique.values(), key=lambda i: (-i.fitness, -i.born, len(i.tree), i.text))
        return ranked[: self.config.population]


def _stats(generation: int, evaluations: int, best: float, pop: list[Individual], new: list[Individual],
           t0: float) -> GenerationStats:
    rewards = [i.fitness for i in pop]
    new_rewards = [i.fitness for i in new] or [0.0]
    return GenerationStats(generation, evaluations, best, max(rewards), float(np.mean(rewards)),
                           max(new_rewards), float(np.mean(new_rewards)), time.perf_counter() - t0)


def evolve(task: str | TaskSpec, config: SearchConfig | None = None, *,
           start: ConstructionTree | str | None = None,
           on_generation: OnGeneration | None = None) -> SearchResult:
    """Evolve designs for a machines task (``"car:1"`` or a ``TaskSpec``) from ``start`` (a tree or its
    text; None = the bare starting block) within ``config.budget`` simulations.

    Raises ``SearchSpaceError`` for an unknown task or an invalid start design."""
    cfg = config or SearchConfig()
    spec = task_spec(task)
    space = DesignSpace.for_task(spec, max_blocks=cfg.max_blocks)
    if isinstance(start, str):
        start = space.load(start)
    t0 = time.perf_counter()
    with CachedEvaluator(spec, cfg.workers) as evaluator:
        search = _Search(space, cfg, evaluator)
        pop = search.select(search.evaluate(search.initial(start), 0))
        if not pop:
            raise SearchSpaceError(f"no valid design could be grown for {space.task}")
        best = pop[0]
        history = [_stats(0, evaluator.simulations, best.fitness, pop, pop, t0)]
        if on_generation:
            on_generation(history[-1])
        generation = 0
        while search.left > 0:
            generation += 1
            batch = search.offspring(pop)
            if not batch:
                break  # the neighbourhood is exhausted: nothing new left to try
            new = search.evaluate(batch, generation)
            pop = search.select(pop + new)
            if pop[0].fitness > best.fitness:
                best = pop[0]
            history.append(_stats(generation, evaluator.simulations, best.fitness, pop, new, t0))
            if on_generation:
                on_generation(history[-1])
        top = tuple((i.text, i.outcome) for i in pop[: cfg.keep_top])
        return SearchResult(space.task, cfg.seed, best.text, best.fitness, best.outcome, top, tuple(history),
                            evaluator.simulations, evaluator.hits, time.perf_counter() - t0)
