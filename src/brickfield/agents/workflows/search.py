"""Search over refinements, model-free: a tree of scored nodes and the paper's three strategies.

One *search node* is one machine with its score; expanding a node asks the environment querier and
the refiner for ``candidates`` new machines (the workflow's job: here it is a callback). The
strategies (paper App. C, Algorithms 1-3) only decide which node to expand and which node wins:

* ``MCTS`` (default; ``iterations=5``, ``candidates=4``, ``c=2``): each iteration descends from the
  root, taking the first unvisited child in order, else the child of largest
  ``UCB = Q/N + c * sqrt(ln N_parent / N_child)`` (first on ties). The root, or a leaf that was
  already visited, is expanded; a leaf not yet visited is only visited. The backed-up value is the
  score of the first new child (or of the leaf itself when it was not expanded or its expansion gave
  nothing), added to that node and every ancestor. The winner is the best-scoring *visited* node.
* ``BestOfN`` (``iterations=5``, ``candidates=4``): each round expands the best-scoring node of the
  deepest level; the winner is the best node overall.
* ``RandomSearch`` (``iterations=5``, ``candidates=1``): each round expands a node drawn uniformly
  (seeded) from the deepest level, so with one candidate per round it is a chain of refinements
  from the latest node, as the reference code runs it; the winner is the best node overall.

Ties between winners go to the earlier node (lower id). ``run_search`` drives a strategy with a
plain function (tests script the scores); the workflows drive the same strategy methods
asynchronously (``arun_search``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from brickfield.agents.workflows.results import WorkflowError

__all__ = [
    "MCTS",
    "SEARCHES",
    "BestOfN",
    "Expansion",
    "RandomSearch",
    "SearchNode",
    "SearchStrategy",
    "SearchTree",
    "arun_search",
    "make_search",
    "run_search",
    "ucb",
]

Expansion = Sequence[tuple[float, Any]]
"""What expanding a node returns: (score, payload) per new child, in candidate order."""


@dataclass
class SearchNode:
    """One node: ``score`` (the machine's reward), ``payload`` (the workflow's data), MCTS statistics
    ``visits`` (N) and ``value`` (the sum of backed-up scores, so Q/N is the mean)."""

    id: int
    parent: int | None
    depth: int
    score: float
    payload: Any = None
    children: list[int] = field(default_factory=list)
    visits: int = 0
    value: float = 0.0
    expanded: int = 0  # how many times this node was expanded

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON record (the payload is left out: the workflow records it)."""
        return {"id": self.id, "parent": self.parent, "depth": self.depth, "score": self.score,
                "children": list(self.children), "visits": self.visits, "value": self.value,
                "expanded": self.expanded}


class SearchTree:
    """The nodes of one search, root first; ids are list positions."""

    def __init__(self, root_score: float, root_payload: Any = None) -> None:
        self.nodes: list[SearchNode] = [SearchNode(0, None, 0, float(root_score), root_payload)]
        self.trace: list[dict[str, Any]] = []  # one record per iteration: selected, expanded, backed up

    @property
    def root(self) -> SearchNode:
        """Node 0."""
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, node_id: int) -> SearchNode:
        return self.nodes[node_id]

    def add(self, parent: SearchNode, score: float, payload: Any = None) -> SearchNode:
        """Append a child of ``parent``."""
        node = SearchNode(len(self.nodes), parent.id, parent.depth + 1, float(score), payload)
        self.nodes.append(node)
        parent.children.append(node.id)
        return node

    def ancestry(self, node: SearchNode) -> list[SearchNode]:
        """``node`` and its ancestors up to the root, node first."""
        out = [node]
        while out[-1].parent is not None:
            out.append(self.nodes[out[-1].parent])
        return out

    def deepest(self) -> list[SearchNode]:
        """The nodes of the deepest level, in id order."""
        depth = max(n.depth for n in self.nodes)
        return [n for n in self.nodes if n.depth == depth]

    def best(self, *, visited_only: bool = False) -> SearchNode:
        """Best-scoring node (first on ties); with ``visited_only`` among visited nodes (the root when
        none was visited)."""
        pool = [n for n in self.nodes if n.visits > 0] if visited_only else self.nodes
        pool = pool or [self.root]
        return max(pool, key=lambda n: (n.score, -n.id))

    def to_dict(self) -> dict[str, Any]:
        """Every node and the per-iteration trace."""
        return {"nodes": [n.to_dict() for n in self.nodes], "trace": list(self.trace)}


def ucb(child: SearchNode, parent: SearchNode, c: float = 2.0) -> float:
    """``Q/N + c * sqrt(ln N_parent / N_child)``; +inf for an unvisited child."""
    if child.visits == 0:
        return math.inf
    explore = math.sqrt(math.log(max(parent.visits, 1)) / child.visits)
    return child.value / child.visits + c * explore


class SearchStrategy(Protocol):
    """Decides which node to expand each iteration and which node wins."""

    name: str
    iterations: int
    candidates: int

    def select(self, tree: SearchTree) -> tuple[SearchNode, bool]:
        """The node this iteration works on and whether to expand it."""
        ...

    def update(self, tree: SearchTree, node: SearchNode, new: Sequence[SearchNode]) -> None:
        """Bookkeeping after the iteration (``new``: the children the expansion added)."""
        ...

    def best(self, tree: SearchTree) -> SearchNode:
        """The winner."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Name and parameters."""
        ...


