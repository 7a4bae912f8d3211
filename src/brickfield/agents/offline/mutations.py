"""Variation operators over construction trees, written as edit-language steps.

Every operator looks at one placed tree (``space.Inspection``) and proposes a ``Variation``: its name
plus the edit steps that make it (``steps.apply_steps`` applies them). Operators only use free
attach points (no solid block there, the cell in front empty), so most proposals are spatially
valid; :meth:`Operators.vary` applies proposals and keeps only results that pass the spatial check
and the space's block rules, retrying a few times.

Operators (all generic over the level's allowed blocks; type choices follow the space's weights):

* ``add``: a block, or a two-block chain (the second on the first's far end), on a free point.
* ``add_pair``: the same block or chain on a free point and on its partner: the mirror image
  across the root's x plane (wheel pairs, side supports) or the point facing the same way on the
  other side (spinning blocks, which are not flipped like wheels, turn the same way only then).
* ``add_linear``: a brace / rubber band / winch between two attach points 1-8 m apart.
* ``remove``: a leaf; ``remove_pair``: a leaf and its mirror twin; ``prune``: a whole subtree.
* ``move``: re-attach a block (and its subtree) to a free point of an earlier block.
* ``swap``: replace a leaf by another type on the same point (Remove + Add).
* ``insert``: a new block between a block and its parent (the subtree is rebuilt on its far end).
* ``graft`` (crossover): copy a subtree of a donor tree onto a free point of this one.

Every operator is a short script in the edit language (order ids stable within the script, as
``agents.edits`` defines them), so a variation is exactly what a refiner could have written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from brickfield.agents.edits import Edit
from brickfield.agents.offline.space import DesignSpace, Inspection
from brickfield.agents.offline.steps import (
    EditStepError,
    add_linear_step,
    add_step,
    apply_steps,
    move_step,
    remove_step,
)
from brickfield.machines.design.catalog import BLOCKS
from brickfield.machines.design.tree import ConstructionTree

__all__ = ["ADD_OPS", "DEFAULT_OP_WEIGHTS", "Operators", "Variation"]

DEFAULT_OP_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "add": 3.0, "add_pair": 3.0, "add_linear": 1.0, "remove": 1.5, "remove_pair": 1.0, "prune": 0.5,
    "move": 1.0, "swap": 2.0, "insert": 1.0,
})
"""How often each mutation operator is tried (growth ops dominate: search starts from one block)."""

ADD_OPS: Mapping[str, float] = MappingProxyType({"add": 2.0, "add_pair": 2.0, "add_linear": 0.5})
"""The growth-only mix the random designer samples with."""

LINEAR_SPAN = (1.0, 8.0)
"""Distance range (m) between the two ends of a new linear block."""
CHAIN_P = 0.3
"""Probability that an added block gets a second block on its far end in the same operation."""
PARALLEL_P = 0.35
"""Probability that a symmetric addition uses the same-facing partner instead of the mirror image."""


@dataclass(frozen=True)
class Variation:
    """A proposed change: operator name and edit steps."""

    op: str
    steps: tuple[Edit, ...]


def _pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str | None:
    keys = [k for k, w in weights.items() if w > 0]
    if not keys:
        return None
    w = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


class Operators:
    """The mutation and crossover operators of one design space."""

    def __init__(self, space: DesignSpace, op_weights: Mapping[str, float] = DEFAULT_OP_WEIGHTS) -> None:
        self.space = space
        self.op_weights = dict(op_weights)
        self._solid = {t: w for t, w in space.weights.items() if not BLOCKS[t].is_linear}
        self._linear = {t: w for t, w in space.weights.items() if BLOCKS[t].is_linear}
        self._allowed = frozenset(space.weights)
        self._ops = {"add": self.add, "add_pair": self.add_pair, "add_linear": self.add_linear,
                     "remove": self.remove, "remove_pair": self.remove_pair, "prune": self.prune,
                     "move": self.move, "swap": self.swap, "insert": self.insert}
        unknown = set(self.op_weights) - set(self._ops)
        if unknown:
            raise ValueError(f"unknown mutation operators: {sorted(unknown)}")

    @property
    def names(self) -> tuple[str, ...]:
        """The mutation operators (``graft`` is the crossover, called with a donor)."""
        return tuple(self._ops)

    def run(self, name: str, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """One proposal of mutation operator ``name``."""
        return self._ops[name](ins, rng)

    # --- single operators ----------------------------------------------------------------------

    def _chain(self, rng: np.random.Generator) -> list[str] | None:
        """Types of a block to add and, with probability ``CHAIN_P`` when it has attach points, of a
        second block on its far end (point 0): e.g. a spinning block carrying a wheel."""
        t = _pick(rng, self._solid)
        if t is None:
            return None
        if BLOCKS[t].attach_points and rng.random() < CHAIN_P:
            t2 = _pick(rng, self._solid)
            return [t] if t2 is None else [t, t2]
        return [t]

    @staticmethod
    def _chain_steps(types: list[str], parent: int, point: int, first_id: int) -> list[Edit]:
        steps = [add_step(types[0], parent, point)]
        steps.extend(add_step(t, first_id, 0) for t in types[1:])
        return steps

    def add(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """One block (or a two-block chain) of weighted-random allowed types on a random free
        attach point."""
        rows = np.flatnonzero(ins.geometry.free)
        types = self._chain(rng)
        if not len(rows) or types is None or len(ins.tree) + len(types) > self.space.max_blocks:
            return None
        r = int(rng.choice(rows))
        g = ins.geometry
        steps = self._chain_steps(types, int(g.owner[r]), int(g.point[r]), len(ins.tree))
        return Variation("add", tuple(steps))

    def add_pair(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """The same block (or chain) on a free point and on its symmetric partner: the mirror image
        across the root's x plane, or (``PARALLEL_P``) the point facing the same way on the other
        side (``Geometry.parallel``)."""
        g = ins.geometry
        types = self._chain(rng)
        if types is None or len(ins.tree) + 2 * len(types) > self.space.max_blocks:
            return None
        rows = [int(r) for r in np.flatnonzero(g.free)]
        rng.shuffle(rows)
        parallel = rng.random() < PARALLEL_P
        for r in rows:
            if parallel:
                cands = [int(m) for m in g.parallel(r, self.space.centre_x) if g.free[m]]
                m = cands[0] if cands else -1
            else:
                m = g.mirror(r, self.space.centre_x)
            if m >= 0 and m != r and g.free[m]:
                n = len(ins.tree)
                first = self._chain_steps(types, int(g.owner[r]), int(g.point[r]), n)
                second = self._chain_steps(types, int(g.owner[m]), int(g.point[m]), n + len(types))
                return Variation("add_pair", (*first, *second))
        return None

    def add_linear(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """A linear block between two unoccupied points of different blocks, 1-8 m apart."""
        g = ins.geometry
        t = _pick(rng, self._linear)
        if t is None or len(ins.tree) >= self.space.max_blocks:
            return None
        rows = np.flatnonzero(~g.occupied)
        if len(rows) < 2:
            return None
        a = int(rng.choice(rows))
        d = np.linalg.norm(g.position[rows] - g.position[a], axis=1)
        ok = rows[(g.owner[rows] != g.owner[a]) & (d >= LINEAR_SPAN[0]) & (d <= LINEAR_SPAN[1])]
        if not len(ok):
            return None
        b = int(rng.choice(ok))
        return Variation("add_linear", (add_linear_step(t, int(g.owner[a]), int(g.point[a]),
                                                        int(g.owner[b]), int(g.point[b])),))

    @staticmethod
    def _leaves(tree: ConstructionTree) -> list[int]:
        has_child = {p for ps in tree.parents for p in ps}
        return [i for i in range(1, len(tree)) if i not in has_child]

    def remove(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """Remove a random leaf."""
        leaves = self._leaves(ins.tree)
        if not leaves:
            return None
        return Variation("remove", (remove_step(int(rng.choice(leaves))),))

    def remove_pair(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """Remove a leaf and its mirror twin (same type on the mirrored point), higher order_id first."""
        leaves = self._leaves(ins.tree)
        rng.shuffle(leaves)
        for i in leaves:
            twin = self._twin(ins, i)
            if twin is not None and twin in leaves:
                hi, lo = max(i, twin), min(i, twin)
                return Variation("remove_pair", (remove_step(hi), remove_step(lo)))
        return None

    def _twin(self, ins: Inspection, i: int) -> int | None:
        tree, g = ins.tree, ins.geometry
        if tree.blocks[i].is_two_parent:
            return None
        (p, k), = tree.attachments(i)
        r = g.row(p, k)
        m = g.mirror(r, self.space.centre_x) if r >= 0 else -1
        if m < 0 or m == r:
            return None
        spot = (int(g.owner[m]), int(g.point[m]))
        for j in tree.children(spot[0]):
            b = tree.blocks[j]
            if not b.is_two_parent and tree.attachments(j)[0] == spot and b.type_id == tree.blocks[i].type_id:
                return j
        return None

    def prune(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """Remove a whole subtree: its blocks as leaves, highest order_id first."""
        tree = ins.tree
        if len(tree) < 2:
            return None
        r = int(rng.integers(1, len(tree)))
        members = sorted((r, *tree.descendants(r)), reverse=True)
        return Variation("prune", tuple(remove_step(m) for m in members))

    def move(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """Re-attach a random solid block (with its subtree) to a free point of an earlier block."""
        tree, g = ins.tree, ins.geometry
        movable = [i for i in range(1, len(tree)) if not tree.blocks[i].is_two_parent]
        if not movable:
            return None
        i = int(rng.choice(movable))
        rows = np.flatnonzero(g.free & (g.owner < i))
        if not len(rows):
            return None
        r = int(rng.choice(rows))
        return Variation("move", (move_step(i, int(g.owner[r]), int(g.point[r])),))

    def swap(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """Replace a solid leaf by another allowed solid type on the same attach point."""
        tree = ins.tree
        leaves = [i for i in self._leaves(tree) if not tree.blocks[i].is_two_parent]
        if not leaves:
            return None
        i = int(rng.choice(leaves))
        others = {t: w for t, w in self._solid.items() if t != tree.blocks[i].type_id}
        t = _pick(rng, others)
        if t is None:
            return None
        (p, k), = tree.attachments(i)
        return Variation("swap", (remove_step(i), add_step(t, p, k)))

    def insert(self, ins: Inspection, rng: np.random.Generator) -> Variation | None:
        """Put a new block between a solid block and its parent: the block's subtree is taken off
        (leaves first), the new block goes on the freed point and the subtree is rebuilt on the new
        block's far end (point 0). E.g. a spinning block under a wheel."""
        tree = ins.tree
        solid = [i for i in range(1, len(tree)) if not tree.blocks[i].is_two_parent]
        hosts = {t: w for t, w in self._solid.items() if BLOCKS[t].attach_points}
        x = _pick(rng, hosts)
        if not solid or x is None or len(tree) + 1 > self.space.max_blocks:
            return None
        i = int(rng.choice(solid))
        members = [i, *tree.descendants(i)]
        (p, k), = tree.attachments(i)
        steps = [remove_step(m) for m in sorted(members, reverse=True)]
        steps.append(add_step(x, p, k))  # becomes block len(tree): ids are stable within a script
        steps.extend(_rebuild(tree, members, (len(tree), 0), len(tree) + 1))
        return Variation("insert", tuple(steps))

    # --- crossover -----------------------------------------------------------------------------

    def graft(self, ins: Inspection, donor: ConstructionTree, rng: np.random.Generator) -> Variation | None:
        """Copy a random subtree of ``donor`` onto a random free point of this tree.

        Linear blocks of the subtree come along when both their ends are in it."""
        if len(donor) < 2:
            return None
        g = ins.geometry
        rows = np.flatnonzero(g.free)
        solid = [i for i in range(1, len(donor)) if not donor.blocks[i].is_two_parent]
        if not len(rows) or not solid:
            return None
        r = int(rng.choice(solid))
        members = [r, *donor.descendants(r)]
        keep = set(members)
        members = [m for m in members if m == r or all(p in keep for p in donor.parents[m])]
        if len(ins.tree) + len(members) > self.space.max_blocks:
            return None
        row = int(rng.choice(rows))
        steps = _rebuild(donor, members, (int(g.owner[row]), int(g.point[row])), len(ins.tree))
        return Variation("graft", tuple(steps))

    # --- application ---------------------------------------------------------------------------

    def propose(self, ins: Inspection, rng: np.random.Generator,
                weights: Mapping[str, float] | None = None) -> Variation | None:
        """One proposal of a weighted-random operator (None when that operator has nothing to do)."""
        op = _pick(rng, self.op_weights if weights is None else weights)
        return None if op is None else self._ops[op](ins, rng)

    def attempt(self, ins: Inspection, variation: Variation | None) -> Inspection | None:
        """The inspected result of ``variation`` when it applies and is valid in the space, else None."""
        if variation is None:
            return None
        try:
            tree = apply_steps(ins.tree, variation.steps, allowed_blocks=self._allowed,
                               max_blocks=self.space.max_blocks)
        except EditStepError:
            return None
        if len(tree) < 2 or not self.space.allows(tree):  # a lone starting block is no machine
            return None
        out = self.space.inspect(tree)
        return out if out.valid else None

    def vary(self, ins: Inspection, rng: np.random.Generator, n_ops: int = 1, *,
             donor: ConstructionTree | None = None, weights: Mapping[str, float] | None = None,
             attempts: int = 8) -> tuple[Inspection, tuple[Edit, ...]]:
        """Apply ``n_ops`` valid variations in turn (a graft from ``donor`` first when given).

        Each op is retried up to ``attempts`` times; an op that never succeeds is skipped, so the
        result may equal the input. Returns the final inspection and all applied steps."""
        applied: list[Edit] = []
        plans: list[str | None] = (["graft"] if donor is not None else []) + [None] * n_ops
        for plan in plans:
            for _ in range(attempts):
                v = self.graft(ins, donor, rng) if plan == "graft" and donor is not None \
                    else self.propose(ins, rng, weights)
                nxt = self.attempt(ins, v)
                if nxt is not None and v is not None:
                    ins, applied = nxt, [*applied, *v.steps]
                    break
        return ins, tuple(applied)


def _rebuild(source: ConstructionTree, members: list[int], anchor: tuple[int, int],
             first_id: int) -> list[Edit]:
    """Add steps re-creating ``members`` of ``source`` (a subtree, its root first, in list order)
    with the root on ``anchor`` = (order_id, point) and the others numbered from ``first_id`` on.

    A parent outside ``members`` (the far end of a linear block) keeps its order_id: ids are stable
    within one script. When ``source`` is another tree the caller leaves such blocks out."""
    new_id = {m: first_id + k for k, m in enumerate(members)}
    steps: list[Edit] = []
    for m in members:
        b = source.blocks[m]
        if m == members[0]:
            steps.append(add_step(b.type_id, *anchor))
        elif b.is_two_parent:
            (pa, ka), (pb, kb) = source.attachments(m)
            steps.append(add_linear_step(b.type_id, new_id.get(pa, pa), ka, new_id.get(pb, pb), kb))
        else:
            (q, k), = source.attachments(m)
            steps.append(add_step(b.type_id, new_id.get(q, q), k))
    return steps