@dataclass
class MCTS:
    """Monte Carlo tree search over refinements (see the module docstring)."""

    iterations: int = 5
    candidates: int = 4
    c: float = 2.0
    name: str = "mcts"

    def select(self, tree: SearchTree) -> tuple[SearchNode, bool]:
        """Descend by UCB (unvisited children first); expand the root or a visited leaf."""
        node = tree.root
        while node.children:
            kids = [tree[i] for i in node.children]
            unvisited = [k for k in kids if k.visits == 0]
            node = unvisited[0] if unvisited else max(kids, key=lambda k: (ucb(k, node, self.c), -k.id))
        return node, node.id == 0 or node.visits > 0

    def update(self, tree: SearchTree, node: SearchNode, new: Sequence[SearchNode]) -> None:
        """Back up the first new child's score (or the node's own) along the path to the root."""
        start = new[0] if new else node
        for n in tree.ancestry(start):
            n.visits += 1
            n.value += start.score
        tree.trace[-1]["backed_up"] = {"node": start.id, "value": start.score}

    def best(self, tree: SearchTree) -> SearchNode:
        """The best-scoring visited node."""
        return tree.best(visited_only=True)

    def to_dict(self) -> dict[str, Any]:
        """Name and parameters."""
        return {"name": self.name, "iterations": self.iterations, "candidates": self.candidates, "c": self.c}


@dataclass
class BestOfN:
    """Expand the best node of the deepest level each round; keep the best node overall."""

    iterations: int = 5
    candidates: int = 4
    name: str = "best-of-n"

    def select(self, tree: SearchTree) -> tuple[SearchNode, bool]:
        """The best-scoring node of the deepest level (first on ties)."""
        return max(tree.deepest(), key=lambda n: (n.score, -n.id)), True

    def update(self, tree: SearchTree, node: SearchNode, new: Sequence[SearchNode]) -> None:
        """Count the visit (statistics only)."""
        node.visits += 1

    def best(self, tree: SearchTree) -> SearchNode:
        """The best-scoring node."""
        return tree.best()

    def to_dict(self) -> dict[str, Any]:
        """Name and parameters."""
        return {"name": self.name, "iterations": self.iterations, "candidates": self.candidates}


@dataclass
class RandomSearch:
    """Expand a uniformly drawn node of the deepest level each round (seeded)."""

    iterations: int = 5
    candidates: int = 1
    seed: int = 0
    name: str = "random"

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def select(self, tree: SearchTree) -> tuple[SearchNode, bool]:
        """A random node of the deepest level."""
        level = tree.deepest()
        return level[self._rng.randrange(len(level))], True

    def update(self, tree: SearchTree, node: SearchNode, new: Sequence[SearchNode]) -> None:
        """Count the visit (statistics only)."""
        node.visits += 1

    def best(self, tree: SearchTree) -> SearchNode:
        """The best-scoring node."""
        return tree.best()

    def to_dict(self) -> dict[str, Any]:
        """Name and parameters."""
        return {"name": self.name, "iterations": self.iterations, "candidates": self.candidates,
                "seed": self.seed}


SEARCHES = ("mcts", "best-of-n", "random")


def make_search(name: str, *, iterations: int = 5, candidates: int | None = None, seed: int = 0,
                c: float = 2.0) -> SearchStrategy:
    """A strategy by name (``mcts``, ``best-of-n``/``bon``, ``random``); ``candidates`` defaults to
    the strategy's own (4, 4, 1). ``WorkflowError`` for an unknown name or a bad count."""
    key = name.strip().lower().replace("_", "-")
    if iterations < 0:
        raise WorkflowError("iterations must be >= 0")
    if candidates is not None and candidates < 1:
        raise WorkflowError("candidates must be >= 1")
    if key == "mcts":
        return MCTS(iterations, 4 if candidates is None else candidates, c)
    if key in ("best-of-n", "bon", "bestofn"):
        return BestOfN(iterations, 4 if candidates is None else candidates)
    if key in ("random", "random-search"):
        return RandomSearch(iterations, 1 if candidates is None else candidates, seed)
    raise WorkflowError(f"unknown search {name!r}; choose one of {SEARCHES}")


def _begin(strategy: SearchStrategy, tree: SearchTree, iteration: int) -> tuple[SearchNode, bool]:
    node, expand = strategy.select(tree)
    tree.trace.append({"iteration": iteration, "selected": node.id, "expand": expand, "children": []})
    return node, expand


def _finish(strategy: SearchStrategy, tree: SearchTree, node: SearchNode, expansion: Expansion) -> None:
    node.expanded += 1 if tree.trace[-1]["expand"] else 0
    new = [tree.add(node, score, payload) for score, payload in expansion]
    tree.trace[-1]["children"] = [n.id for n in new]
    strategy.update(tree, node, new)


OnIteration = Callable[[dict[str, Any]], None]


def run_search(strategy: SearchStrategy, tree: SearchTree, expand: Callable[[SearchNode], Expansion], *,
               on_iteration: OnIteration | None = None) -> SearchNode:
    """Run ``strategy.iterations`` iterations with a synchronous ``expand``; returns the winner.
    ``on_iteration(record)`` sees each iteration's trace record."""
    for it in range(strategy.iterations):
        node, do_expand = _begin(strategy, tree, it)
        _finish(strategy, tree, node, expand(node) if do_expand else ())
        if on_iteration:
            on_iteration(tree.trace[-1])
    return strategy.best(tree)


async def arun_search(strategy: SearchStrategy, tree: SearchTree,
                      expand: Callable[[SearchNode], Awaitable[Expansion]], *,
                      on_iteration: OnIteration | None = None) -> SearchNode:
    """``run_search`` with an async ``expand`` (the workflows' model calls)."""
    for it in range(strategy.iterations):
        node, do_expand = _begin(strategy, tree, it)
        _finish(strategy, tree, node, await expand(node) if do_expand else ())
        if on_iteration:
            on_iteration(tree.trace[-1])
    return strategy.best(tree)
